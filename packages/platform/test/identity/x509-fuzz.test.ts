// Property tests on the parsers (seeded, so a failure reproduces): whatever the input, the
// answer is a result or an X509Error, never a library's exception escaping to the caller.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { signedPart } from '../../src/identity/x509/der.js'
import {
  checkCaCertificate,
  generateKeyAndCsr,
  loadOrCreatePlatformCa,
  parseCertificate,
  parseCsr,
  verifyIssuedBy,
  X509Error,
} from '../../src/identity/x509/index.js'
import { encodePem } from '../../src/identity/x509/pem.js'
import { tempDir } from './x509-fixtures.js'

const RUNS = { seed: 42, numRuns: 500 }

/** Calls `parse`; passes if it returns or throws an X509Error, and says what else escaped. */
function resultOrX509Error(parse: () => unknown): boolean {
  try {
    parse()
    return true
  } catch (error) {
    assert.ok(error instanceof X509Error, `escaped: ${(error as Error)?.stack ?? String(error)}`)
    assert.ok(error.code === 'STRATA_X509_INVALID')
    return true
  }
}

const ca = await loadOrCreatePlatformCa(await tempDir())
const ec = await generateKeyAndCsr('fuzz-ec')
const rsa = await generateKeyAndCsr('fuzz-rsa', 'rsa-2048')
const device = await ca.signCsr(ec.csrPem, { commonName: 'dev-fuzz' })
const rsaDevice = await ca.signCsr(rsa.csrPem, { commonName: 'dev-fuzz-rsa' })

const certificates = [ca.certificatePem, device.pem, rsaDevice.pem]
const csrs = [ec.csrPem, rsa.csrPem]

function derOf(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')
}
function labelOf(pem: string): string {
  return /-----BEGIN ([A-Z ]+)-----/.exec(pem)?.[1] ?? ''
}

/** Random strings, bare or dressed as PEM of the wanted label. */
function randomText(label: string): fc.Arbitrary<string> {
  const text = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }))
  const base64 = fc.base64String({ maxLength: 600 })
  return fc.oneof(
    text,
    fc.tuple(text, text).map(([a, b]) => `-----BEGIN ${label}-----\n${a}\n-----END ${label}-----\n${b}`),
    base64.map((b) => `-----BEGIN ${label}-----\n${b}\n-----END ${label}-----\n`),
    fc.uint8Array({ maxLength: 400 }).map((bytes) => encodePem(bytes, label)),
  )
}

/**
 * A valid PEM with its DER changed: mostly bytes overwritten (which reach the ASN.1
 * parsers), sometimes truncated or extended (which the length check stops first).
 */
function mutatedDer(pems: string[]): fc.Arbitrary<string> {
  const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })
  const resize = fc.oneof(
    { weight: 8, arbitrary: fc.constant((der: Buffer) => der) },
    { weight: 1, arbitrary: fc.nat().map((cut) => (der: Buffer) => der.subarray(0, cut % (der.length + 1))) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 8 })
        .map((tail) => (der: Buffer) => Buffer.concat([der, tail])),
    },
  )
  return fc.tuple(fc.constantFrom(...pems), edits, resize).map(([pem, changes, resized]) => {
    const der = derOf(pem)
    for (const [at, value] of changes) der[at % der.length] = value
    return encodePem(resized(der), labelOf(pem))
  })
}

/** A valid PEM with its text changed: characters replaced, deleted or inserted. */
function mutatedText(pems: string[]): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat(), fc.constantFrom('replace', 'delete', 'insert'), fc.string({ maxLength: 3 }))
  return fc
    .tuple(fc.constantFrom(...pems), fc.array(edit, { minLength: 1, maxLength: 4 }))
    .map(([pem, edits]) => {
      let text = pem
      for (const [position, kind, chars] of edits) {
        const at = position % (text.length + 1)
        const after = kind === 'insert' ? at : at + Math.max(1, chars.length)
        text = text.slice(0, at) + (kind === 'delete' ? '' : chars) + text.slice(after)
      }
      return text
    })
}

test('the valid inputs the mutations start from do parse', () => {
  for (const pem of certificates) assert.ok(parseCertificate(pem).fingerprint)
  for (const pem of csrs) assert.ok(parseCsr(pem).publicKeyAlgorithm)
  assert.ok(checkCaCertificate(ca.certificatePem).isCa)
})

test('parseCertificate: random text, mutated DER, mutated PEM', () => {
  const input = fc.oneof(randomText('CERTIFICATE'), mutatedDer(certificates), mutatedText(certificates))
  fc.assert(
    fc.property(input, (pem) =>
      resultOrX509Error(() => {
        const parsed = parseCertificate(pem)
        assert.match(parsed.fingerprint, /^[0-9a-f]{64}$/)
      }),
    ),
    RUNS,
  )
})

test('checkCaCertificate: random text, mutated DER, mutated PEM', () => {
  const input = fc.oneof(
    randomText('CERTIFICATE'),
    mutatedDer([ca.certificatePem]),
    mutatedText([ca.certificatePem]),
  )
  fc.assert(
    fc.property(input, (pem) => resultOrX509Error(() => checkCaCertificate(pem))),
    RUNS,
  )
})

test('verifyIssuedBy: mutated device certificates against the CA', () => {
  const input = fc.oneof(mutatedDer([device.pem]), mutatedText([device.pem]))
  fc.assert(
    fc.property(input, (pem) => resultOrX509Error(() => verifyIssuedBy(pem, ca.certificatePem))),
    RUNS,
  )
})

test('parseCsr: random text, mutated DER, mutated PEM', () => {
  const input = fc.oneof(randomText('CERTIFICATE REQUEST'), mutatedDer(csrs), mutatedText(csrs))
  fc.assert(
    fc.property(input, (pem) => resultOrX509Error(() => parseCsr(pem))),
    RUNS,
  )
})

test('parseCsr: a CSR with any byte of its signed part changed is refused', () => {
  const change = fc.tuple(fc.constantFrom(...csrs), fc.nat(), fc.integer({ min: 1, max: 255 }))
  fc.assert(
    fc.property(change, ([pem, position, delta]) => {
      const der = derOf(pem)
      const signed = signedPart(der)
      assert.ok(signed)
      const at = (position % signed.length) + (signed.byteOffset - der.byteOffset)
      der[at] = ((der[at] ?? 0) + delta) % 256
      assert.throws(() => parseCsr(encodePem(der, 'CERTIFICATE REQUEST')), X509Error)
    }),
    RUNS,
  )
})
