/**
 * The X.509 part of device identity: reading certificates and CSRs, the platform CA that
 * signs devices' CSRs, and a device's key-and-CSR generator. Pure: no database, no sockets.
 */

export { loadOrCreatePlatformCa, type PlatformCa, type PlatformCaOptions } from './ca.js'
export {
  checkCaCertificate,
  fingerprintOfDer,
  type ParsedCertificate,
  parseCertificate,
  verifyIssuedBy,
} from './certificate.js'
export { type ParsedCsr, parseCsr } from './csr.js'
export { type DeviceKeyAlgorithm, type DeviceKeyAndCsr, generateKeyAndCsr } from './device-keys.js'
export { X509_ERROR_CODES, X509Error, type X509ErrorCode } from './errors.js'
export type { SignCsrOptions } from './issue.js'
