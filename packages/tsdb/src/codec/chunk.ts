/**
 * A chunk: the compressed points of one series over a stretch of time.
 *
 * Layout (version 1), byte-aligned sections so that a query can decode the
 * timestamps alone and skip the values:
 *   version        1 byte, 1
 *   count          LEB128, 0..MAX_CHUNK_POINTS
 *   if count > 0:
 *     ts encoding  1 byte (timestamps.ts: 0 regular, 1 gorilla, 2 packed, 3 grid)
 *     ts length    LEB128, bytes of the timestamp section
 *     ts section   bits, zero-padded to a byte
 *     value enc.   1 byte (values.ts: 0 constant, 1 decimal, 2 xor, 3 raw, 4 split)
 *     value sect.  bits, zero-padded, to the end of the chunk
 *
 * The decoder trusts nothing: the count is capped, every read is bounds-checked,
 * each section must be consumed exactly, timestamps must come out non-decreasing
 * and in range. Anything else is a ChunkFormatError; the largest allocation is
 * two arrays of MAX_CHUNK_POINTS doubles (1 MiB). There is no checksum here: the
 * storage layer checksums the pages chunks live in.
 */
import { ChunkFormatError } from './errors.js'
import { decodeTimestamps, encodeTimestamps, MAX_TIMESTAMP, type TimestampMode } from './timestamps.js'
import { decodeValues, encodeValues, type ValueMode } from './values.js'

export const CHUNK_FORMAT_VERSION = 1

/**
 * At most this many points per chunk: 18 h at 1 Hz, 11 min at 100 Hz. Bounds the
 * decoder's allocation, and a query's decode work per chunk; the engine cuts
 * chunks by time or by count, whichever comes first.
 */
export const MAX_CHUNK_POINTS = 65_536

export interface EncodeChunkOptions {
  /** Timestamp encoding. Default 'auto': the smallest that applies. */
  timestamps?: TimestampMode
  /** Value encoding. Default 'auto': the smallest of those tried. */
  values?: ValueMode
}

export interface DecodedChunk {
  /** Milliseconds, non-decreasing. */
  timestamps: Float64Array
  /** Bit for bit the values that were encoded. */
  values: Float64Array
}

let tsScratch = new Float64Array(4096)
let valueScratch = new Float64Array(4096)

function varintLength(x: number): number {
  let len = 1
  while (x >= 128) {
    x = Math.floor(x / 128)
    len++
  }
  return len
}

function writeVarint(out: Uint8Array, pos: number, x: number): number {
  while (x >= 128) {
    out[pos++] = (x & 127) | 128
    x = Math.floor(x / 128)
  }
  out[pos++] = x
  return pos
}

/** Reads a LEB128 integer of at most 4 bytes at bytes[at.pos], advancing it, and checks it is ≤ max. */
function readVarint(bytes: Uint8Array, at: { pos: number }, max: number, what: string): number {
  let x = 0
  for (let i = 0; i < 4; i++) {
    if (at.pos >= bytes.length) throw new ChunkFormatError(`chunk ends inside its ${what}`)
    const b = bytes[at.pos++] as number
    x += (b & 127) * 2 ** (7 * i)
    if (b < 128) {
      if (x > max) throw new ChunkFormatError(`chunk ${what} ${x} exceeds ${max}`)
      return x
    }
  }
  throw new ChunkFormatError(`chunk ${what} is longer than 4 bytes`)
}

/** Checks timestamps and copies them into the scratch array. */
function checkedTimestamps(timestamps: ArrayLike<number>, n: number): Float64Array {
  if (tsScratch.length < n) tsScratch = new Float64Array(n)
  const ts = tsScratch
  let prev = Number.NEGATIVE_INFINITY
  for (let i = 0; i < n; i++) {
    const t = timestamps[i] as number
    if (!(t >= prev && Number.isInteger(t) && Math.abs(t) <= MAX_TIMESTAMP)) {
      throw new RangeError(
        t < prev
          ? `timestamps must be non-decreasing: ${t} after ${prev} at index ${i}`
          : `timestamp ${t} at index ${i} is not an integer within ±(2^51 - 1) ms`,
      )
    }
    ts[i] = t
    prev = t
  }
  return ts
}

/**
 * Encodes one series' points. Timestamps are integer milliseconds within ±(2^51 - 1),
 * non-decreasing (duplicates allowed); values are any doubles, kept bit for bit
 * (pass a Float64Array to keep NaN payloads: a number[] may already have lost them).
 */
export function encodeChunk(
  timestamps: ArrayLike<number>,
  values: ArrayLike<number>,
  options: EncodeChunkOptions = {},
): Uint8Array {
  const n = timestamps.length
  if (values.length !== n) throw new RangeError(`${n} timestamps but ${values.length} values`)
  if (n > MAX_CHUNK_POINTS) throw new RangeError(`${n} points: a chunk holds at most ${MAX_CHUNK_POINTS}`)
  if (n === 0) return Uint8Array.of(CHUNK_FORMAT_VERSION, 0)
  const ts = encodeTimestamps(checkedTimestamps(timestamps, n), n, options.timestamps ?? 'auto')
  let f: Float64Array
  if (values instanceof Float64Array) f = values
  else {
    if (valueScratch.length < n) valueScratch = new Float64Array(n)
    f = valueScratch
    for (let i = 0; i < n; i++) f[i] = values[i] as number
  }
  const vs = encodeValues(f, n, options.values ?? 'auto')
  const tsLen = ts.bytes.length
  const out = new Uint8Array(1 + varintLength(n) + 1 + varintLength(tsLen) + tsLen + 1 + vs.bytes.length)
  out[0] = CHUNK_FORMAT_VERSION
  let pos = writeVarint(out, 1, n)
  out[pos++] = ts.encoding
  pos = writeVarint(out, pos, tsLen)
  out.set(ts.bytes, pos)
  pos += tsLen
  out[pos++] = vs.encoding
  out.set(vs.bytes, pos)
  return out
}

export interface ChunkInfo {
  version: number
  count: number
  /** TimestampEncoding, -1 for an empty chunk. */
  timestampEncoding: number
  /** Bytes of the header and the timestamp section. */
  timestampBytes: number
  /** ValueEncoding, -1 for an empty chunk. */
  valueEncoding: number
  /** Bytes of the value encoding byte and the value section. */
  valueBytes: number
}

/** Reads a chunk's header without decoding its points (statistics, and the benchmark's accounting). */
export function chunkInfo(bytes: Uint8Array): ChunkInfo {
  const h = readHeader(bytes)
  if (h.count === 0) {
    return {
      version: CHUNK_FORMAT_VERSION,
      count: 0,
      timestampEncoding: -1,
      timestampBytes: bytes.length,
      valueEncoding: -1,
      valueBytes: 0,
    }
  }
  return {
    version: CHUNK_FORMAT_VERSION,
    count: h.count,
    timestampEncoding: h.tsEncoding,
    timestampBytes: h.tsEnd,
    valueEncoding: bytes[h.tsEnd] as number,
    valueBytes: bytes.length - h.tsEnd,
  }
}

interface Header {
  count: number
  tsEncoding: number
  tsStart: number
  tsEnd: number
}

function readHeader(bytes: Uint8Array): Header {
  if (bytes.length < 2) throw new ChunkFormatError(`chunk of ${bytes.length} bytes is too short`)
  const version = bytes[0] as number
  if (version !== CHUNK_FORMAT_VERSION) {
    throw new ChunkFormatError(`chunk format version ${version} (this build reads ${CHUNK_FORMAT_VERSION})`)
  }
  const at = { pos: 1 }
  const count = readVarint(bytes, at, MAX_CHUNK_POINTS, 'point count')
  if (count === 0) {
    if (at.pos !== bytes.length) throw new ChunkFormatError('empty chunk with trailing bytes')
    return { count, tsEncoding: -1, tsStart: at.pos, tsEnd: at.pos }
  }
  if (at.pos >= bytes.length) throw new ChunkFormatError('chunk ends before its timestamp section')
  const tsEncoding = bytes[at.pos++] as number
  const tsLen = readVarint(bytes, at, bytes.length, 'timestamp section length')
  const tsStart = at.pos
  if (tsStart + tsLen >= bytes.length) throw new ChunkFormatError('chunk ends before its value section')
  return { count, tsEncoding, tsStart, tsEnd: tsStart + tsLen }
}

/** Decodes a chunk written by encodeChunk; throws ChunkFormatError if the bytes are not one. */
export function decodeChunk(bytes: Uint8Array): DecodedChunk {
  const h = readHeader(bytes)
  if (h.count === 0) return { timestamps: new Float64Array(0), values: new Float64Array(0) }
  const timestamps = decodeTimestamps(h.tsEncoding, bytes, h.tsStart, h.tsEnd, h.count)
  const values = decodeValues(bytes[h.tsEnd] as number, bytes, h.tsEnd + 1, bytes.length, h.count)
  return { timestamps, values }
}
