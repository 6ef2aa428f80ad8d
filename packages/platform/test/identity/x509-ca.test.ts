import assert from 'node:assert/strict'
import { chmod, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  generateKeyAndCsr,
  loadOrCreatePlatformCa,
  parseCertificate,
  verifyIssuedBy,
  X509Error,
} from '../../src/identity/x509/index.js'
import { x509 } from '../../src/identity/x509/peculiar.js'
import { flipDerByte, tempDir } from './x509-fixtures.js'

const NOW = new Date('2030-01-01T00:00:00Z')
const at = (): Date => NOW

function isCode(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof X509Error, `expected an X509Error, got ${String(error)}`)
    assert.equal(error.code, code)
    return true
  }
}

test('first start creates a private directory, a 0600 key and a self-signed CA certificate', async () => {
  const dir = join(await tempDir(), 'ca')
  const ca = await loadOrCreatePlatformCa(dir, { now: at })
  assert.equal((await stat(dir)).mode & 0o777, 0o700)
  assert.equal((await stat(join(dir, 'ca-key.pem'))).mode & 0o777, 0o600)
  assert.match(await readFile(join(dir, 'ca-key.pem'), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/)
  assert.equal(await readFile(join(dir, 'ca.pem'), 'utf8'), ca.certificatePem)

  assert.equal(ca.certificate.subject, 'CN=Strata platform CA')
  assert.equal(ca.certificate.isCa, true)
  assert.equal(ca.certificate.notBefore, '2029-12-31T23:55:00.000Z')
  assert.equal(ca.certificate.notAfter, '2040-01-01T00:00:00.000Z')
  assert.equal(verifyIssuedBy(ca.certificatePem, ca.certificatePem), true)

  const cert = new x509.X509Certificate(ca.certificatePem)
  const basic = cert.getExtension(x509.BasicConstraintsExtension)
  assert.deepEqual([basic?.ca, basic?.pathLength, basic?.critical], [true, 0, true])
  const usage = cert.getExtension(x509.KeyUsagesExtension)
  assert.equal(usage?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)
  assert.equal(usage?.critical, true)
  assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId)
  assert.equal((cert.signatureAlgorithm as { name?: string }).name, 'ECDSA')
})

test('options name the CA and set its validity', async () => {
  const ca = await loadOrCreatePlatformCa(await tempDir(), {
    now: at,
    commonName: 'Acme CA',
    validityYears: 2,
  })
  assert.equal(ca.certificate.commonName, 'Acme CA')
  assert.equal(ca.certificate.notAfter, '2032-01-01T00:00:00.000Z')
})

test('a later start loads the same CA, which still signs', async () => {
  const dir = await tempDir()
  const first = await loadOrCreatePlatformCa(dir, { now: at })
  const again = await loadOrCreatePlatformCa(dir, { now: at })
  assert.equal(again.certificate.fingerprint, first.certificate.fingerprint)
  const { csrPem } = await generateKeyAndCsr('sensor')
  const issued = await again.signCsr(csrPem, { commonName: 'dev-1', now: NOW })
  assert.equal(verifyIssuedBy(issued.pem, first.certificatePem), true)
})

test('a key file readable by group or others is refused, naming the fix', async () => {
  const dir = await tempDir()
  await loadOrCreatePlatformCa(dir, { now: at })
  const keyPath = join(dir, 'ca-key.pem')
  await chmod(keyPath, 0o644)
  await assert.rejects(loadOrCreatePlatformCa(dir, { now: at }), (error: unknown) => {
    isCode('STRATA_X509_CA_UNUSABLE')(error)
    assert.match((error as Error).message, new RegExp(`chmod 600 ${keyPath}`))
    assert.match((error as Error).message, /0644/)
    return true
  })
  await chmod(keyPath, 0o640)
  await assert.rejects(loadOrCreatePlatformCa(dir, { now: at }), isCode('STRATA_X509_CA_UNUSABLE'))
})

test('a corrupt key file is refused', async () => {
  const dir = await tempDir()
  await loadOrCreatePlatformCa(dir, { now: at })
  const keyPath = join(dir, 'ca-key.pem')
  await writeFile(keyPath, '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n', {
    mode: 0o600,
  })
  await assert.rejects(loadOrCreatePlatformCa(dir, { now: at }), (error: unknown) => {
    isCode('STRATA_X509_CA_UNUSABLE')(error)
    assert.match((error as Error).message, /ca-key\.pem is not a readable private key/)
    return true
  })
})

test('a corrupt certificate file is refused', async () => {
  const dir = await tempDir()
  const ca = await loadOrCreatePlatformCa(dir, { now: at })
  await writeFile(join(dir, 'ca.pem'), flipDerByte(ca.certificatePem, 3))
  await assert.rejects(loadOrCreatePlatformCa(dir, { now: at }), isCode('STRATA_X509_CA_UNUSABLE'))
})

test('half a pair is refused, either half', async () => {
  const dir = await tempDir()
  await loadOrCreatePlatformCa(dir, { now: at })
  const key = await readFile(join(dir, 'ca-key.pem'), 'utf8')
  await rm(join(dir, 'ca-key.pem'))
  await assert.rejects(loadOrCreatePlatformCa(dir, { now: at }), (error: unknown) => {
    isCode('STRATA_X509_CA_UNUSABLE')(error)
    assert.match((error as Error).message, /key .*ca-key\.pem is missing/)
    return true
  })
  await writeFile(join(dir, 'ca-key.pem'), key, { mode: 0o600 })
  await rm(join(dir, 'ca.pem'))
  await assert.rejects(loadOrCreatePlatformCa(dir, { now: at }), (error: unknown) => {
    isCode('STRATA_X509_CA_UNUSABLE')(error)
    assert.match((error as Error).message, /certificate .*ca\.pem is missing/)
    return true
  })
})

test("another CA's key next to the certificate is refused", async () => {
  const [dir, other] = [await tempDir(), await tempDir()]
  await loadOrCreatePlatformCa(dir, { now: at })
  await loadOrCreatePlatformCa(other, { now: at })
  await writeFile(join(dir, 'ca-key.pem'), await readFile(join(other, 'ca-key.pem')), { mode: 0o600 })
  await assert.rejects(loadOrCreatePlatformCa(dir, { now: at }), (error: unknown) => {
    isCode('STRATA_X509_CA_UNUSABLE')(error)
    assert.match((error as Error).message, /is not the key of/)
    return true
  })
})

test('an expired platform CA is refused at start and cannot issue', async () => {
  const dir = await tempDir()
  const ca = await loadOrCreatePlatformCa(dir, { now: at, validityYears: 1 })
  const later = new Date('2031-06-01T00:00:00Z')
  await assert.rejects(loadOrCreatePlatformCa(dir, { now: () => later }), isCode('STRATA_X509_CA_UNUSABLE'))
  const { csrPem } = await generateKeyAndCsr('x')
  await assert.rejects(
    ca.signCsr(csrPem, { commonName: 'dev', now: later }),
    isCode('STRATA_X509_CA_UNUSABLE'),
  )
})

test('an issued certificate: the device id as CN, the CSR key, client-auth only, signed by the CA', async () => {
  const ca = await loadOrCreatePlatformCa(await tempDir(), { now: at })
  const { csrPem } = await generateKeyAndCsr('what-the-device-asked')
  const issued = await ca.signCsr(csrPem, { commonName: 'dev-42', now: NOW })
  assert.equal(issued.subject, 'CN=dev-42')
  assert.equal(issued.commonName, 'dev-42')
  assert.equal(issued.issuer, ca.certificate.subject)
  assert.equal(issued.isCa, false)
  assert.equal(issued.notBefore, '2029-12-31T23:55:00.000Z')
  assert.equal(issued.notAfter, '2031-01-01T00:00:00.000Z')
  assert.match(issued.serial, /^[4-7][0-9a-f]{31}$/)
  assert.match(issued.fingerprint, /^[0-9a-f]{64}$/)
  assert.equal(verifyIssuedBy(issued.pem, ca.certificatePem), true)

  const cert = new x509.X509Certificate(issued.pem)
  const csr = new x509.Pkcs10CertificateRequest(csrPem)
  assert.equal(cert.publicKey.toString('base64'), csr.publicKey.toString('base64'))
  assert.equal((cert.signatureAlgorithm as { name?: string }).name, 'ECDSA')
  assert.equal((cert.signatureAlgorithm.hash as { name: string }).name, 'SHA-256')
  assert.deepEqual(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false)
  assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature)
  assert.deepEqual(
    [...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])],
    [x509.ExtendedKeyUsage.clientAuth],
  )
  const caSki = new x509.X509Certificate(ca.certificatePem).getExtension(x509.SubjectKeyIdentifierExtension)
  assert.equal(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, caSki?.keyId)
})

test('an RSA key gets keyEncipherment too; validity is cut at the CA end', async () => {
  const ca = await loadOrCreatePlatformCa(await tempDir(), { now: at, validityYears: 1 })
  const { csrPem } = await generateKeyAndCsr('rsa-device', 'rsa-2048')
  const issued = await ca.signCsr(csrPem, { commonName: 'dev-rsa', validityDays: 3650, now: NOW })
  assert.equal(issued.notAfter, ca.certificate.notAfter)
  const usages = new x509.X509Certificate(issued.pem).getExtension(x509.KeyUsagesExtension)?.usages
  assert.equal(usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment)
})

test('two issued certificates have different serials', async () => {
  const ca = await loadOrCreatePlatformCa(await tempDir(), { now: at })
  const { csrPem } = await generateKeyAndCsr('x')
  const [a, b] = await Promise.all([0, 1].map(() => ca.signCsr(csrPem, { commonName: 'dev', now: NOW })))
  assert.notEqual(a?.serial, b?.serial)
})

test('bad signing input is the caller’s: INVALID', async () => {
  const ca = await loadOrCreatePlatformCa(await tempDir(), { now: at })
  const { csrPem } = await generateKeyAndCsr('x')
  const invalid = isCode('STRATA_X509_INVALID')
  await assert.rejects(ca.signCsr(csrPem, { commonName: '' }), invalid)
  await assert.rejects(ca.signCsr(csrPem, { commonName: 'x'.repeat(65) }), invalid)
  await assert.rejects(ca.signCsr(csrPem, { commonName: 'a\nb' }), invalid)
  await assert.rejects(ca.signCsr(csrPem, { commonName: 'dev', validityDays: 0 }), invalid)
  await assert.rejects(ca.signCsr(csrPem, { commonName: 'dev', validityDays: Number.NaN }), invalid)
  await assert.rejects(ca.signCsr(ca.certificatePem, { commonName: 'dev' }), invalid)
  await assert.rejects(ca.signCsr(flipDerByte(csrPem, -5), { commonName: 'dev' }), invalid)
  // A CN with X.500 syntax in it stays one CN: no attribute injection.
  const tricky = await ca.signCsr(csrPem, { commonName: 'dev,O=Evil+OU=x', now: NOW })
  assert.equal(tricky.commonName, 'dev,O=Evil+OU=x')
  assert.equal(new x509.X509Certificate(tricky.pem).subjectName.toJSON().length, 1)
  assert.equal(parseCertificate(tricky.pem).fingerprint, tricky.fingerprint)
})
