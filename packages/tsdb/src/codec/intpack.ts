/**
 * Packed integer sequences: the back end of the Decimal and Split value
 * encodings and of the Packed and Grid timestamp encodings.
 *
 * A sequence is differenced 0, 1 or 2 times (levels, deltas, deltas of deltas:
 * the order whose size, measured on a sample of blocks, is smallest wins), and
 * divided by the differences' common factor if they have one (a counter that
 * steps by 10, humidity in 0.5 steps written as tenths); then cut into blocks of 128
 * values, each bit-packed at its own width as a patched frame of reference
 * (PFOR: Zukowski, Heman, Nes, Boncz, "Super-Scalar RAM-CPU Cache Compression",
 * ICDE 2006). Per block, the width w is the one that minimises the block's size
 * when the few values that need more than w bits are stored as exceptions
 * (their position and their bits above w). That is what keeps a one-second
 * series with a ten-minute gap, or a status flag that flips once, from paying
 * the outlier's width on all 128 values.
 *
 * Two variants per block, also chosen by size: frame of reference (value =
 * block minimum + u), best for offset ranges such as counter increments of
 * 5..15; and zigzag around zero, best for centred data such as deltas with rare
 * outliers on either side.
 *
 * Sequence layout:
 *   order      2 bits    0, 1 or 2
 *   scaled     1 bit     1: the differences share a factor g > 1, written next
 *   g          varbits   only if scaled; the packed values are the differences / g
 *   heads      min(order, n) × zigzag varbits: the first value, then the first delta
 *   blocks     over the n - order differences of that order
 * Block layout:
 *   w          6 bits    width of every value's low part, 0..53
 *   variant    1 bit     0: frame of reference, 1: zigzag
 *   base       varbits   zigzag(block minimum), variant 0 only
 *   ne         7 bits    number of exceptions (< block length, so 7 bits suffice)
 *   ew         6 bits    width of the exceptions' high parts, only if ne > 0
 *   ne × (7-bit index in the block, ew-bit high part)
 *   len × w bits         low parts
 *
 * Every difference of the orders tried must have |d| < 2^52, so that d - min and
 * zigzag(d) stay below 2^53: |x| < 2^50 with maxOrder 2 (decimal mantissas),
 * |x| < 2^51 with maxOrder 1 (timestamp deltas, grid steps and residuals), any
 * uint32 (float halves).
 */
import { type BitReader, type BitWriter, bitLength, TWO_32, unzigzag, zigzag } from './bits.js'
import { ChunkFormatError } from './errors.js'

export const BLOCK = 128
const HEADER_BITS = 6 + 1 + 7
const MAX_WIDTH = 53
const POW2 = Array.from({ length: 64 }, (_, i) => 2 ** i)

let d0 = new Float64Array(4096)
let d1 = new Float64Array(4096)
let d2 = new Float64Array(4096)
const histA = new Int32Array(64)
const histB = new Int32Array(64)
const excIndex = new Int32Array(BLOCK)
const excHigh = new Float64Array(BLOCK)

// The plan of the last block passed to planBlock: filled there, read by writeBlock.
let planW = 0
let planVariant = 0
let planBase = 0
let planNe = 0
let planEw = 0
let bestW = 0
let bestNe = 0

/** Smallest cost over widths given a histogram of bit lengths; sets bestW and bestNe. */
function bestWidth(hist: Int32Array, maxW: number, len: number): number {
  let cost = maxW * len
  bestW = maxW
  bestNe = 0
  let above = 0
  for (let w = maxW - 1; w >= 0; w--) {
    above += hist[w + 1] as number
    const c = w * len + 6 + above * (7 + maxW - w)
    if (c < cost) {
      cost = c
      bestW = w
      bestNe = above
    }
  }
  return cost
}

/** The exact size in bits of one block, and its plan (planW, planVariant, ...). */
function planBlock(d: Float64Array, from: number, len: number): number {
  const to = from + len
  let min = d[from] as number
  let max = min
  for (let i = from + 1; i < to; i++) {
    const x = d[i] as number
    if (x < min) min = x
    else if (x > max) max = x
  }
  if (min === max) {
    planW = 0
    planNe = 0
    planEw = 0
    planBase = min
    planVariant = min === 0 ? 1 : 0
    return min === 0 ? HEADER_BITS : HEADER_BITS + 6 + bitLength(zigzag(min))
  }
  // Frame of reference: the widest u = x - min is max - min. Zigzag: zigzag grows with |x|, so the
  // widest is at min or max; and when min ≥ 0 every x - min ≤ zigzag(x), so zigzag cannot win
  // but by its base's few bits: it is only counted for blocks that reach below zero.
  const maxA = bitLength(max - min)
  const withB = min < 0
  const maxB = withB ? Math.max(bitLength(zigzag(min)), bitLength(zigzag(max))) : 0
  histA.fill(0, 0, maxA + 1)
  if (withB) {
    histB.fill(0, 0, maxB + 1)
    for (let i = from; i < to; i++) {
      const x = d[i] as number
      const a = x - min
      const z = x >= 0 ? 2 * x : -2 * x - 1
      const la = a < TWO_32 ? 32 - Math.clz32(a) : 64 - Math.clz32(a / TWO_32)
      const lb = z < TWO_32 ? 32 - Math.clz32(z) : 64 - Math.clz32(z / TWO_32)
      histA[la] = (histA[la] as number) + 1
      histB[lb] = (histB[lb] as number) + 1
    }
  } else {
    for (let i = from; i < to; i++) {
      const a = (d[i] as number) - min
      const la = a < TWO_32 ? 32 - Math.clz32(a) : 64 - Math.clz32(a / TWO_32)
      histA[la] = (histA[la] as number) + 1
    }
  }
  const costA = bestWidth(histA, maxA, len) + 6 + bitLength(zigzag(min))
  const wA = bestW
  const neA = bestNe
  const costB = withB ? bestWidth(histB, maxB, len) : Number.POSITIVE_INFINITY
  if (costB <= costA) {
    planVariant = 1
    planW = bestW
    planNe = bestNe
    planEw = maxB - bestW
    return HEADER_BITS + costB
  }
  planVariant = 0
  planBase = min
  planW = wA
  planNe = neA
  planEw = maxA - wA
  return HEADER_BITS + costA
}

function writeBlock(out: BitWriter, d: Float64Array, from: number, len: number): void {
  planBlock(d, from, len)
  const w = planW
  const zz = planVariant === 1
  const base = planBase
  out.write(w, 6)
  out.write(planVariant, 1)
  if (!zz) out.writeVarBits(zigzag(base))
  out.write(planNe, 7)
  const to = from + len
  if (planNe > 0) {
    out.write(planEw, 6)
    const limit = POW2[w] as number
    for (let i = from; i < to; i++) {
      const x = d[i] as number
      const u = zz ? (x >= 0 ? 2 * x : -2 * x - 1) : x - base
      if (u >= limit) {
        out.write(i - from, 7)
        out.writeNumber(Math.floor(u / limit), planEw)
      }
    }
  }
  if (w === 0) return
  if (w < 32) {
    const mask = (1 << w) - 1 // `&` keeps the low w bits of any safe integer (ToInt32 is modulo 2^32)
    if (zz) for (let i = from; i < to; i++) out.write(zigzag(d[i] as number) & mask, w)
    else for (let i = from; i < to; i++) out.write(((d[i] as number) - base) & mask, w)
  } else {
    const limit = POW2[w] as number
    for (let i = from; i < to; i++) {
      const x = d[i] as number
      const u = zz ? zigzag(x) : x - base
      out.writeNumber(u < limit ? u : u % limit, w) // % on doubles is a library call: exceptions only
    }
  }
}

/** Blocks whose exact size decides the order: enough to see the data's character, few enough to be cheap. */
const SAMPLE_BLOCKS = 8

/**
 * The size of d[0, n) as blocks, exact on an evenly spaced sample of at most
 * SAMPLE_BLOCKS blocks and scaled to all of them. Only used to choose the order:
 * planning every block of three orders cost more than the writing itself
 * (split values encoded ~2x faster with the sample, for the same size on the benchmark).
 */
function blocksCost(d: Float64Array, n: number): number {
  const blocks = Math.ceil(n / BLOCK)
  const stride = Math.max(1, Math.floor(blocks / SAMPLE_BLOCKS))
  let bits = 0
  let sampled = 0
  for (let b = 0; b < blocks; b += stride) {
    const from = b * BLOCK
    bits += planBlock(d, from, Math.min(BLOCK, n - from))
    sampled++
  }
  return sampled === blocks ? bits : (bits * blocks) / sampled
}

/** Greatest common divisor of |d[0, n)|, 0 when all are 0; stops at 1, the usual answer, early. */
function commonFactor(d: Float64Array, n: number): number {
  let g = 0
  for (let i = 0; i < n; i++) {
    let x = Math.abs(d[i] as number)
    // The usual case once g is found: x is a multiple. Int32 modulo when both fit (double
    // modulo is a library call); x % 0 is NaN, so the first non-zero x falls through.
    if (x < 2147483648 && g < 2147483648 ? (x | 0) % (g | 0) === 0 : x % g === 0) continue
    while (x !== 0) {
      const t = g % x
      g = x
      x = t
    }
    if (g === 1) return 1
  }
  return g
}

/** Divides d[0, n) by its common factor (into `into`); returns the factor, 1 if none. */
function reduce(d: Float64Array, into: Float64Array, n: number): number {
  const g = commonFactor(d, n)
  if (g <= 1) return 1
  for (let i = 0; i < n; i++) into[i] = (d[i] as number) / g
  return g
}

const factorBits = (g: number): number => (g > 1 ? 7 + bitLength(g) : 1)

/** Writes xs[0, n) (integers, see the module comment for their range), differenced up to maxOrder times. */
export function writeInts(out: BitWriter, xs: Float64Array, n: number, maxOrder: 0 | 1 | 2): void {
  if (d1.length < n) {
    d0 = new Float64Array(n)
    d1 = new Float64Array(n)
    d2 = new Float64Array(n)
  }
  const try1 = maxOrder >= 1 && n > 1
  const try2 = maxOrder === 2 && n > 2
  if (try1) for (let i = 1; i < n; i++) d1[i - 1] = (xs[i] as number) - (xs[i - 1] as number)
  if (try2) for (let i = 1; i < n - 1; i++) d2[i - 1] = (d1[i] as number) - (d1[i - 1] as number)
  const x0 = xs[0] as number
  const first = d1[0] as number
  // Each order's values are divided by their common factor (a counter stepping by 10, humidity in
  // 0.5 steps written as tenths, floats from float32 with 29 zero bits): log2(factor) bits saved per value.
  const g0 = reduce(xs, d0, n)
  const seq0 = g0 > 1 ? d0 : xs
  let order = 0
  let factor = g0
  let best = blocksCost(seq0, n) + factorBits(g0)
  if (try1) {
    const g1 = reduce(d1, d1, n - 1)
    const c1 = blocksCost(d1, n - 1) + factorBits(g1) + 6 + bitLength(zigzag(x0))
    if (c1 < best) {
      best = c1
      order = 1
      factor = g1
    }
  }
  if (try2) {
    const g2 = reduce(d2, d2, n - 2)
    const c2 = blocksCost(d2, n - 2) + factorBits(g2) + 12 + bitLength(zigzag(x0)) + bitLength(zigzag(first))
    if (c2 < best) {
      order = 2
      factor = g2
    }
  }
  out.write(order, 2)
  out.write(factor > 1 ? 1 : 0, 1)
  if (factor > 1) out.writeVarBits(factor)
  if (order >= 1) out.writeVarBits(zigzag(x0))
  if (order === 2) out.writeVarBits(zigzag(first))
  const d = order === 0 ? seq0 : order === 1 ? d1 : d2
  const m = n - order
  for (let from = 0; from < m; from += BLOCK) writeBlock(out, d, from, Math.min(BLOCK, m - from))
}

function readBlock(r: BitReader, out: Float64Array, from: number, len: number): void {
  const w = r.read(6)
  if (w > MAX_WIDTH) throw new ChunkFormatError(`packed block of width ${w} (at most ${MAX_WIDTH})`)
  const zz = r.read(1) === 1
  const base = zz ? 0 : unzigzag(r.readVarBits())
  const ne = r.read(7)
  if (ne >= len) throw new ChunkFormatError(`packed block with ${ne} exceptions in ${len} values`)
  const to = from + len
  let ew = 0
  if (ne > 0) {
    ew = r.read(6)
    if (ew > MAX_WIDTH) throw new ChunkFormatError(`packed block exception width ${ew}`)
    let last = -1
    for (let j = 0; j < ne; j++) {
      const idx = r.read(7)
      if (idx >= len || idx <= last)
        throw new ChunkFormatError(`packed block exception index ${idx} out of order`)
      last = idx
      excIndex[j] = idx
      excHigh[j] = r.readNumber(ew)
    }
  }
  if (w === 0) out.fill(0, from, to)
  else if (w <= 25) for (let i = from; i < to; i++) out[i] = r.read(w)
  else for (let i = from; i < to; i++) out[i] = r.readNumber(w)
  if (ne > 0) {
    const scale = POW2[w] as number
    for (let j = 0; j < ne; j++) {
      const i = from + (excIndex[j] as number)
      out[i] = (out[i] as number) + (excHigh[j] as number) * scale
    }
  }
  if (zz) {
    for (let i = from; i < to; i++) {
      const u = out[i] as number
      out[i] = u < 2147483648 ? (u >>> 1) ^ -(u & 1) : unzigzag(u)
    }
  } else if (base !== 0) for (let i = from; i < to; i++) out[i] = (out[i] as number) + base
}

/** Reads n integers written by writeInts into out[0, n). */
export function readInts(r: BitReader, out: Float64Array, n: number): void {
  const order = r.read(2)
  if (order > 2) throw new ChunkFormatError(`packed sequence of order ${order}`)
  const factor = r.read(1) === 1 ? r.readVarBits() : 1
  const x0 = order >= 1 ? unzigzag(r.readVarBits()) : 0
  const first = order === 2 ? unzigzag(r.readVarBits()) : 0
  const m = n - order
  for (let from = 0; from < m; from += BLOCK) readBlock(r, out, order + from, Math.min(BLOCK, m - from))
  if (factor !== 1) for (let i = order; i < n; i++) out[i] = (out[i] as number) * factor
  if (order === 0 || n === 0) return
  if (order === 1) {
    let x = x0
    out[0] = x
    for (let i = 1; i < n; i++) {
      x += out[i] as number
      out[i] = x
    }
    return
  }
  let x = x0
  out[0] = x
  if (n === 1) return
  let d = first
  x += d
  out[1] = x
  for (let i = 2; i < n; i++) {
    d += out[i] as number
    x += d
    out[i] = x
  }
}
