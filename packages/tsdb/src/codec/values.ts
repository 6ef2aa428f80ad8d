/**
 * Value encodings for one chunk, chosen per chunk by trying them:
 *
 * - Constant: every value has the same bit pattern (a status that did not
 *   change, a configuration readback). One raw value for the chunk.
 * - Decimal: every value (but a few exceptions) is m / 10^k; integers are k = 0
 *   (decimal.ts). Quantised temperature, humidity, counters, small integers.
 * - Xor: Gorilla's XOR (gorilla-xor.ts), for full-precision floats.
 * - Split: the high and low 32-bit halves of each double as two integer
 *   sequences through the PFOR packer (intpack.ts). On noisy full-precision
 *   data XOR pays control bits and every bit below the first one that differs;
 *   Split pays the block's range of the high half (sign, exponent and top 20
 *   mantissa bits rarely span much within 128 values) plus 32 bits for the low
 *   half: 6.7 against 7.2 bytes/point on the benchmark's vibration series. The
 *   low half shrinks to its common factor for values that came from float32.
 *   In the spirit of ALP-RD (Afroozeh and Boncz, SIGMOD 2024), which splits a
 *   double into a dictionary-coded front and a bit-packed back.
 * - Raw: 64 bits per value, when both Xor and Split would be larger (random bits).
 *
 * Choice: Constant if it applies (one pass of comparisons). Else Decimal when at
 * most a quarter of the values are exceptions; if it had exceptions, or came out
 * above 32 bits per value, the float encodings are tried too and the smallest
 * kept. Else the smaller of Xor and Split, or Raw. A general-purpose compressor
 * over the result (node:zlib deflate and brotli) was measured in
 * bench/codec.bench.ts and did not pay: see the benchmark's last columns.
 *
 * Constant, Xor and Raw move bit patterns; Split's integer arithmetic on the
 * halves is exact; Decimal's division is checked bit for bit at encode time.
 */
import { BitReader, BitWriter } from './bits.js'
import { planDecimal, readDecimal, writeDecimal } from './decimal.js'
import { ChunkFormatError } from './errors.js'
import { HI, halves, LO } from './float-bits.js'
import { readXor, writeXor } from './gorilla-xor.js'
import { readInts, writeInts } from './intpack.js'
import type { EncodedSection } from './timestamps.js'

export const ValueEncoding = { Constant: 0, Decimal: 1, Xor: 2, Raw: 3, Split: 4 } as const
export type ValueEncoding = (typeof ValueEncoding)[keyof typeof ValueEncoding]

/** Which value encoding the encoder uses: 'auto' (default) keeps the smallest it tried. */
export type ValueMode = 'auto' | 'constant' | 'decimal' | 'xor' | 'split' | 'raw'

/** Decimal is tried when at most this share of values would be stored raw as exceptions. */
const MAX_EXCEPTION_SHARE = 0.25
/** Above this size per value, Decimal is compared with the float encodings. */
const DECIMAL_DOUBT_BITS = 32

const writerA = new BitWriter()
const writerB = new BitWriter()
const writerC = new BitWriter()

function isConstant(u: Uint32Array, n: number): boolean {
  const h = u[HI] as number
  const l = u[LO] as number
  for (let i = 1; i < n; i++) if (u[2 * i + HI] !== h || u[2 * i + LO] !== l) return false
  return true
}

function constant(w: BitWriter, u: Uint32Array): EncodedSection {
  w.reset()
  w.write(u[HI] as number, 32)
  w.write(u[LO] as number, 32)
  return { encoding: ValueEncoding.Constant, bytes: w.finish() }
}

function raw(w: BitWriter, u: Uint32Array, n: number): EncodedSection {
  w.reset()
  for (let i = 0; i < n; i++) {
    w.write(u[2 * i + HI] as number, 32)
    w.write(u[2 * i + LO] as number, 32)
  }
  return { encoding: ValueEncoding.Raw, bytes: w.finish() }
}

function xor(w: BitWriter, u: Uint32Array, n: number): EncodedSection {
  w.reset()
  writeXor(w, u, n)
  return { encoding: ValueEncoding.Xor, bytes: w.finish() }
}

let hiHalves = new Float64Array(4096)
let loHalves = new Float64Array(4096)

function split(w: BitWriter, u: Uint32Array, n: number): EncodedSection {
  if (hiHalves.length < n) {
    hiHalves = new Float64Array(n)
    loHalves = new Float64Array(n)
  }
  for (let i = 0; i < n; i++) {
    hiHalves[i] = u[2 * i + HI] as number
    loHalves[i] = u[2 * i + LO] as number
  }
  w.reset()
  writeInts(w, hiHalves, n, 2)
  writeInts(w, loHalves, n, 2)
  return { encoding: ValueEncoding.Split, bytes: w.finish() }
}

/** The encodings for values that are not decimals: the smaller of Xor and Split, or Raw if both are larger. */
function floats(u: Uint32Array, n: number, mode: ValueMode): EncodedSection {
  if (mode === 'raw') return raw(writerB, u, n)
  if (mode === 'xor') return xor(writerB, u, n)
  if (mode === 'split') return split(writerC, u, n)
  // Both, always: Xor costs a fifth of Split's time, and choosing on a prefix measured no faster.
  const a = xor(writerB, u, n)
  const b = split(writerC, u, n)
  const best = b.bytes.length < a.bytes.length ? b : a
  return best.bytes.length > 8 * n ? raw(writerB, u, n) : best
}

/** Encodes f[0, n), n ≥ 1. */
export function encodeValues(f: Float64Array, n: number, mode: ValueMode): EncodedSection {
  const u = halves(f)
  if (mode === 'constant' || mode === 'auto') {
    if (isConstant(u, n)) return constant(writerA, u)
    if (mode === 'constant') throw new RangeError('values are not all the same bit pattern')
  }
  if (mode !== 'auto' && mode !== 'decimal') return floats(u, n, mode)
  const plan = planDecimal(f, n, mode === 'decimal' ? 1 : MAX_EXCEPTION_SHARE)
  if (plan === null) return floats(u, n, mode)
  writerA.reset()
  writeDecimal(writerA, f, u, n, plan.k)
  const decimal: EncodedSection = { encoding: ValueEncoding.Decimal, bytes: writerA.finish() }
  if (mode === 'decimal' || (plan.exceptions === 0 && writerA.bitLength <= DECIMAL_DOUBT_BITS * n))
    return decimal
  const other = floats(u, n, mode)
  return other.bytes.length < decimal.bytes.length ? other : decimal
}

/** Decodes n ≥ 1 values from bytes[start, end). */
export function decodeValues(
  encoding: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  n: number,
): Float64Array {
  const r = new BitReader(bytes, start, end)
  const out = new Float64Array(n)
  const u = halves(out)
  switch (encoding) {
    case ValueEncoding.Constant: {
      const h = r.read(32)
      const l = r.read(32)
      for (let i = 0; i < n; i++) {
        u[2 * i + HI] = h
        u[2 * i + LO] = l
      }
      break
    }
    case ValueEncoding.Decimal:
      readDecimal(r, out, u, n)
      break
    case ValueEncoding.Xor:
      readXor(r, u, n)
      break
    case ValueEncoding.Split: {
      if (hiHalves.length < n) {
        hiHalves = new Float64Array(n)
        loHalves = new Float64Array(n)
      }
      readInts(r, hiHalves, n)
      readInts(r, loHalves, n)
      for (let i = 0; i < n; i++) {
        u[2 * i + HI] = hiHalves[i] as number
        u[2 * i + LO] = loHalves[i] as number
      }
      break
    }
    case ValueEncoding.Raw:
      for (let i = 0; i < n; i++) {
        u[2 * i + HI] = r.read(32)
        u[2 * i + LO] = r.read(32)
      }
      break
    default:
      throw new ChunkFormatError(`unknown value encoding ${encoding}`)
  }
  r.end('value section')
  return out
}
