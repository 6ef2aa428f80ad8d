/**
 * Property tests, seeded so that a failure reproduces: whatever the timestamps
 * (regular, jittered, duplicated, with gaps) and values (raw bit patterns,
 * decimals, integers, constants, mixtures with NaN payloads and -0), a chunk
 * decodes to the same timestamps and the same value bits, in every encoding.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { chunkInfo, decodeChunk, encodeChunk, type TimestampMode, type ValueMode } from '../../src/index.js'
import { assertSame, points, SEED } from './helpers.js'

describe('chunk properties', () => {
  test('auto: decode(encode(points)) is bit-exact, and encoding is deterministic', () => {
    fc.assert(
      fc.property(points(600), ({ ts, values }) => {
        const bytes = encodeChunk(ts, values)
        const decoded = decodeChunk(bytes)
        assertSame(decoded, ts, values)
        // Re-encoding what came out gives the same bytes: nothing in the chunk depends on state.
        assert.deepEqual(encodeChunk(decoded.timestamps, decoded.values), bytes)
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  test('auto is never much larger than raw (16 bytes/point)', () => {
    fc.assert(
      fc.property(points(600), ({ ts, values }) => {
        const bytes = encodeChunk(ts, values)
        assert.ok(bytes.length <= 16 * ts.length + 32, `${bytes.length} bytes for ${ts.length} points`)
      }),
      { seed: SEED, numRuns: 200 },
    )
  })

  const forced: [TimestampMode, ValueMode][] = [
    ['gorilla', 'xor'],
    ['packed', 'split'],
    ['gorilla', 'decimal'],
    ['packed', 'raw'],
    ['grid', 'auto'],
  ]
  for (const [timestamps, values] of forced) {
    test(`forced ${timestamps} timestamps and ${values} values round-trip`, () => {
      fc.assert(
        fc.property(points(300), (p) => {
          const bytes = encodeChunk(p.ts, p.values, { timestamps, values })
          assertSame(decodeChunk(bytes), p.ts, p.values)
          if (p.ts.length > 0) assert.equal(chunkInfo(bytes).count, p.ts.length)
        }),
        { seed: SEED, numRuns: 150 },
      )
    })
  }

  test('long chunks (several 128-value blocks) round-trip', () => {
    fc.assert(
      fc.property(points(5000), ({ ts, values }) =>
        assertSame(decodeChunk(encodeChunk(ts, values)), ts, values),
      ),
      { seed: SEED, numRuns: 40 },
    )
  })
})
