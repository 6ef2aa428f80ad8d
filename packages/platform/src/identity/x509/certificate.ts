/**
 * Reading certificates: the facts the registry stores about a device's or an operator's
 * certificate, and the checks an operator's CA must pass before devices may chain to it.
 * Parsing is done twice, by @peculiar/x509 for the fields and by node (OpenSSL) as a
 * gate: a certificate only one of them reads is one TLS would not match anyway.
 */
import { createHash, X509Certificate as NodeCertificate } from 'node:crypto'
import { isSingleSequence } from './der.js'
import { invalid, messageOf, X509Error } from './errors.js'
import { commonNameOf } from './names.js'
import { x509 } from './peculiar.js'
import { decodeSinglePem, encodePem } from './pem.js'

export interface ParsedCertificate {
  /** SHA-256 of the DER, lowercase hex without colons: how a TLS peer is matched to a device. */
  fingerprint: string
  /** Serial number, lowercase hex. */
  serial: string
  /** RFC 4514-style, e.g. 'CN=device-01, O=Acme'. */
  subject: string
  commonName: string | null
  issuer: string
  /** ISO 8601. */
  notBefore: string
  notAfter: string
  /** basicConstraints cA is true. */
  isCa: boolean
  /** The certificate alone, re-armoured canonically. */
  pem: string
}

/** SHA-256 fingerprint of a DER certificate, e.g. node's `tls.PeerCertificate.raw`. */
export function fingerprintOfDer(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex')
}

/**
 * Parses exactly one PEM certificate. Anything else (garbage, a key, two certificates,
 * trailing bytes) throws X509Error INVALID, never a library's own exception.
 */
export function parseCertificate(pem: string): ParsedCertificate {
  return readCertificate(pem, 'certificate').parsed
}

/** A parsed certificate and the library object, for the modules of this folder. */
export interface ReadCertificate {
  parsed: ParsedCertificate
  certificate: x509.X509Certificate
  der: Buffer
}

/** parseCertificate's work, keeping the @peculiar/x509 object for callers that sign or verify. */
export function readCertificate(pem: string, what: string): ReadCertificate {
  const der = decodeSinglePem(pem, ['CERTIFICATE'], what)
  if (!isSingleSequence(der)) throw invalid(`${what}: not a DER certificate (bad length or trailing bytes)`)
  try {
    new NodeCertificate(der)
  } catch (error) {
    // OpenSSL's message names its PEM reader even for DER input: it stays in the cause.
    throw invalid(`${what}: not a valid X.509 certificate (OpenSSL cannot decode it)`, error)
  }
  try {
    // The getters parse lazily: every field is read here, inside the try.
    const certificate = new x509.X509Certificate(der)
    const parsed: ParsedCertificate = {
      fingerprint: fingerprintOfDer(der),
      serial: certificate.serialNumber.toLowerCase(),
      subject: certificate.subject,
      commonName: commonNameOf(certificate.subjectName),
      issuer: certificate.issuer,
      notBefore: certificate.notBefore.toISOString(),
      notAfter: certificate.notAfter.toISOString(),
      isCa: certificate.getExtension(x509.BasicConstraintsExtension)?.ca === true,
      pem: encodePem(der, 'CERTIFICATE'),
    }
    return { parsed, certificate, der }
  } catch (error) {
    if (error instanceof X509Error) throw error
    throw invalid(`${what}: does not parse: ${messageOf(error)}`, error)
  }
}

/**
 * Checks a CA certificate an operator registers for their own devices: it must be a CA
 * (basicConstraints cA true, and keyCertSign if it has a keyUsage at all, or OpenSSL
 * refuses chains through it) and valid at `now`. Throws X509Error INVALID with the reason.
 */
export function checkCaCertificate(pem: string, now: Date = new Date()): ParsedCertificate {
  const { parsed, certificate } = readCertificate(pem, 'CA certificate')
  if (!parsed.isCa) {
    throw invalid(`CA certificate '${parsed.subject}' is not a CA: its basicConstraints do not say cA: true`)
  }
  const keyUsage = certificate.getExtension(x509.KeyUsagesExtension)
  if (keyUsage && (keyUsage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw invalid(
      `CA certificate '${parsed.subject}' may not sign certificates: its keyUsage lacks keyCertSign`,
    )
  }
  if (now.getTime() > Date.parse(parsed.notAfter)) {
    throw invalid(`CA certificate '${parsed.subject}' expired on ${parsed.notAfter}`)
  }
  if (now.getTime() < Date.parse(parsed.notBefore)) {
    throw invalid(`CA certificate '${parsed.subject}' is not valid before ${parsed.notBefore}`)
  }
  return parsed
}

/**
 * True when `caPem`'s key signed `certPem` and the certificate names the CA as its issuer.
 * Node's OpenSSL does both checks, synchronously. Unreadable input throws X509Error INVALID.
 */
export function verifyIssuedBy(certPem: string, caPem: string): boolean {
  const cert = new NodeCertificate(readCertificate(certPem, 'certificate').der)
  const ca = new NodeCertificate(readCertificate(caPem, 'CA certificate').der)
  try {
    return cert.checkIssued(ca) && cert.verify(ca.publicKey)
  } catch {
    // An issuer key OpenSSL cannot use for this signature did not sign it.
    return false
  }
}
