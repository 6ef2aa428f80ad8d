/**
 * Fuzz tests of decodeChunk: random bytes and mutations of valid chunks (bit
 * flips, byte changes, truncation, insertion, deletion, header-biased changes).
 * The decoder may accept or reject, but it only ever throws ChunkFormatError
 * (never TypeError/RangeError), returns as many values as timestamps, at most
 * MAX_CHUNK_POINTS of each, with non-decreasing timestamps, and finishes
 * quickly. Seeded so a failure reproduces.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  ChunkFormatError,
  decodeChunk,
  encodeChunk,
  MAX_CHUNK_POINTS,
  type TimestampMode,
  type ValueMode,
} from '../../src/index.js'
import { points, SEED } from './helpers.js'

/** Generous, for a loaded CI machine: a decode of at most 65,536 points takes a few ms. */
const MAX_DECODE_MS = 500

function decodeOrReject(bytes: Uint8Array): void {
  const start = performance.now()
  try {
    const d = decodeChunk(bytes)
    assert.equal(d.timestamps.length, d.values.length)
    assert.ok(d.values.length <= MAX_CHUNK_POINTS)
    for (let i = 1; i < d.timestamps.length; i++) {
      assert.ok((d.timestamps[i] as number) >= (d.timestamps[i - 1] as number), 'timestamps decrease')
    }
  } catch (e) {
    if (!(e instanceof ChunkFormatError)) throw e
  }
  const ms = performance.now() - start
  assert.ok(ms < MAX_DECODE_MS, `decode took ${ms.toFixed(0)} ms`)
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; value: number }
  | { kind: 'delete'; at: number }

const byte = fc.integer({ min: 0, max: 255 })
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('flip' as const),
      at: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: byte }) },
  // The header (version, count, encodings, section length) lives in the first bytes: bias there.
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      at: fc.integer({ min: 0, max: 6 }),
      value: byte,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: byte }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
)

function mutate(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = [...bytes]
  for (const m of ms) {
    if (b.length === 0) break
    const at = m.at % b.length
    if (m.kind === 'flip') b[at] = (b[at] as number) ^ (1 << m.bit)
    else if (m.kind === 'set') b[at] = m.value
    else if (m.kind === 'truncate') b = b.slice(0, at)
    else if (m.kind === 'insert') b.splice(at, 0, m.value)
    else b.splice(at, 1)
  }
  return Uint8Array.from(b)
}

const modes: fc.Arbitrary<{ timestamps: TimestampMode; values: ValueMode }> = fc.record({
  timestamps: fc.constantFrom<TimestampMode>('auto', 'gorilla', 'packed', 'grid'),
  values: fc.constantFrom<ValueMode>('auto', 'decimal', 'xor', 'split', 'raw'),
})

describe('decodeChunk fuzz', () => {
  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => decodeOrReject(bytes)),
      { seed: SEED, numRuns: 2000 },
    )
  })

  test('random bytes behind a valid version byte and count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_CHUNK_POINTS }),
        fc.constantFrom(0, 1, 2, 3),
        fc.constantFrom(0, 1, 2, 3, 4),
        fc.uint8Array({ maxLength: 300 }),
        (count, tsEncoding, valueEncoding, body) => {
          const header = [1, (count & 127) | 128, ((count >>> 7) & 127) | 128, count >>> 14, tsEncoding]
          const tsLen = Math.min(body.length, body[0] ?? 0)
          const bytes = Uint8Array.from([
            ...header,
            tsLen & 127,
            ...body.subarray(0, tsLen),
            valueEncoding,
            ...body.subarray(tsLen),
          ])
          decodeOrReject(bytes)
        },
      ),
      { seed: SEED, numRuns: 2000 },
    )
  })

  test('mutated valid chunks', () => {
    fc.assert(
      fc.property(points(400), modes, fc.array(mutation, { minLength: 1, maxLength: 4 }), (p, opts, ms) => {
        decodeOrReject(mutate(encodeChunk(p.ts, p.values, opts), ms))
      }),
      { seed: SEED, numRuns: 3000 },
    )
  })

  test('every proper prefix of a valid chunk is rejected', () => {
    fc.assert(
      fc.property(points(200), modes, (p, opts) => {
        const bytes = encodeChunk(p.ts, p.values, opts)
        for (let len = 0; len < bytes.length; len++) {
          assert.throws(() => decodeChunk(bytes.subarray(0, len)), ChunkFormatError)
        }
      }),
      { seed: SEED, numRuns: 100 },
    )
  })
})
