/**
 * Example-based tests of the chunk format: round trips for each encoding and
 * the awkward doubles, the encoder's choices on typical series, input checks,
 * and the header.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  CHUNK_FORMAT_VERSION,
  ChunkFormatError,
  chunkInfo,
  decodeChunk,
  encodeChunk,
  MAX_CHUNK_POINTS,
  MAX_TIMESTAMP,
  TimestampEncoding,
  type TimestampMode,
  ValueEncoding,
  type ValueMode,
} from '../../src/index.js'
import { assertSame, EDGE_BITS, fromBits, prng } from './helpers.js'

const T0 = Date.UTC(2025, 0, 1)
const regular = (n: number, step = 1000): number[] => Array.from({ length: n }, (_, i) => T0 + i * step)
const roundTrip = (ts: ArrayLike<number>, values: Float64Array, opts = {}): Uint8Array => {
  const bytes = encodeChunk(ts, values, opts)
  assertSame(decodeChunk(bytes), ts, values)
  return bytes
}

const VALUE_MODES: ValueMode[] = ['auto', 'decimal', 'xor', 'split', 'raw']
const TS_MODES: TimestampMode[] = ['auto', 'gorilla', 'packed', 'grid']

describe('chunk round trips', () => {
  test('the awkward doubles, in every value encoding and every timestamp encoding', () => {
    const bits = [...EDGE_BITS, ...EDGE_BITS.slice().reverse(), ...EDGE_BITS]
    const values = fromBits(bits)
    const ts = regular(values.length)
    ts[5] = ts[4] as number // a duplicate timestamp
    for (const v of VALUE_MODES) for (const t of TS_MODES) roundTrip(ts, values, { values: v, timestamps: t })
  })

  test('each awkward double as a constant chunk', () => {
    for (const b of EDGE_BITS) {
      const values = fromBits(Array.from({ length: 50 }, () => b))
      const bytes = roundTrip(regular(50), values)
      assert.equal(chunkInfo(bytes).valueEncoding, ValueEncoding.Constant)
      for (const v of VALUE_MODES) roundTrip(regular(50), values, { values: v })
    }
  })

  test('empty, one and two points', () => {
    const empty = encodeChunk([], [])
    assert.deepEqual([...empty], [CHUNK_FORMAT_VERSION, 0])
    assert.equal(decodeChunk(empty).values.length, 0)
    for (const n of [1, 2])
      for (const v of VALUE_MODES)
        roundTrip(regular(n), Float64Array.of(-0, Number.NaN).subarray(0, n), { values: v })
  })

  test('timestamps: extremes, negative, duplicates, gaps of every bucket size', () => {
    const cases: number[][] = [
      [-MAX_TIMESTAMP, MAX_TIMESTAMP],
      [-MAX_TIMESTAMP, -MAX_TIMESTAMP, 0, MAX_TIMESTAMP, MAX_TIMESTAMP],
      [MAX_TIMESTAMP, MAX_TIMESTAMP],
      [-5000, -4000, -3000, -3000, 0, 1],
      [
        0,
        1000,
        2000,
        2001,
        3001,
        3001 + 130,
        3001 + 4000,
        3001 + 10_000_000,
        2 ** 40,
        2 ** 40 + 1000,
        2 ** 50,
      ],
    ]
    for (const ts of cases) {
      const values = new Float64Array(ts.length).fill(1.5)
      for (const t of [...TS_MODES, 'regular' as const].filter((m) => m !== 'regular' || ts.length === 2)) {
        roundTrip(ts, values, { timestamps: t })
      }
    }
  })

  test('regular timestamps cost nothing per point; duplicates-only too', () => {
    const a = encodeChunk(regular(3600), new Float64Array(3600))
    const b = encodeChunk(regular(3600, 0), new Float64Array(3600))
    for (const bytes of [a, b]) {
      assert.equal(chunkInfo(bytes).timestampEncoding, TimestampEncoding.Regular)
      assert.ok(chunkInfo(bytes).timestampBytes < 20)
    }
  })

  test('values given as number[] and as a Float64Array view at an offset', () => {
    const values = [21.5, 21.6, Number.NaN, -0, 1e300]
    roundTrip(regular(5), Float64Array.from(values))
    const bytes = encodeChunk(regular(5), values)
    assertSame(decodeChunk(bytes), regular(5), Float64Array.from(values))
    const backing = new Float64Array(12).fill(3.25)
    backing.set([1, 2, 3], 5)
    roundTrip(regular(3), backing.subarray(5, 8))
  })

  test('decodes from a Buffer and from a view at an offset', () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => Math.sqrt(i))
    const bytes = encodeChunk(regular(100), values)
    const buf = Buffer.concat([Buffer.from('junk'), bytes, Buffer.from('more')])
    assertSame(decodeChunk(buf.subarray(4, 4 + bytes.length)), regular(100), values)
  })
})

describe('encoder choices', () => {
  const n = 3600
  const ts = regular(n)
  const wave = (i: number): number => 20 + 5 * Math.sin(i / 600)
  const chosen = (values: Float64Array, t: ArrayLike<number> = ts) => {
    const bytes = roundTrip(t, values)
    return { ...chunkInfo(bytes), perPoint: bytes.length / values.length }
  }

  test('temperature in 0.1 steps: decimal, under 0.5 bytes/point', () => {
    const c = chosen(Float64Array.from({ length: n }, (_, i) => Math.round(wave(i) * 10) / 10))
    assert.equal(c.valueEncoding, ValueEncoding.Decimal)
    assert.ok(c.perPoint < 0.5, `${c.perPoint}`)
  })

  test('humidity in 0.5 steps: the common factor of the mantissas is divided out', () => {
    const half = chosen(Float64Array.from({ length: n }, (_, i) => Math.round(wave(i) * 2) / 2))
    const tenth = chosen(Float64Array.from({ length: n }, (_, i) => Math.round(wave(i) * 10) / 10))
    assert.equal(half.valueEncoding, ValueEncoding.Decimal)
    assert.ok(half.perPoint < tenth.perPoint)
  })

  test('a monotonic integer counter: decimal (k = 0), under 0.5 bytes/point', () => {
    let c = 1e9
    const x = chosen(Float64Array.from({ length: n }, (_, i) => (c += 3 + (i % 5))))
    assert.equal(x.valueEncoding, ValueEncoding.Decimal)
    assert.ok(x.perPoint < 0.5, `${x.perPoint}`)
  })

  test('a sensor error (NaN) and a -0 among decimals stay decimal, as exceptions', () => {
    const values = Float64Array.from({ length: n }, (_, i) => Math.round(wave(i) * 10) / 10)
    values[100] = Number.NaN
    values[200] = -0
    values[300] = Math.PI
    assert.equal(chosen(values).valueEncoding, ValueEncoding.Decimal)
  })

  test('full-precision floats: xor or split, never more than raw', () => {
    const values = Float64Array.from({ length: n }, (_, i) => wave(i) + Math.sin(i * 7.1) * 1e-3)
    const c = chosen(values)
    assert.ok(c.valueEncoding === ValueEncoding.Xor || c.valueEncoding === ValueEncoding.Split)
    assert.ok(c.perPoint < 8)
  })

  test('random bit patterns: raw, 8 bytes/point plus the header', () => {
    const rand = prng(7)
    const values = fromBits(Array.from({ length: n }, () => (BigInt(rand()) << 32n) | BigInt(rand())))
    const c = chosen(values)
    assert.equal(c.valueEncoding, ValueEncoding.Raw)
    assert.ok(c.valueBytes <= 8 * n + 1)
  })

  test('jittered timestamps with a gap: grid, under a byte per point', () => {
    const rand = prng(8)
    const t: number[] = []
    for (let i = 0; i < n; i++) {
      const jitter = (rand() % 101) - 50
      if (i < 1000 || i > 1600) t.push(T0 + i * 1000 + jitter)
    }
    const c = chosen(new Float64Array(t.length).fill(1), t)
    assert.equal(c.timestampEncoding, TimestampEncoding.Grid)
    assert.ok(c.timestampBytes / t.length < 1, `${c.timestampBytes / t.length}`)
  })

  test('a drifting clock (1000.3 ms) with jitter still round-trips, whichever encoding wins', () => {
    const t = Array.from({ length: n }, (_, i) => T0 + Math.round(i * 1000.3) + ((i * 53) % 21) - 10)
    for (const mode of TS_MODES) roundTrip(t, new Float64Array(n), { timestamps: mode })
  })

  test('integers beyond 2^50 and decimals beyond 6 digits still round-trip (not as decimal)', () => {
    roundTrip(regular(4), Float64Array.of(2 ** 52, 2 ** 52 + 1, 2 ** 53, -(2 ** 51)))
    roundTrip(regular(4), Float64Array.of(0.1234567, 1e-7, 123.4567891, 1e21))
    const bytes = encodeChunk(regular(4), Float64Array.of(0.1234567, 1e-7, 123.4567891, 1e21), {
      values: 'decimal',
    })
    assertSame(decodeChunk(bytes), regular(4), Float64Array.of(0.1234567, 1e-7, 123.4567891, 1e21))
  })
})

describe('encoder input checks (RangeError: a caller bug, not a corrupt chunk)', () => {
  const cases: [string, () => unknown][] = [
    ['length mismatch', () => encodeChunk([1, 2], [1])],
    ['decreasing', () => encodeChunk([2, 1], [1, 1])],
    ['fractional', () => encodeChunk([1.5], [1])],
    ['NaN timestamp', () => encodeChunk([Number.NaN], [1])],
    ['out of range', () => encodeChunk([MAX_TIMESTAMP + 1], [1])],
    [
      'too many points',
      () => encodeChunk(new Float64Array(MAX_CHUNK_POINTS + 1), new Float64Array(MAX_CHUNK_POINTS + 1)),
    ],
    ['forced constant on varying values', () => encodeChunk([1, 2], [1, 2], { values: 'constant' })],
    [
      'forced regular on irregular timestamps',
      () => encodeChunk([1, 2, 4], [1, 2, 3], { timestamps: 'regular' }),
    ],
  ]
  for (const [name, fn] of cases) test(name, () => assert.throws(fn, RangeError))

  test('the largest chunk round-trips', () => {
    const n = MAX_CHUNK_POINTS
    roundTrip(
      regular(n),
      Float64Array.from({ length: n }, (_, i) => i % 7),
    )
  })
})

describe('header', () => {
  test('first byte is the format version; other versions are refused by name', () => {
    const bytes = encodeChunk(regular(10), new Float64Array(10))
    assert.equal(bytes[0], CHUNK_FORMAT_VERSION)
    const future = Uint8Array.from(bytes)
    future[0] = 2
    assert.throws(
      () => decodeChunk(future),
      (e: unknown) => {
        assert.ok(e instanceof ChunkFormatError)
        assert.equal(e.code, 'STRATA_TSDB_CHUNK_CORRUPT')
        assert.match(e.message, /version 2/)
        return true
      },
    )
  })

  test('a count above MAX_CHUNK_POINTS is refused before anything is allocated', () => {
    // version, count = 2^21 - 1 as LEB128, then nothing
    assert.throws(() => decodeChunk(Uint8Array.of(1, 0xff, 0xff, 0x7f)), /exceeds/)
  })
})
