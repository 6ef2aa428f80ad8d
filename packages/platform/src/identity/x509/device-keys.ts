/**
 * A device's side of getting a certificate: a fresh key pair and a CSR for it. Used by the
 * device SDK, the CLI and tests; the private key never leaves the caller.
 */
import type { webcrypto } from 'node:crypto'
import { invalid } from './errors.js'
import { assertCommonName, subjectOf } from './names.js'
import { type CryptoKeyPair, subtle, x509 } from './peculiar.js'
import { encodePem } from './pem.js'

export type DeviceKeyAlgorithm = 'ec-p256' | 'rsa-2048'

export interface DeviceKeyAndCsr {
  /** PKCS #8, PEM ('-----BEGIN PRIVATE KEY-----'), unencrypted: store it with mode 0600. */
  privateKeyPem: string
  csrPem: string
}

const ALGORITHMS: Record<DeviceKeyAlgorithm, webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams> = {
  'ec-p256': { name: 'ECDSA', namedCurve: 'P-256' },
  'rsa-2048': {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  },
}

/**
 * Generates a key pair and a CSR signed with it, asking for `commonName` (the platform's
 * signer puts the device id there regardless). ECDSA P-256 by default: smaller and far
 * faster to generate on a device than RSA.
 */
export async function generateKeyAndCsr(
  commonName: string,
  algorithm: DeviceKeyAlgorithm = 'ec-p256',
): Promise<DeviceKeyAndCsr> {
  assertCommonName(commonName)
  const params = ALGORITHMS[algorithm]
  if (!params) throw invalid(`unknown key algorithm '${algorithm}' (expected ec-p256 or rsa-2048)`)
  const keys = (await subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectOf(commonName),
    keys,
    signingAlgorithm: { ...params, hash: 'SHA-256' },
  })
  const pkcs8 = await subtle.exportKey('pkcs8', keys.privateKey)
  return {
    privateKeyPem: encodePem(new Uint8Array(pkcs8), 'PRIVATE KEY'),
    csrPem: encodePem(new Uint8Array(csr.rawData), 'CERTIFICATE REQUEST'),
  }
}
