/**
 * Fuzz tests of every decoder: random bytes, mutations of valid payloads (bit flips,
 * byte changes, truncation, insertion, deletion), random JSON/CBOR documents and random
 * SenML-shaped records. A decoder may accept or refuse, but it only ever throws
 * TelemetryFormatError, whatever it returns is valid points, and each call is quick.
 * Seeded so a failure reproduces.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { encode } from 'cbor-x'
import fc from 'fast-check'
import {
  decodeTelemetry,
  encodeBatch,
  type TelemetryFormat,
  TelemetryFormatError,
  type TelemetryPoint,
} from '../../src/index.js'
import { assertValidPoints, batchOfPoints, NOW, utf8 } from './helpers.js'

const FORMATS: TelemetryFormat[] = ['json', 'senml+json', 'senml+cbor', 'batch']
const RUNS = 1500
/**
 * Catches blow-ups (quadratic work, a hang), not jitter: calls here take well under a
 * millisecond, but a loaded CI machine can stall any one of them for a while.
 */
const MAX_MS = 1000

function check(format: TelemetryFormat, payload: Uint8Array): void {
  const start = performance.now()
  let result: unknown
  try {
    result = decodeTelemetry(format, payload, NOW)
  } catch (error) {
    if (!(error instanceof TelemetryFormatError)) throw error
    assert.ok(error.message.startsWith(format), error.message)
  }
  const ms = performance.now() - start
  assert.ok(ms < MAX_MS, `${format}: ${ms.toFixed(1)} ms for ${payload.length} bytes`)
  if (result !== undefined) assertValidPoints(result)
}

/** Valid payloads of each format for the same points (JSON cannot carry NaN or Infinity). */
function payloadOf(format: TelemetryFormat, points: TelemetryPoint[]): Uint8Array {
  const finite = points.filter((p) => typeof p.value !== 'number' || Number.isFinite(p.value))
  switch (format) {
    case 'json':
      return utf8(JSON.stringify(finite.map((p) => ({ ts: p.ts, [p.metric]: p.value }))))
    case 'senml+json':
      return utf8(JSON.stringify(finite.map(senmlRecord)))
    case 'senml+cbor':
      return encode(
        finite.map((p) => new Map(Object.entries(senmlRecord(p)).map(([k, v]) => [LABEL[k] as number, v]))),
      )
    case 'batch':
      return encodeBatch(points)
  }
}
const LABEL: Record<string, number> = { n: 0, t: 6, v: 2, vs: 3, vb: 4 }
function senmlRecord(p: TelemetryPoint): Record<string, unknown> {
  const key = typeof p.value === 'number' ? 'v' : typeof p.value === 'string' ? 'vs' : 'vb'
  return { n: p.metric.replace(/^_/, 'x'), t: p.ts / 1000, [key]: p.value }
}

type Mutation = { kind: 'flip' | 'set' | 'truncate' | 'insert' | 'delete'; at: number; value: number }
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('flip', 'set', 'truncate', 'insert', 'delete'),
  at: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
})
function mutate(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Uint8Array.from(bytes)
  for (const m of ms) {
    if (b.length === 0) break
    const at = m.at % b.length
    if (m.kind === 'flip') b[at] = (b[at] as number) ^ (1 << (m.value % 8))
    else if (m.kind === 'set') b[at] = m.value
    else if (m.kind === 'truncate') b = b.subarray(0, at)
    else if (m.kind === 'insert') b = Uint8Array.from([...b.subarray(0, at), m.value, ...b.subarray(at)])
    else b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1)])
  }
  return b
}

/** Records shaped like SenML, with each field's value of any type. */
const anyField = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('a', 'x:', 'urn:dev:1:', '2001:db8::1/', '', 'Cel', '/'),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
)
const senmlish = fc.array(
  fc.dictionary(
    fc.constantFrom(
      'bn',
      'bt',
      'bu',
      'bv',
      'bver',
      'n',
      'u',
      'v',
      'vs',
      'vb',
      't',
      'ut',
      's',
      'vd',
      'x_',
      'zz',
    ),
    anyField,
    { maxKeys: 6 },
  ),
  { maxLength: 8 },
)

describe('telemetry fuzz', () => {
  for (const [i, format] of FORMATS.entries()) {
    test(`${format}: random bytes`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => check(format, bytes)),
        { seed: 0x7e1e + i, numRuns: RUNS },
      )
    })

    test(`${format}: mutated valid payloads`, () => {
      fc.assert(
        fc.property(batchOfPoints, fc.array(mutation, { minLength: 1, maxLength: 4 }), (points, ms) => {
          const valid = payloadOf(format, points)
          check(format, valid) // the unmutated payload decodes
          check(format, mutate(valid, ms))
        }),
        { seed: 0x3a7e + i, numRuns: RUNS },
      )
    })
  }

  test('random JSON documents into both JSON decoders, and as CBOR', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (doc) => {
        check('json', utf8(JSON.stringify(doc)))
        check('senml+json', utf8(JSON.stringify(doc)))
        check('senml+cbor', encode(doc))
      }),
      { seed: 0x150d, numRuns: RUNS },
    )
  })

  test('random SenML-shaped records, JSON and CBOR', () => {
    fc.assert(
      fc.property(senmlish, (records) => {
        check('senml+json', utf8(JSON.stringify(records)))
        check('senml+cbor', encode(records))
      }),
      { seed: 0x5e71, numRuns: RUNS },
    )
  })

  test('adversarial payloads at the size limit are refused quickly', () => {
    const MiB = 1024 * 1024 - 16
    const DEPTH = Math.floor((MiB - 1) / 6) // objects nested to just under the size limit
    const cases: [TelemetryFormat, Uint8Array][] = [
      ['json', utf8('['.repeat(MiB))],
      ['json', utf8(`${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`)],
      ['senml+json', utf8(`[${'{"n":"a","v":1},'.repeat(MiB / 16 - 1)}{}]`)],
      ['senml+cbor', new Uint8Array(MiB).fill(0x81)],
      ['senml+cbor', Uint8Array.from([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
      ['batch', Uint8Array.from([1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f])],
      ['batch', Uint8Array.from([1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f])],
    ]
    for (const [format, payload] of cases) {
      assert.ok(payload.length <= 1024 * 1024, 'within maxBytes, so the parser itself is exercised')
      const start = performance.now()
      assert.throws(() => decodeTelemetry(format, payload, NOW), TelemetryFormatError)
      assert.ok(performance.now() - start < 3000, format)
    }
  })
})
