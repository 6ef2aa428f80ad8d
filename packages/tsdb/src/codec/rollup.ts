/**
 * A rollup blob: one series' buckets over one stretch of time (the engine
 * stores a window's 1-minute buckets in one), as seven columns encoded with
 * the chunk codec's sections: the bucket starts with the timestamp encodings
 * (contiguous minutes are Regular: a few bytes for the column), count, sum,
 * min, max, first and last with the value encodings (quantised readings keep
 * min/max/first/last as Decimal; counts of a steady device are Constant).
 *
 * Layout (version 1), byte-aligned so that a reader could skip columns:
 *   version        1 byte, 1
 *   count          2 bytes little-endian, 1..MAX_ROLLUP_BUCKETS
 *   7 sections     1 byte encoding, 2 bytes little-endian length, the bytes
 *
 * Values are kept bit for bit, as in chunks. The decoder trusts nothing
 * (bounds, exact section lengths, increasing starts): anything else is a
 * ChunkFormatError, like a damaged chunk.
 */
import { ChunkFormatError } from './errors.js'
import { decodeTimestamps, encodeTimestamps, MAX_TIMESTAMP } from './timestamps.js'
import { decodeValues, encodeValues } from './values.js'

export const ROLLUP_FORMAT_VERSION = 1

/** A day of minutes; keeps every section's length within 2 bytes (8 bytes a value at most, plus headers). */
export const MAX_ROLLUP_BUCKETS = 4096

/** Buckets as columns; bucket i is starts[i] with its count, sum, ... (all of one length). */
export interface RollupColumns {
  /** Bucket starts, ms, increasing. */
  starts: Float64Array
  count: Float64Array
  sum: Float64Array
  min: Float64Array
  max: Float64Array
  first: Float64Array
  last: Float64Array
}

const VALUE_COLUMNS = ['count', 'sum', 'min', 'max', 'first', 'last'] as const

export function encodeRollup(c: RollupColumns): Uint8Array {
  const n = c.starts.length
  if (n < 1 || n > MAX_ROLLUP_BUCKETS)
    throw new RangeError(`a rollup holds 1..${MAX_ROLLUP_BUCKETS} buckets (got ${n})`)
  let prev = Number.NEGATIVE_INFINITY
  for (let i = 0; i < n; i++) {
    const t = c.starts[i] as number
    if (!(t > prev && Number.isInteger(t) && Math.abs(t) <= MAX_TIMESTAMP)) {
      throw new RangeError(`bucket starts must be increasing integers within ±(2^51 - 1) (index ${i}: ${t})`)
    }
    prev = t
  }
  // Each encode reuses its writer's buffer: copy a section out before the next one.
  const sections: [number, Uint8Array][] = []
  const ts = encodeTimestamps(c.starts, n, 'auto')
  sections.push([ts.encoding, ts.bytes.slice()])
  for (const name of VALUE_COLUMNS) {
    const col = c[name]
    if (col.length !== n) throw new RangeError(`${n} bucket starts but ${col.length} ${name} values`)
    const s = encodeValues(col, n, 'auto')
    sections.push([s.encoding, s.bytes.slice()])
  }
  let size = 3
  for (const [, bytes] of sections) size += 3 + bytes.length
  const out = new Uint8Array(size)
  out[0] = ROLLUP_FORMAT_VERSION
  out[1] = n & 0xff
  out[2] = n >>> 8
  let pos = 3
  for (const [encoding, bytes] of sections) {
    out[pos] = encoding
    out[pos + 1] = bytes.length & 0xff
    out[pos + 2] = bytes.length >>> 8
    out.set(bytes, pos + 3)
    pos += 3 + bytes.length
  }
  return out
}

export type RollupColumn = (typeof VALUE_COLUMNS)[number]

const EMPTY = new Float64Array(0)

/**
 * Decodes a blob written by encodeRollup; throws ChunkFormatError if the
 * bytes are not one. With `only`, the other value columns are skipped (left
 * empty): a query for averages needs count and sum, not the other four.
 */
export function decodeRollup(bytes: Uint8Array, only?: readonly RollupColumn[]): RollupColumns {
  if (bytes.length < 3) throw new ChunkFormatError(`rollup of ${bytes.length} bytes is too short`)
  if (bytes[0] !== ROLLUP_FORMAT_VERSION) {
    throw new ChunkFormatError(
      `rollup format version ${bytes[0]} (this build reads ${ROLLUP_FORMAT_VERSION})`,
    )
  }
  const n = (bytes[1] as number) | ((bytes[2] as number) << 8)
  if (n < 1 || n > MAX_ROLLUP_BUCKETS) throw new ChunkFormatError(`rollup bucket count ${n} is out of range`)
  let pos = 3
  const section = (decode: (encoding: number, start: number, end: number) => Float64Array): Float64Array => {
    if (pos + 3 > bytes.length) throw new ChunkFormatError('rollup ends inside a section header')
    const encoding = bytes[pos] as number
    const len = (bytes[pos + 1] as number) | ((bytes[pos + 2] as number) << 8)
    const start = pos + 3
    pos = start + len
    if (pos > bytes.length) throw new ChunkFormatError('rollup ends inside a section')
    return decode(encoding, start, pos)
  }
  const starts = section((e, s, end) => decodeTimestamps(e, bytes, s, end, n))
  for (let i = 1; i < n; i++) {
    if ((starts[i] as number) <= (starts[i - 1] as number)) {
      throw new ChunkFormatError(`rollup bucket starts do not increase at ${i}`)
    }
  }
  const out: RollupColumns = {
    starts,
    count: EMPTY,
    sum: EMPTY,
    min: EMPTY,
    max: EMPTY,
    first: EMPTY,
    last: EMPTY,
  }
  for (const name of VALUE_COLUMNS) {
    const wanted = only === undefined || only.includes(name)
    out[name] = section((e, s, end) => (wanted ? decodeValues(e, bytes, s, end, n) : EMPTY))
  }
  if (pos !== bytes.length) throw new ChunkFormatError('rollup has trailing bytes')
  return out
}
