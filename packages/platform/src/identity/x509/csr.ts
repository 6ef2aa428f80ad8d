/**
 * Reading certificate signing requests (PKCS #10, RFC 2986) from devices. The platform
 * issues a certificate for the CSR's public key only after the CSR's self-signature proves
 * the sender holds the private key; it takes nothing else from the CSR (the subject is the
 * device id, the extensions are the platform's).
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto'
import { signedPart } from './der.js'
import { invalid, messageOf, X509Error } from './errors.js'
import { commonNameOf } from './names.js'
import { x509 } from './peculiar.js'
import { decodeSinglePem, encodePem } from './pem.js'

export interface ParsedCsr {
  /** What the device asked for; the platform's signer replaces it with the device id. */
  commonName: string | null
  /** 'ec-p256', 'ec-p384' or 'rsa-<bits>'. */
  publicKeyAlgorithm: string
  pem: string
}

/** Keys devices may certify: the curves and sizes every TLS stack here accepts. */
const CURVES: Record<string, string> = { prime256v1: 'ec-p256', secp384r1: 'ec-p384' }
export const MIN_RSA_BITS = 2048

/** Signature hashes accepted on a CSR; SHA-1 is refused. */
const HASHES: Record<string, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' }

/** A verified CSR with the objects the signer needs. */
export interface ReadCsr {
  parsed: ParsedCsr
  request: x509.Pkcs10CertificateRequest
  keyType: 'ec' | 'rsa'
}

/**
 * Parses one PEM CSR and verifies its self-signature. Throws X509Error INVALID for garbage,
 * a bad signature, or a key that is not ECDSA P-256/P-384 or RSA of at least 2048 bits.
 */
export function parseCsr(pem: string): ParsedCsr {
  return readCsr(pem).parsed
}

export function readCsr(pem: string): ReadCsr {
  const der = decodeSinglePem(pem, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'], 'CSR')
  // Verified over the bytes as sent: @peculiar/x509's own verify() does the same, but is
  // async, and parseCsr is a plain function like parseCertificate.
  const tbs = signedPart(der)
  if (!tbs) throw invalid('CSR: not a DER certification request (bad length or trailing bytes)')
  try {
    const request = new x509.Pkcs10CertificateRequest(der)
    const { key, keyType, algorithm } = publicKeyOf(request)
    const hash = signatureHashOf(request, keyType)
    if (!verifySignature(hash, tbs, key, request.signature)) {
      throw invalid('CSR: its signature does not verify with its own public key')
    }
    const parsed: ParsedCsr = {
      commonName: commonNameOf(request.subjectName),
      publicKeyAlgorithm: algorithm,
      pem: encodePem(der, 'CERTIFICATE REQUEST'),
    }
    return { parsed, request, keyType }
  } catch (error) {
    if (error instanceof X509Error) throw error
    throw invalid(`CSR: does not parse: ${messageOf(error)}`, error)
  }
}

function publicKeyOf(request: x509.Pkcs10CertificateRequest): {
  key: KeyObject
  keyType: 'ec' | 'rsa'
  algorithm: string
} {
  let key: KeyObject
  try {
    key = createPublicKey({ key: Buffer.from(request.publicKey.rawData), format: 'der', type: 'spki' })
  } catch (error) {
    throw invalid(`CSR: its public key is not one OpenSSL reads: ${messageOf(error)}`, error)
  }
  const details = key.asymmetricKeyDetails ?? {}
  if (key.asymmetricKeyType === 'ec') {
    const algorithm = CURVES[details.namedCurve ?? '']
    if (!algorithm) throw invalid(`CSR: EC curve ${details.namedCurve} is not accepted (use P-256 or P-384)`)
    return { key, keyType: 'ec', algorithm }
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0
    if (bits < MIN_RSA_BITS)
      throw invalid(`CSR: RSA key of ${bits} bits, fewer than the ${MIN_RSA_BITS} accepted`)
    return { key, keyType: 'rsa', algorithm: `rsa-${bits}` }
  }
  throw invalid(`CSR: ${key.asymmetricKeyType} keys are not accepted (use ECDSA P-256/P-384 or RSA >= 2048)`)
}

/** The node hash name for the CSR's signature algorithm, which must suit its key. */
function signatureHashOf(request: x509.Pkcs10CertificateRequest, keyType: 'ec' | 'rsa'): string {
  // A WebCrypto algorithm object, or null for an OID @peculiar/x509 does not know.
  const algorithm = request.signatureAlgorithm as { name?: unknown; hash?: { name?: unknown } } | null
  const name = String(algorithm?.name ?? 'an unknown algorithm')
  const hashName = String(algorithm?.hash?.name ?? '')
  const expected = keyType === 'ec' ? 'ECDSA' : 'RSASSA-PKCS1-v1_5'
  const hash = HASHES[hashName]
  if (name !== expected || !hash) {
    const found = hashName ? `${name} with ${hashName}` : name
    throw invalid(`CSR: signature algorithm ${found} is not accepted (use ${expected} with SHA-256/384/512)`)
  }
  return hash
}

function verifySignature(hash: string, tbs: Uint8Array, key: KeyObject, signature: ArrayBuffer): boolean {
  try {
    // ECDSA signatures are DER (r, s) in a CSR, node's default dsaEncoding.
    return verify(hash, tbs, key, new Uint8Array(signature))
  } catch {
    return false
  }
}
