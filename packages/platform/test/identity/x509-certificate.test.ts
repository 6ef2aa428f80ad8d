import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  checkCaCertificate,
  generateKeyAndCsr,
  loadOrCreatePlatformCa,
  parseCertificate,
  parseCsr,
  verifyIssuedBy,
  X509Error,
} from '../../src/identity/x509/index.js'
import { subtle, x509 } from '../../src/identity/x509/peculiar.js'
import { encodePem } from '../../src/identity/x509/pem.js'
import { flipDerByte, tempDir } from './x509-fixtures.js'

const NOW = new Date('2030-01-01T00:00:00Z')

function invalid(pattern?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof X509Error, `expected an X509Error, got ${String(error)}`)
    assert.equal(error.code, 'STRATA_X509_INVALID')
    if (pattern) assert.match(error.message, pattern)
    return true
  }
}

const platform = loadOrCreatePlatformCa(await tempDir(), { now: () => NOW })

/** A self-signed certificate made with @peculiar/x509 directly, to vary what our CA makes. */
async function selfSigned(extensions: x509.Extension[], name = 'CN=other, O=Acme'): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = await subtle.generateKey(alg, false, ['sign', 'verify'])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    notBefore: new Date('2029-01-01T00:00:00Z'),
    notAfter: new Date('2031-01-01T00:00:00Z'),
    signingAlgorithm: alg,
    extensions,
  })
  return cert.toString('pem')
}

test('parseCertificate reads the fields and re-armours one certificate', async () => {
  const ca = await platform
  const pem = await selfSigned([new x509.BasicConstraintsExtension(true, undefined, true)])
  const parsed = parseCertificate(`Bag Attributes: junk before\r\n${pem.replace(/\n/g, '\r\n')}\r\n`)
  assert.equal(parsed.subject, 'CN=other, O=Acme')
  assert.equal(parsed.issuer, 'CN=other, O=Acme')
  assert.equal(parsed.commonName, 'other')
  assert.equal(parsed.notBefore, '2029-01-01T00:00:00.000Z')
  assert.equal(parsed.notAfter, '2031-01-01T00:00:00.000Z')
  assert.equal(parsed.isCa, true)
  assert.match(parsed.serial, /^[0-9a-f]+$/)
  assert.match(
    parsed.pem,
    /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/,
  )
  assert.deepEqual(parseCertificate(parsed.pem), parsed)
  assert.notEqual(parsed.fingerprint, ca.certificate.fingerprint)
})

test('parseCertificate refuses what is not exactly one certificate, with a clear message', async () => {
  const { certificatePem } = await platform
  const { privateKeyPem, csrPem } = await generateKeyAndCsr('x')
  assert.throws(() => parseCertificate(''), invalid(/no PEM block found/))
  assert.throws(() => parseCertificate('hello'), invalid(/no PEM block found/))
  assert.throws(
    () => parseCertificate(certificatePem + certificatePem),
    invalid(/exactly one PEM block, found 2/),
  )
  assert.throws(
    () => parseCertificate(privateKeyPem),
    invalid(/expected a '-----BEGIN CERTIFICATE-----' block, found 'PRIVATE KEY'/),
  )
  assert.throws(() => parseCertificate(csrPem), invalid(/found 'CERTIFICATE REQUEST'/))
  assert.throws(
    () => parseCertificate(certificatePem.replace(/-----END[^\n]*\n/, '')),
    invalid(/no matching/),
  )
  assert.throws(() => parseCertificate(certificatePem.replace('MII', 'M*I')), invalid(/not valid base64/))
  assert.throws(
    () => parseCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'),
    invalid(),
  )
  assert.throws(() => parseCertificate('x'.repeat(70_000)), invalid(/more than the/))
  assert.throws(() => parseCertificate(42 as unknown as string), invalid(/expected PEM text/))
})

test('a certificate with bytes after its DER is refused: its fingerprint would not be the TLS one', async () => {
  const { certificatePem } = await platform
  const der = Buffer.from(new x509.X509Certificate(certificatePem).rawData)
  assert.throws(
    () => parseCertificate(encodePem(Buffer.concat([der, Buffer.from([0])]), 'CERTIFICATE')),
    invalid(/trailing/),
  )
})

test('checkCaCertificate accepts a valid CA and gives each refusal its reason', async () => {
  const ca = await platform
  assert.equal(checkCaCertificate(ca.certificatePem, NOW).fingerprint, ca.certificate.fingerprint)
  assert.throws(
    () => checkCaCertificate(ca.certificatePem, new Date('2041-01-01T00:00:00Z')),
    invalid(/expired on 2040-01-01/),
  )
  assert.throws(
    () => checkCaCertificate(ca.certificatePem, new Date('2020-01-01T00:00:00Z')),
    invalid(/not valid before 2029-12-31T23:55/),
  )
  const { csrPem } = await generateKeyAndCsr('x')
  const device = await ca.signCsr(csrPem, { commonName: 'dev', now: NOW })
  assert.throws(() => checkCaCertificate(device.pem, NOW), invalid(/is not a CA/))
  const plain = await selfSigned([])
  assert.throws(() => checkCaCertificate(plain, NOW), invalid(/is not a CA/))
  const noCertSign = await selfSigned([
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  ])
  assert.throws(() => checkCaCertificate(noCertSign, NOW), invalid(/lacks keyCertSign/))
  assert.throws(() => checkCaCertificate('junk', NOW), invalid())
})

test('verifyIssuedBy checks the signature and the issuer name', async () => {
  const ca = await platform
  const other = await loadOrCreatePlatformCa(await tempDir(), { now: () => NOW })
  const { csrPem } = await generateKeyAndCsr('x')
  const device = await ca.signCsr(csrPem, { commonName: 'dev', now: NOW })
  assert.equal(verifyIssuedBy(device.pem, ca.certificatePem), true)
  // Same subject (both 'CN=Strata platform CA'), other key: the signature decides.
  assert.equal(verifyIssuedBy(device.pem, other.certificatePem), false)
  assert.equal(verifyIssuedBy(ca.certificatePem, device.pem), false)
  assert.throws(() => verifyIssuedBy('nope', ca.certificatePem), invalid())
})

test('parseCsr reads a generated CSR, EC and RSA', async () => {
  const ec = parseCsr((await generateKeyAndCsr('sensor-1')).csrPem)
  assert.deepEqual([ec.commonName, ec.publicKeyAlgorithm], ['sensor-1', 'ec-p256'])
  assert.match(ec.pem, /^-----BEGIN CERTIFICATE REQUEST-----\n/)
  const rsa = parseCsr((await generateKeyAndCsr('sensor-2', 'rsa-2048')).csrPem)
  assert.deepEqual([rsa.commonName, rsa.publicKeyAlgorithm], ['sensor-2', 'rsa-2048'])
})

async function csrWith(algorithm: object, name = 'CN=x'): Promise<string> {
  const keys = await subtle.generateKey(algorithm as never, false, ['sign', 'verify'])
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys: keys as CryptoKeyPairLike,
    signingAlgorithm: algorithm,
  })
  return csr.toString('pem')
}
type CryptoKeyPairLike = Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys']

test('parseCsr accepts P-384, refuses small RSA, other curves and tampered signatures', async () => {
  const p384 = await csrWith({ name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' })
  assert.equal(parseCsr(p384).publicKeyAlgorithm, 'ec-p384')
  const rsa1024 = await csrWith({
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 1024,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  })
  assert.throws(() => parseCsr(rsa1024), invalid(/RSA key of 1024 bits/))
  const p521 = await csrWith({ name: 'ECDSA', namedCurve: 'P-521', hash: 'SHA-512' })
  assert.throws(() => parseCsr(p521), invalid(/curve secp521r1 is not accepted/))
  const ed = await csrWith({ name: 'Ed25519' })
  assert.throws(() => parseCsr(ed), invalid(/ed25519 keys are not accepted/))
  const sha1 = await csrWith({ name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-1' })
  assert.throws(() => parseCsr(sha1), invalid(/ECDSA with SHA-1 is not accepted/))

  const { csrPem } = await generateKeyAndCsr('x')
  assert.throws(() => parseCsr(flipDerByte(csrPem, -3)), invalid(/signature does not verify/))
  // A byte of the signed part (in the subject) changed after signing: refused too.
  assert.throws(() => parseCsr(flipDerByte(csrPem, 20)), invalid())
  const certPem = (await platform).certificatePem
  assert.throws(() => parseCsr(certPem), invalid(/found 'CERTIFICATE'/))
  // Older tools label it NEW CERTIFICATE REQUEST.
  assert.equal(parseCsr(csrPem.replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST')).commonName, 'x')
})
