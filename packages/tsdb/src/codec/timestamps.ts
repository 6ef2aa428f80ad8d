/**
 * Timestamp encodings for one chunk: integer milliseconds, non-decreasing (the
 * caller sorts; duplicates are allowed), |t| < 2^51 so that every delta and
 * delta-of-delta, and its zigzag, stays below 2^53 (2^51 ms is about 71,000
 * years either side of 1970, so pre-1970 backfills are fine).
 *
 * Every encoding starts with the first timestamp as a full 64-bit two's
 * complement integer. 48 bits would save 2 bytes per chunk (0.0006 bytes/point
 * at 3,600 points) but would rule out negative timestamps; not worth a range
 * limit in a storage format.
 *
 * - Regular: every delta is equal (a device sampling on a timer, the common case).
 *   One varbits delta after the first timestamp: 0 bits per point.
 * - Gorilla: delta-of-delta in prefix-coded buckets, Pelkonen et al., "Gorilla: A
 *   Fast, Scalable, In-Memory Time Series Database", VLDB 2015, section 4.1.1.
 *   The paper's buckets (7/9/12/32 bits) are for seconds; ours are re-tuned for
 *   milliseconds at a 1 s interval: 8 bits hold the jitter of a device clock
 *   (±50 ms of jitter gives deltas of delta within ±200, 93% of them in -127..128),
 *   13 bits a missed sample or two, 24 bits gaps up to 2.3 h, then a 64-bit escape.
 *   Kept as the reference the benchmark compares against, and as a candidate.
 * - Packed: the deltas through the PFOR integer packer (intpack.ts), as levels
 *   or as deltas of deltas, whichever is smaller. Jitter costs its range in bits
 *   (8 bits for ±100 ms of delta) instead of Gorilla's prefix plus a wider
 *   delta-of-delta, and gaps become a block's exceptions.
 * - Grid: for a device that samples on a timer but is stamped on arrival. The
 *   interval D is estimated from the deltas (gridInterval); each timestamp is
 *   t0 + k·D + r with k the nearest grid index. The steps of k (1, or more across a gap) and the
 *   residuals r (the jitter itself, not the difference of two jitters) go
 *   through the integer packer: ±50 ms of jitter costs 7 bits, not 8.
 *
 * The encoder tries the candidates and keeps the smallest: Regular when it
 * applies (detected while computing deltas), else the smallest of Packed,
 * Gorilla and Grid.
 */
import { BitReader, BitWriter, TWO_32 } from './bits.js'
import { ChunkFormatError } from './errors.js'
import { readInts, writeInts } from './intpack.js'

/** Largest timestamp magnitude, in ms: 2^51 - 1. */
export const MAX_TIMESTAMP = 2 ** 51 - 1

export const TimestampEncoding = { Regular: 0, Gorilla: 1, Packed: 2, Grid: 3 } as const
export type TimestampEncoding = (typeof TimestampEncoding)[keyof typeof TimestampEncoding]

/** Which timestamp encoding the encoder uses: 'auto' (default) keeps the smallest that applies. */
export type TimestampMode = 'auto' | 'regular' | 'gorilla' | 'packed' | 'grid'

const writerA = new BitWriter()
const writerB = new BitWriter()
const writerC = new BitWriter()
let deltas = new Float64Array(4096)
let steps = new Float64Array(4096)
let residuals = new Float64Array(4096)

export interface EncodedSection {
  encoding: number
  /** A view of a reused buffer: copy it before the next encode call. */
  bytes: Uint8Array
}

function writeInt64(w: BitWriter, x: number): void {
  w.write(Math.floor(x / TWO_32), 32)
  w.write(x >>> 0, 32)
}

function readInt64(r: BitReader): number {
  const hi = r.read(32) | 0
  return hi * TWO_32 + r.read(32)
}

/** Encodes ts[0, n), n ≥ 1, already checked to be integers in range and non-decreasing. */
export function encodeTimestamps(ts: Float64Array, n: number, mode: TimestampMode): EncodedSection {
  if (deltas.length < n) deltas = new Float64Array(n)
  let regular = true
  const d0 = n > 1 ? (ts[1] as number) - (ts[0] as number) : 0
  for (let i = 1; i < n; i++) {
    const d = (ts[i] as number) - (ts[i - 1] as number)
    deltas[i - 1] = d
    if (d !== d0) regular = false
  }
  if (mode === 'regular' && !regular) throw new RangeError('timestamps are not regular: their deltas differ')
  if (regular && (mode === 'auto' || mode === 'regular')) {
    writerA.reset()
    writeInt64(writerA, ts[0] as number)
    if (n > 1) writerA.writeVarBits(d0)
    return { encoding: TimestampEncoding.Regular, bytes: writerA.finish() }
  }
  if (mode === 'gorilla') return { encoding: TimestampEncoding.Gorilla, bytes: writeGorilla(writerA, ts, n) }
  if (mode === 'grid') return { encoding: TimestampEncoding.Grid, bytes: writeGrid(writerA, ts, n) }
  const packed = writePacked(writerA, ts, n)
  if (mode === 'packed') return { encoding: TimestampEncoding.Packed, bytes: packed }
  let best: EncodedSection = { encoding: TimestampEncoding.Packed, bytes: packed }
  const gorilla = writeGorilla(writerB, ts, n)
  if (gorilla.length < best.bytes.length) best = { encoding: TimestampEncoding.Gorilla, bytes: gorilla }
  const grid = writeGrid(writerC, ts, n)
  if (grid.length < best.bytes.length) best = { encoding: TimestampEncoding.Grid, bytes: grid }
  return best
}

/**
 * The grid interval: the mean of the deltas that look like one step (within half
 * the median delta of it), rounded to a millisecond. The median alone is not
 * enough: one millisecond off, residuals drift a second an hour and wrap; the
 * mean of single steps telescopes the jitter away (their sum is last minus first).
 */
function gridInterval(n: number): number {
  const m = n - 1
  if (m === 0) return 1
  const k = Math.min(m, 255)
  const sample = new Float64Array(k)
  for (let j = 0; j < k; j++) sample[j] = deltas[Math.floor((j * m) / k)] as number
  sample.sort()
  const median = sample[k >> 1] as number
  let sum = 0
  let count = 0
  for (let i = 0; i < m; i++) {
    const d = deltas[i] as number
    if (d >= median / 2 && d <= median * 1.5) {
      sum += d
      count++
    }
  }
  return Math.max(1, Math.round(count > 0 ? sum / count : median))
}

function writeGrid(w: BitWriter, ts: Float64Array, n: number): Uint8Array {
  if (steps.length < n) {
    steps = new Float64Array(n)
    residuals = new Float64Array(n)
  }
  const t0 = ts[0] as number
  const d = gridInterval(n)
  let k = 0
  for (let i = 1; i < n; i++) {
    const offset = (ts[i] as number) - t0
    const ki = Math.round(offset / d)
    steps[i - 1] = ki - k
    residuals[i - 1] = offset - ki * d
    k = ki
  }
  w.reset()
  writeInt64(w, t0)
  w.writeVarBits(d)
  writeInts(w, steps, n - 1, 0)
  writeInts(w, residuals, n - 1, 1)
  return w.finish()
}

function readGrid(r: BitReader, out: Float64Array, n: number): void {
  const d = r.readVarBits()
  readInts(r, out, n - 1)
  if (steps.length < n) {
    steps = new Float64Array(n)
    residuals = new Float64Array(n)
  }
  readInts(r, residuals, n - 1)
  // Steps move to out[1, n); then each out[i] becomes the delta between grid positions plus residuals.
  out.copyWithin(1, 0, n - 1)
  let k = 0
  let prev = 0
  for (let i = 1; i < n; i++) {
    k += out[i] as number
    const offset = k * d + (residuals[i - 1] as number)
    out[i] = offset - prev
    prev = offset
  }
}

function writePacked(w: BitWriter, ts: Float64Array, n: number): Uint8Array {
  w.reset()
  writeInt64(w, ts[0] as number)
  writeInts(w, deltas, n - 1, 1)
  return w.finish()
}

function writeGorilla(w: BitWriter, ts: Float64Array, n: number): Uint8Array {
  w.reset()
  writeInt64(w, ts[0] as number)
  let prev = 0
  for (let i = 0; i < n - 1; i++) {
    const d = deltas[i] as number
    const dod = d - prev
    prev = d
    if (dod === 0) w.write(0, 1)
    else if (dod >= -127 && dod <= 128) {
      w.write(0b10, 2)
      w.write(dod + 127, 8)
    } else if (dod >= -4095 && dod <= 4096) {
      w.write(0b110, 3)
      w.write(dod + 4095, 13)
    } else if (dod >= -8388607 && dod <= 8388608) {
      w.write(0b1110, 4)
      w.write(dod + 8388607, 24)
    } else {
      w.write(0b1111, 4)
      writeInt64(w, dod)
    }
  }
  return w.finish()
}

function readGorilla(r: BitReader, out: Float64Array, n: number): void {
  let d = 0
  for (let i = 1; i < n; i++) {
    // The prefix is up to four bits: the count of leading ones picks the bucket.
    let ones = 0
    while (ones < 4 && r.read(1) === 1) ones++
    let dod: number
    switch (ones) {
      case 0:
        dod = 0
        break
      case 1:
        dod = r.read(8) - 127
        break
      case 2:
        dod = r.read(13) - 4095
        break
      case 3:
        dod = r.read(24) - 8388607
        break
      default:
        dod = readInt64(r)
    }
    d += dod
    out[i] = d // deltas for now; checked and summed by the caller
  }
}

/** Decodes n ≥ 1 timestamps from bytes[start, end); checks they are in range and non-decreasing. */
export function decodeTimestamps(
  encoding: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  n: number,
): Float64Array {
  const r = new BitReader(bytes, start, end)
  const out = new Float64Array(n)
  const t0 = readInt64(r)
  if (encoding === TimestampEncoding.Regular) {
    const d = n > 1 ? r.readVarBits() : 0
    for (let i = 1; i < n; i++) out[i] = d
  } else if (encoding === TimestampEncoding.Gorilla) readGorilla(r, out, n)
  else if (encoding === TimestampEncoding.Packed) {
    // readInts fills out[0, n-1) with the deltas; shift them to out[1, n).
    readInts(r, out, n - 1)
    out.copyWithin(1, 0, n - 1)
  } else if (encoding === TimestampEncoding.Grid) readGrid(r, out, n)
  else throw new ChunkFormatError(`unknown timestamp encoding ${encoding}`)
  r.end('timestamp section')
  let t = t0
  out[0] = t
  for (let i = 1; i < n; i++) {
    const d = out[i] as number
    if (!(d >= 0)) throw new ChunkFormatError(`timestamps decrease at point ${i} (corrupt chunk)`)
    t += d
    out[i] = t
  }
  if (Math.abs(t0) > MAX_TIMESTAMP || Math.abs(t) > MAX_TIMESTAMP) {
    throw new ChunkFormatError('timestamp out of range (corrupt chunk)')
  }
  return out
}
