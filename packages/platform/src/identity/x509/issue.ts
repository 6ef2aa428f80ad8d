/**
 * Issuing a device's client certificate from a verified CSR. The CSR contributes only its
 * public key: the subject is the device id and the extensions are fixed here, so a device
 * cannot ask for a CA certificate, a server certificate or another device's name.
 */
import { randomBytes } from 'node:crypto'
import { type ParsedCertificate, parseCertificate } from './certificate.js'
import { readCsr } from './csr.js'
import { invalid, X509Error } from './errors.js'
import { assertCommonName, subjectOf } from './names.js'
import { type CryptoKey, x509 } from './peculiar.js'
import { encodePem } from './pem.js'

export interface SignCsrOptions {
  /** The subject CN of the certificate: the device id. Whatever the CSR asked is ignored. */
  commonName: string
  /** Default 365. Cut to the CA's own end of validity, past which no chain verifies. */
  validityDays?: number
  /** Default: the current time. */
  now?: Date
}

/** notBefore is set this far back, so a device whose clock runs behind accepts it at once. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000
const DAY_MS = 24 * 60 * 60 * 1000

/** What issuing needs of a CA: its certificate and its private signing key. */
export interface Issuer {
  certificate: x509.X509Certificate
  signingKey: CryptoKey
}

/**
 * A random 16-byte serial (RFC 5280 4.1.2.2 allows 20; CA/B forum asks for 64 random bits),
 * hex. The first byte is 0x40-0x7f: positive, and no leading zero byte that DER would
 * have to strip, so the serial is always exactly 16 bytes.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16)
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40
  return bytes.toString('hex')
}

export async function issueDeviceCertificate(
  issuer: Issuer,
  csrPem: string,
  options: SignCsrOptions,
): Promise<ParsedCertificate> {
  assertCommonName(options?.commonName)
  const validityDays = options.validityDays ?? 365
  if (typeof validityDays !== 'number' || !Number.isFinite(validityDays) || validityDays <= 0) {
    throw invalid(`validityDays: expected a positive number of days, got ${validityDays}`)
  }
  const now = options.now ?? new Date()
  const caNotAfter = issuer.certificate.notAfter
  if (now.getTime() >= caNotAfter.getTime()) {
    throw new X509Error(
      'STRATA_X509_CA_UNUSABLE',
      `the CA expired on ${caNotAfter.toISOString()}: it cannot issue`,
    )
  }
  const { request, keyType } = readCsr(csrPem)
  const notAfter = new Date(Math.min(now.getTime() + validityDays * DAY_MS, caNotAfter.getTime()))

  const usages =
    keyType === 'rsa'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
      : x509.KeyUsageFlags.digitalSignature
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectOf(options.commonName),
    issuer: issuer.certificate.subjectName,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter,
    publicKey: request.publicKey,
    signingKey: issuer.signingKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await authorityKeyIdentifierOf(issuer.certificate),
      await x509.SubjectKeyIdentifierExtension.create(request.publicKey),
    ],
  })
  return parseCertificate(encodePem(new Uint8Array(certificate.rawData), 'CERTIFICATE'))
}

/** The AKI repeats the CA's SKI, which is how verifiers pick the CA when names collide. */
async function authorityKeyIdentifierOf(
  ca: x509.X509Certificate,
): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension)
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId)
  return x509.AuthorityKeyIdentifierExtension.create(ca.publicKey)
}
