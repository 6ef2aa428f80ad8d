/**
 * The platform's own CA, which signs devices' CSRs. Created on first start in a directory
 * of its own, loaded on later starts, and refused loudly (X509Error CA_UNUSABLE, a startup
 * error) whenever it could not be trusted: half a pair, a key others can read, a key that
 * is not the certificate's, an expired certificate.
 */
import { createPrivateKey, type KeyObject, X509Certificate as NodeCertificate } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { CA_CERT_FILE, CA_KEY_FILE, modeOf, readText, unusable, writeNewFileAtomically } from './ca-files.js'
import { type ParsedCertificate, readCertificate } from './certificate.js'
import { invalid, messageOf } from './errors.js'
import {
  CLOCK_SKEW_MS,
  type Issuer,
  issueDeviceCertificate,
  randomSerial,
  type SignCsrOptions,
} from './issue.js'
import { assertCommonName, subjectOf } from './names.js'
import { type CryptoKey, type CryptoKeyPair, subtle, x509 } from './peculiar.js'
import { encodePem } from './pem.js'

export interface PlatformCaOptions {
  /** Clock for creation and the expiry check. Default: the current time. */
  now?: () => Date
  /** Validity of a newly created CA. Default 10. */
  validityYears?: number
  /** Subject CN of a newly created CA. Default 'Strata platform CA'. */
  commonName?: string
}

export interface PlatformCa {
  /** The CA certificate, PEM: what servers put in their `ca` and devices trust. */
  readonly certificatePem: string
  readonly certificate: ParsedCertificate
  /** Issues a client certificate for the CSR's key, with CN = options.commonName. */
  signCsr(csrPem: string, options: SignCsrOptions): Promise<ParsedCertificate>
}

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const

/**
 * Loads the CA in `dir` (ca.pem and ca-key.pem), or creates both when neither exists.
 * Throws X509Error CA_UNUSABLE with the file and the fix when the pair cannot be used.
 */
export async function loadOrCreatePlatformCa(
  dir: string,
  options: PlatformCaOptions = {},
): Promise<PlatformCa> {
  const now = options.now ?? (() => new Date())
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (error) {
    throw unusable(`platform CA: cannot create the directory ${dir}: ${messageOf(error)}`, error)
  }
  const certPath = join(dir, CA_CERT_FILE)
  const keyPath = join(dir, CA_KEY_FILE)
  const [certMode, keyMode] = await Promise.all([modeOf(certPath), modeOf(keyPath)])
  if (certMode === null && keyMode === null) return createCa(certPath, keyPath, now(), options)
  if (keyMode === null) {
    throw unusable(
      `platform CA: ${certPath} exists but its key ${keyPath} is missing; restore the key from a backup`,
    )
  }
  if (certMode === null) {
    throw unusable(
      `platform CA: ${keyPath} exists but its certificate ${certPath} is missing; restore it from a backup, or, if the ` +
        `first start was interrupted before any device got a certificate, delete ${keyPath} to create a new CA`,
    )
  }
  if (process.platform !== 'win32' && (keyMode & 0o077) !== 0) {
    throw unusable(
      `platform CA: ${keyPath} is readable by group or others (mode 0${keyMode.toString(8)}); run: chmod 600 ${keyPath}`,
    )
  }
  return loadCa(certPath, keyPath, now())
}

async function createCa(
  certPath: string,
  keyPath: string,
  now: Date,
  options: PlatformCaOptions,
): Promise<PlatformCa> {
  const commonName = options.commonName ?? 'Strata platform CA'
  assertCommonName(commonName)
  const years = options.validityYears ?? 10
  if (!Number.isInteger(years) || years <= 0) {
    throw invalid(`validityYears: expected a positive whole number of years, got ${years}`)
  }
  const notAfter = new Date(now)
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + years)
  const keys = (await subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectOf(commonName),
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter,
    keys,
    signingAlgorithm: { ...ECDSA_P256, hash: 'SHA-256' },
    extensions: [
      // pathLen 0: the platform CA signs devices only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey))
  // Key first: the certificate's appearance is what makes the pair complete.
  await writeNewFileAtomically(keyPath, encodePem(pkcs8, 'PRIVATE KEY'), 0o600)
  const certificatePem = encodePem(new Uint8Array(certificate.rawData), 'CERTIFICATE')
  await writeNewFileAtomically(certPath, certificatePem, 0o644)
  return platformCa(certificatePem, certPath, keys.privateKey)
}

async function loadCa(certPath: string, keyPath: string, now: Date): Promise<PlatformCa> {
  const [certificatePem, keyPem] = await Promise.all([readText(certPath), readText(keyPath)])
  let key: KeyObject
  try {
    key = createPrivateKey(keyPem)
  } catch (error) {
    throw unusable(`platform CA: ${keyPath} is not a readable private key: ${messageOf(error)}`, error)
  }
  const ca = await platformCa(certificatePem, certPath, await importSigningKey(key, keyPath))
  if (!new NodeCertificate(ca.certificatePem).checkPrivateKey(key)) {
    throw unusable(
      `platform CA: ${keyPath} is not the key of ${certPath}; restore the matching pair from a backup`,
    )
  }
  const { notBefore, notAfter } = ca.certificate
  if (now.getTime() >= Date.parse(notAfter)) {
    throw unusable(`platform CA: ${certPath} expired on ${notAfter}; devices' certificates no longer verify`)
  }
  if (now.getTime() < Date.parse(notBefore)) {
    throw unusable(`platform CA: ${certPath} is not valid before ${notBefore}; check this machine's clock`)
  }
  return ca
}

/** Into WebCrypto, which @peculiar/x509 signs with; node 20 has no KeyObject.toCryptoKey. */
async function importSigningKey(key: KeyObject, keyPath: string): Promise<CryptoKey> {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw unusable(`platform CA: ${keyPath} is not an ECDSA P-256 key`)
  }
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' })
  return subtle.importKey('pkcs8', new Uint8Array(pkcs8), ECDSA_P256, false, ['sign'])
}

async function platformCa(
  certificatePem: string,
  certPath: string,
  signingKey: CryptoKey,
): Promise<PlatformCa> {
  let read: ReturnType<typeof readCertificate>
  try {
    read = readCertificate(certificatePem, certPath)
  } catch (error) {
    throw unusable(`platform CA: ${messageOf(error)}`, error)
  }
  if (!read.parsed.isCa) throw unusable(`platform CA: ${certPath} is not a CA certificate`)
  const issuer: Issuer = { certificate: read.certificate, signingKey }
  return {
    certificatePem: read.parsed.pem,
    certificate: read.parsed,
    signCsr: (csrPem, signOptions) => issueDeviceCertificate(issuer, csrPem, signOptions),
  }
}
