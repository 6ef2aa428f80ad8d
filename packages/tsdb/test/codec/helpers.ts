/**
 * Shared generators and checks for the codec tests. Values are built from raw
 * bits (BigUint64Array → Float64Array) so that NaN payloads, -0 and subnormals
 * reach the codec exactly; comparisons are on bits, never with ===.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { type DecodedChunk, MAX_TIMESTAMP } from '../../src/index.js'

export const SEED = 4

/** mulberry32: a seeded uint32 generator, well mixed in every bit. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

export function fromBits(bits: readonly bigint[]): Float64Array {
  return new Float64Array(BigUint64Array.from(bits).buffer)
}

export function bitsOf(f: Float64Array): BigUint64Array {
  return new BigUint64Array(f.buffer, f.byteOffset, f.length)
}

/** Asserts the decoded chunk holds exactly these timestamps and these values' bit patterns. */
export function assertSame(decoded: DecodedChunk, timestamps: ArrayLike<number>, values: Float64Array): void {
  assert.equal(decoded.timestamps.length, timestamps.length, 'timestamp count')
  for (let i = 0; i < timestamps.length; i++) {
    if (decoded.timestamps[i] !== timestamps[i]) {
      assert.fail(`timestamp ${i}: ${decoded.timestamps[i]} !== ${timestamps[i]}`)
    }
  }
  const a = bitsOf(decoded.values)
  const b = bitsOf(values)
  assert.equal(a.length, b.length, 'value count')
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`value ${i}: bits ${a[i]?.toString(16)} !== ${b[i]?.toString(16)}`)
  }
}

/** Bit patterns of the awkward doubles: zeros, NaNs with payloads, infinities, subnormals, extremes. */
export const EDGE_BITS: readonly bigint[] = [
  0x0000000000000000n, // +0
  0x8000000000000000n, // -0
  0x7ff0000000000000n, // +Infinity
  0xfff0000000000000n, // -Infinity
  0x7ff8000000000000n, // the canonical quiet NaN
  0x7ff0000000000001n, // signalling NaN, payload 1
  0xfff8dead0000beefn, // negative quiet NaN with a payload
  0x7fffffffffffffffn, // NaN, all payload bits set
  0x0000000000000001n, // smallest subnormal
  0x800fffffffffffffn, // largest negative subnormal
  0x0010000000000000n, // smallest normal
  0x7fefffffffffffffn, // largest finite
  0x3ff0000000000000n, // 1
  0x3fb999999999999an, // 0.1
  0x4330000000000000n, // 2^52
  0x4340000000000000n, // 2^53
  0x4340000000000001n, // 2^53 + 2
]

const rawBits = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
const edgeBits = fc.constantFrom(...EDGE_BITS)
const bitsOfNumber = (x: number): bigint => bitsOf(Float64Array.of(x))[0] as bigint

/** A decimal m / 10^k as a device would print it, kept as bits. */
const decimalBits = (k: number) =>
  fc.integer({ min: -10_000_000, max: 10_000_000 }).map((m) => bitsOfNumber(m / 10 ** k))

/** A random walk of decimals with step ±s at k digits: quantised sensor readings. */
const walk = (n: number) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: -1_000_000, max: 1_000_000 }),
      fc.integer({ min: 1, max: 50 }),
      fc.array(fc.integer({ min: -3, max: 3 }), { minLength: n, maxLength: n }),
    )
    .map(([k, start, step, moves]) => {
      let m = start
      return moves.map((d) => {
        m += d * step
        return bitsOfNumber(m / 10 ** k)
      })
    })

/** Values for one chunk of n points, from one of the families the codec distinguishes, or a mixture. */
export function valueBits(n: number): fc.Arbitrary<bigint[]> {
  const of = (a: fc.Arbitrary<bigint>) => fc.array(a, { minLength: n, maxLength: n })
  return fc.oneof(
    of(rawBits),
    of(edgeBits),
    rawBits.map((b) => Array.from({ length: n }, () => b)),
    fc.integer({ min: 0, max: 6 }).chain((k) => of(decimalBits(k))),
    of(fc.maxSafeInteger().map(bitsOfNumber)),
    walk(n),
    // Mostly decimals with special values sprinkled in: the exception path.
    fc
      .tuple(walk(n), fc.array(fc.tuple(fc.nat(), fc.oneof(edgeBits, rawBits)), { maxLength: 8 }))
      .map(([base, specials]) => {
        const out = [...base]
        for (const [at, b] of specials) if (n > 0) out[at % n] = b
        return out
      }),
    // Smooth full-precision floats.
    fc
      .tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: -10, max: 10, noNaN: true }))
      .map(([a, b]) => Array.from({ length: n }, (_, i) => bitsOfNumber(a + b * Math.sin(i / 17)))),
  )
}

/** Non-decreasing integer timestamps: regular, jittered, duplicated, with gaps small and huge. */
export function timestamps(n: number): fc.Arbitrary<number[]> {
  const step = fc.oneof(
    { weight: 6, arbitrary: fc.constant(1000) },
    { weight: 3, arbitrary: fc.integer({ min: 950, max: 1050 }) },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 10_000_000 }) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 44n }).map(Number) },
  )
  return fc
    .tuple(
      fc.bigInt({ min: -(2n ** 50n), max: 2n ** 50n }).map(Number),
      fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 100_000 })),
      fc.array(step, { minLength: n, maxLength: n }),
    )
    .map(([t0, regular, steps]) => {
      let t = t0
      return steps.map((s) => {
        const here = t
        t = Math.min(MAX_TIMESTAMP, t + (regular ?? s))
        return here
      })
    })
}

/** A chunk's points: n in [0, maxN], timestamps and value bits. */
export function points(maxN: number): fc.Arbitrary<{ ts: number[]; values: Float64Array }> {
  return fc
    .oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: maxN }) },
      { weight: 1, arbitrary: fc.constantFrom(0, 1, 2, 3) },
    )
    .chain((n) => fc.tuple(timestamps(n), valueBits(n)))
    .map(([ts, bits]) => ({ ts, values: fromBits(bits) }))
}
