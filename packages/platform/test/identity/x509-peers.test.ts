// Against real peers: the openssl CLI and node's TLS (OpenSSL) must accept what the platform
// CA issues, with no mocks in between.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import tls from 'node:tls'
import {
  fingerprintOfDer,
  generateKeyAndCsr,
  loadOrCreatePlatformCa,
  type PlatformCa,
  parseCertificate,
} from '../../src/identity/x509/index.js'
import { subtle, x509 } from '../../src/identity/x509/peculiar.js'
import { encodePem } from '../../src/identity/x509/pem.js'
import { requireTool } from '../helpers/peers.js'
import { openssl, tempDir, writeFiles } from './x509-fixtures.js'

test('openssl verify accepts an issued certificate as a client certificate of the CA', async (t) => {
  if (!requireTool(t, 'openssl')) return
  const dir = await tempDir()
  const ca = await loadOrCreatePlatformCa(join(dir, 'ca'))
  const { csrPem } = await generateKeyAndCsr('sensor')
  const device = await ca.signCsr(csrPem, { commonName: 'dev-7' })
  await writeFiles(dir, { 'device.pem': device.pem })
  const out = await openssl(['verify', '-purpose', 'sslclient', '-CAfile', 'ca/ca.pem', 'device.pem'], dir)
  assert.equal(out.trim(), 'device.pem: OK')
  // openssl's own view of the fingerprint and serial agrees with ours.
  const fp = await openssl(['x509', '-in', 'device.pem', '-noout', '-fingerprint', '-sha256', '-serial'], dir)
  assert.match(fp, new RegExp(`Fingerprint=${device.fingerprint.toUpperCase().match(/../g)?.join(':')}`))
  assert.match(fp, new RegExp(`serial=${device.serial}`, 'i'))
})

test('a CSR made by openssl req is signed, with its CN replaced by the device id', async (t) => {
  if (!requireTool(t, 'openssl')) return
  const dir = await tempDir()
  const ca = await loadOrCreatePlatformCa(join(dir, 'ca'))
  await openssl(
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=whatever/O=Someone',
      '-keyout',
      'device.key',
      '-out',
      'device.csr',
    ],
    dir,
  )
  const csrPem = await readFile(join(dir, 'device.csr'), 'utf8')
  const device = await ca.signCsr(csrPem, { commonName: 'dev-openssl' })
  assert.equal(device.subject, 'CN=dev-openssl')
  await writeFiles(dir, { 'device.pem': device.pem })
  assert.equal(
    (await openssl(['verify', '-CAfile', 'ca/ca.pem', 'device.pem'], dir)).trim(),
    'device.pem: OK',
  )
  // The certificate is for the key openssl generated.
  const certPub = await openssl(['x509', '-in', 'device.pem', '-noout', '-pubkey'], dir)
  const keyPub = await openssl(['pkey', '-in', 'device.key', '-pubout'], dir)
  assert.equal(certPub, keyPub)
})

/** A server certificate for 127.0.0.1, self-signed: the client trusts exactly it. */
async function serverIdentity(): Promise<{ cert: string; key: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = await subtle.generateKey(alg, true, ['sign', 'verify'])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: ['localhost'] }],
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]),
    ],
  })
  const pkcs8 = await subtle.exportKey('pkcs8', keys.privateKey)
  return { cert: cert.toString('pem'), key: encodePem(new Uint8Array(pkcs8), 'PRIVATE KEY') }
}

interface Outcome {
  /** What the server wrote back: 'ok <fingerprint>', 'refused <reason>', or '' if it hung up. */
  reply: string
  /** How many connections reached the server's secure-connection handler. */
  served: number
}

/**
 * One mutual-TLS exchange against a server whose client `ca` is the platform CA. With
 * `rejectUnauthorized` node drops a refused client silently; without it the server's
 * handler sees OpenSSL's verdict (`socket.authorized`) and replies with the reason.
 */
async function handshake(
  ca: PlatformCa,
  client: { cert: string; key: string },
  rejectUnauthorized = true,
): Promise<Outcome> {
  const server = await serverIdentity()
  let served = 0
  const listener = tls.createServer(
    { cert: server.cert, key: server.key, ca: [ca.certificatePem], requestCert: true, rejectUnauthorized },
    (socket) => {
      served++
      if (!socket.authorized) {
        socket.end(`refused ${String(socket.authorizationError)}`)
        return
      }
      socket.end(`ok ${fingerprintOfDer(socket.getPeerCertificate().raw)}`)
    },
  )
  listener.on('tlsClientError', () => {}) // a refused client: expected in these tests
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  try {
    const { port } = listener.address() as AddressInfo
    const reply = await new Promise<string>((resolve) => {
      let text = ''
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        ca: [server.cert],
        cert: client.cert,
        key: client.key,
      })
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => {
        text += chunk
      })
      socket.on('error', () => {}) // the reply (or its absence) is what is asserted
      // Under TLS 1.3 a refused client's secureConnect still fires: only the reply counts.
      socket.on('close', () => resolve(text))
    })
    return { reply, served }
  } finally {
    await new Promise((resolve) => listener.close(resolve))
  }
}

test('mutual TLS: the platform CA admits its device, by the fingerprint parseCertificate gave', async () => {
  const ca = await loadOrCreatePlatformCa(await tempDir())
  const { privateKeyPem, csrPem } = await generateKeyAndCsr('device-tls')
  const issued = await ca.signCsr(csrPem, { commonName: 'dev-tls' })
  const outcome = await handshake(ca, { cert: issued.pem, key: privateKeyPem })
  assert.equal(outcome.served, 1)
  assert.equal(outcome.reply, `ok ${issued.fingerprint}`)
  assert.equal(parseCertificate(issued.pem).fingerprint, issued.fingerprint)
})

test('mutual TLS: an RSA device key works too', async () => {
  const ca = await loadOrCreatePlatformCa(await tempDir())
  const { privateKeyPem, csrPem } = await generateKeyAndCsr('device-rsa', 'rsa-2048')
  const issued = await ca.signCsr(csrPem, { commonName: 'dev-rsa' })
  const outcome = await handshake(ca, { cert: issued.pem, key: privateKeyPem })
  assert.equal(outcome.reply, `ok ${issued.fingerprint}`)
})

test('mutual TLS: a certificate from another CA, even one with the same name, is refused', async () => {
  const ca = await loadOrCreatePlatformCa(await tempDir())
  const other = await loadOrCreatePlatformCa(await tempDir())
  assert.equal(other.certificate.subject, ca.certificate.subject)
  const { privateKeyPem, csrPem } = await generateKeyAndCsr('intruder')
  const foreign = await other.signCsr(csrPem, { commonName: 'dev-tls' })
  const client = { cert: foreign.pem, key: privateKeyPem }

  const dropped = await handshake(ca, client)
  assert.deepEqual(dropped, { reply: '', served: 0 })
  const told = await handshake(ca, client, false)
  assert.match(
    told.reply,
    /^refused (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|CERT_SIGNATURE_FAILURE)$/,
  )
})
