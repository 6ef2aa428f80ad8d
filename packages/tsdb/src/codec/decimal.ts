/**
 * Decimal encoding: values that are exactly m / 10^k for integers m and one k in
 * 0..6 per chunk (k = 0: integers). Sensors report quantised readings: a
 * temperature in 0.1 °C steps is 215 / 10, not a 52-bit mantissa, and its
 * integer m compresses to a few bits per point through the PFOR packer, where
 * Gorilla's XOR sees noise in every mantissa bit. The idea, and the name for
 * values that do not fit, come from ALP (Afroozeh and Boncz, "ALP: Adaptive
 * Lossless floating-Point Compression", SIGMOD 2024), reduced to one decimal
 * exponent per chunk.
 *
 * The test is bit-exact by construction: a value is k-decimal when
 * m = Math.round(v * 10^k) gives m / 10^k with the same bits as v (10^k is exact
 * for k ≤ 22 and division is correctly rounded, so the decoder's m / 10^k is
 * that same double), and |m| < 2^50 so that deltas of deltas stay safe integers.
 * -0, NaN, ±Infinity and values needing more than 6 decimals are exceptions,
 * stored raw with their position, so one NaN from a failing sensor does not
 * push a whole chunk to XOR.
 *
 * Section layout:
 *   k        3 bits
 *   ne       varbits   number of exceptions
 *   ne × (index: bitLength(n - 1) bits, increasing; raw 64 bits, high half first)
 *   m        packed integer sequence, order ≤ 2 (intpack.ts); at an exception
 *            the previous m is repeated, which costs a zero delta
 */
import { type BitReader, type BitWriter, bitLength } from './bits.js'
import { ChunkFormatError } from './errors.js'
import { HI, LO } from './float-bits.js'
import { readInts, writeInts } from './intpack.js'

export const MAX_DECIMALS = 6
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6]
const MAX_M = 2 ** 50
const NOT_DECIMAL = MAX_DECIMALS + 1
/** Bits an exception costs beyond its index: its raw 64 bits. One more decimal digit costs ~log2(10) per value. */
const EXCEPTION_BITS = 64
const DIGIT_BITS = Math.log2(10)

let digits = new Uint8Array(4096)
let ints = new Float64Array(4096)
const hist = new Int32Array(NOT_DECIMAL + 1)

/** Smallest k in 0..6 for which v is exactly m / 10^k, else 7. */
function decimalDigits(v: number): number {
  if (v === 0) return Object.is(v, 0) ? 0 : NOT_DECIMAL
  for (let k = 0; k <= MAX_DECIMALS; k++) {
    const p = POW10[k] as number
    const m = Math.round(v * p)
    if (m / p === v) return Math.abs(m) < MAX_M ? k : NOT_DECIMAL
  }
  return NOT_DECIMAL
}

export interface DecimalPlan {
  k: number
  exceptions: number
}

/**
 * Chooses k for f[0, n): the one minimising the estimated size, an extra digit
 * costing log2(10) bits per value and an exception its raw bits and position.
 * Returns null when more than maxExceptionShare of the values would be
 * exceptions, and gives up as soon as that share of the first 64 values is not
 * decimal, so that full-precision data costs little here.
 */
export function planDecimal(f: Float64Array, n: number, maxExceptionShare: number): DecimalPlan | null {
  if (digits.length < n) digits = new Uint8Array(n)
  hist.fill(0)
  for (let i = 0; i < n; i++) {
    const k = decimalDigits(f[i] as number)
    digits[i] = k
    hist[k] = (hist[k] as number) + 1
    if (i === 63 && (hist[NOT_DECIMAL] as number) > 64 * maxExceptionShare) return null
  }
  const indexBits = bitLength(n - 1)
  let best = -1
  let bestCost = Number.POSITIVE_INFINITY
  let bestExceptions = 0
  let above = n
  for (let k = 0; k <= MAX_DECIMALS; k++) {
    above -= hist[k] as number
    const cost = n * DIGIT_BITS * k + above * (EXCEPTION_BITS + indexBits)
    if (cost < bestCost) {
      bestCost = cost
      best = k
      bestExceptions = above
    }
  }
  if (bestExceptions > n * maxExceptionShare) return null
  return { k: best, exceptions: bestExceptions }
}

/** Writes f[0, n) (halves u) with the decimal exponent planned by planDecimal. */
export function writeDecimal(w: BitWriter, f: Float64Array, u: Uint32Array, n: number, k: number): void {
  if (ints.length < n) ints = new Float64Array(n)
  const p = POW10[k] as number
  // Re-check every value at the chosen k: the exceptions are exactly those that fail.
  let ne = 0
  for (let i = 0; i < n; i++) {
    const v = f[i] as number
    const m = Math.round(v * p) + 0 // + 0 turns Math.round's -0 into 0
    const ok = (digits[i] as number) <= k && m / p === v && Math.abs(m) < MAX_M
    ints[i] = ok ? m : Number.NaN
    if (!ok) ne++
  }
  w.write(k, 3)
  w.writeVarBits(ne)
  if (ne > 0) {
    const indexBits = bitLength(n - 1)
    let fill = 0
    for (let i = 0; i < n; i++) {
      if (!Number.isNaN(ints[i])) {
        fill = ints[i] as number
        break
      }
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isNaN(ints[i])) fill = ints[i] as number
      else {
        w.write(i, indexBits)
        w.write(u[2 * i + HI] as number, 32)
        w.write(u[2 * i + LO] as number, 32)
        ints[i] = fill
      }
    }
  }
  writeInts(w, ints, n, 2)
}

/** Decodes n ≥ 1 values into out (halves u). */
export function readDecimal(r: BitReader, out: Float64Array, u: Uint32Array, n: number): void {
  const k = r.read(3)
  if (k > MAX_DECIMALS) throw new ChunkFormatError(`decimal exponent ${k} (at most ${MAX_DECIMALS})`)
  const ne = r.readVarBits()
  if (ne > n) throw new ChunkFormatError(`${ne} decimal exceptions in ${n} values`)
  const indexBits = bitLength(n - 1)
  // Exceptions precede the integers: hold them until the values are in place.
  const at = new Int32Array(ne)
  const raw = new Uint32Array(2 * ne)
  let last = -1
  for (let j = 0; j < ne; j++) {
    const i = r.read(indexBits)
    if (i >= n || i <= last) throw new ChunkFormatError(`decimal exception index ${i} out of order`)
    last = i
    at[j] = i
    raw[2 * j] = r.read(32)
    raw[2 * j + 1] = r.read(32)
  }
  readInts(r, out, n)
  const p = POW10[k] as number
  if (p !== 1) for (let i = 0; i < n; i++) out[i] = (out[i] as number) / p
  for (let j = 0; j < ne; j++) {
    const i = at[j] as number
    u[2 * i + HI] = raw[2 * j] as number
    u[2 * i + LO] = raw[2 * j + 1] as number
  }
}
