import { crc32 } from 'node:zlib'

/**
 * What the log holds: batches of points, and series definitions (so that the
 * log alone rebuilds the engine's series dictionary).
 *
 * Frames. A flush writes one buffer of frames; a frame is closed once its body
 * passes FRAME_TARGET, so replay needs one frame in memory at a time.
 *
 *   frame = magic u32 | crc32 u32 | length u32 | back u32 | body (length bytes)
 *
 * All little-endian. The CRC (zlib's CRC-32, native in node:zlib) covers
 * length, back and body. `back` is the frame's distance from the start of its
 * flush: a valid frame found after a bad byte belongs to a later flush when
 * `offset - back > bad`, which tells corruption from a torn tail (see
 * frame-reader.ts). The magic lets that search use indexOf instead of a CRC
 * at every byte.
 *
 * Records, concatenated in a frame body:
 *
 *   points = 0x01 | count varint | count × (series varint | ts-delta zigzag varint | value f64 LE)
 *   series = 0x02 | id varint | key length varint | key UTF-8
 *   series with a retention class
 *          = 0x03 | id varint | key length varint | key UTF-8 | class length varint | class UTF-8
 *
 * A series of the 'default' retention class is written as 0x02, as before
 * classes: a log that names no other class is one an older build replays. A
 * series record of type 0x02 read back is a 'default' series.
 *
 * Varints are LEB128. A point's timestamp is stored as the difference from
 * the previous point's (the first from 0), zigzag-encoded, so a batch of
 * nearby timestamps costs 1-2 bytes a point. Values are the 8 raw bytes of the
 * float64: bit-exact (NaN payloads, -0), and no CPU spent on compression that
 * the chunk codec does later anyway. Typically 11-12 bytes a point.
 */
export interface WalPoint {
  /** Numeric series id (unsigned 32-bit). */
  readonly series: number
  /** Milliseconds since the epoch, an integer within ±2^51. */
  readonly ts: number
  /** Any float64, stored bit-exact. */
  readonly value: number
}

export type WalRecord =
  | { readonly type: 'points'; readonly points: readonly WalPoint[] }
  | {
      readonly type: 'series'
      readonly id: number
      readonly key: string
      /** Absent or 'default': the 'default' class (written as before classes). */
      readonly retentionClass?: string | undefined
    }

/** A record read back, with its position (what append() returned for it). */
export type ReplayedRecord =
  | { type: 'points'; points: WalPoint[]; position: number }
  | { type: 'series'; id: number; key: string; retentionClass: string; position: number }

export const FRAME_HEADER = 16
export const FRAME_MAGIC = 0xb7a1e5c3
/** A frame is closed once its body reaches this size. */
export const FRAME_TARGET = 1024 * 1024
/** Larger than any frame the writer makes (FRAME_TARGET plus one record of MAX_POINTS). */
export const MAX_FRAME_BODY = 512 * 1024 * 1024
/** Points in one record: keeps a record (and so a frame) under MAX_FRAME_BODY. */
export const MAX_POINTS = 16 * 1024 * 1024
export const MAX_TS = 2 ** 51

const POINTS = 1
const SERIES = 2
const CLASSED_SERIES = 3
const DEFAULT_CLASS = 'default'
/** The host's byte order: decodeFrameColumns copies a value's bytes as they are on a little-endian one. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
/** Worst case of one encoded point: two 8-byte varints and the value. */
const MAX_POINT_BYTES = 24

/**
 * Records are encoded straight into one growing buffer of frames, which a
 * flush hands to one write. Offsets in it are what the Wal adds to the log
 * position where the buffer will land.
 */
export class FrameBuffer {
  private buf: Buffer
  private len = 0
  /** Offset of the open frame's header, or -1. */
  private frame = -1
  records = 0
  points = 0

  constructor(private readonly initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize)
  }

  /** Bytes in the buffer, counting the open frame's header. */
  get length(): number {
    return this.len
  }

  /** Encodes a record; returns its offset in the buffer. Throws RangeError on a bad field, appending nothing. */
  append(record: WalRecord): number {
    return record.type === 'points'
      ? this.appendPoints(record.points)
      : this.appendSeries(record.id, record.key, record.retentionClass ?? DEFAULT_CLASS)
  }

  /** Closes the open frame and hands over the bytes; the next record goes into a new buffer. */
  take(): Buffer {
    this.closeFrame()
    const out = this.buf.subarray(0, this.len)
    this.buf = Buffer.allocUnsafe(Math.max(this.initialSize, Math.min(this.len, 16 * 1024 * 1024)))
    this.len = 0
    this.records = 0
    this.points = 0
    return out
  }

  private appendPoints(points: readonly WalPoint[]): number {
    const n = points.length
    if (!(n <= MAX_POINTS)) throw new RangeError(`a record holds at most ${MAX_POINTS} points, not ${n}`)
    const opened = this.begin(6 + n * MAX_POINT_BYTES)
    const at = this.len
    const buf = this.buf
    buf[at] = POINTS
    let p = putVarint(buf, at + 1, n)
    let prev = 0
    for (let i = 0; i < n; i++) {
      const { series, ts, value } = points[i] as WalPoint
      if (series >>> 0 !== series || !Number.isInteger(ts) || ts > MAX_TS || ts < -MAX_TS) {
        this.rollback(at, opened)
        throw new RangeError(
          `point ${i}: series must be an unsigned 32-bit integer and ts an integer within ±2^51 ` +
            `(got series ${String(series)}, ts ${String(ts)})`,
        )
      }
      if (typeof value !== 'number') {
        this.rollback(at, opened)
        throw new RangeError(`point ${i}: value must be a number (got ${typeof value})`)
      }
      p = putVarint(buf, p, series)
      const d = ts - prev
      prev = ts
      p = putVarint(buf, p, d >= 0 ? d * 2 : -d * 2 - 1)
      p = buf.writeDoubleLE(value, p)
    }
    this.points += n
    return this.end(at, p)
  }

  private appendSeries(id: number, key: string, cls: string): number {
    if (id >>> 0 !== id) throw new RangeError(`series id must be an unsigned 32-bit integer (got ${id})`)
    if (typeof key !== 'string') throw new RangeError('series key must be a string')
    if (typeof cls !== 'string') throw new RangeError('retention class must be a string')
    const classed = cls !== DEFAULT_CLASS
    const bytes = Buffer.byteLength(key)
    const classBytes = classed ? Buffer.byteLength(cls) : 0
    this.begin(16 + bytes + classBytes)
    const at = this.len
    this.buf[at] = classed ? CLASSED_SERIES : SERIES
    let p = putVarint(this.buf, at + 1, id)
    p = putVarint(this.buf, p, bytes)
    p += this.buf.write(key, p, 'utf8')
    if (classed) {
      p = putVarint(this.buf, p, classBytes)
      p += this.buf.write(cls, p, 'utf8')
    }
    return this.end(at, p)
  }

  /** Makes room for a record of up to `bytes`, opening a frame if none is; returns whether it opened one. */
  private begin(bytes: number): boolean {
    const opened = this.frame === -1
    const need = (opened ? FRAME_HEADER : 0) + bytes
    if (this.len + need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + need))
      this.buf.copy(next, 0, 0, this.len)
      this.buf = next
    }
    if (opened) {
      this.frame = this.len
      this.len += FRAME_HEADER
    }
    return opened
  }

  private end(at: number, p: number): number {
    this.len = p
    this.records++
    if (p - this.frame - FRAME_HEADER >= FRAME_TARGET) this.closeFrame()
    return at
  }

  private rollback(at: number, opened: boolean): void {
    if (opened) {
      this.len = this.frame
      this.frame = -1
    } else {
      this.len = at
    }
  }

  private closeFrame(): void {
    const f = this.frame
    if (f === -1) return
    const buf = this.buf
    buf.writeUInt32LE(FRAME_MAGIC, f)
    buf.writeUInt32LE(this.len - f - FRAME_HEADER, f + 8)
    // The buffer is one flush, so a frame's offset in it is its distance from the flush's start.
    buf.writeUInt32LE(f, f + 12)
    buf.writeUInt32LE(crc32(buf.subarray(f + 8, this.len)), f + 4)
    this.frame = -1
  }
}

/** LEB128; exact up to 2^53 (the low 7 bits of a number survive ToInt32). */
function putVarint(buf: Buffer, p: number, v: number): number {
  while (v >= 0x80) {
    buf[p++] = (v & 0x7f) | 0x80
    v = v < 0x80000000 ? v >>> 7 : Math.floor(v / 128)
  }
  buf[p] = v
  return p + 1
}

/** A record body that passed its CRC but does not parse: a bug, or corruption the CRC missed. */
export class RecordFormatError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Decodes a frame body. `position` is the log position of the body's first
 * byte; records before `from` are parsed (to find the next) but not returned.
 * One parser serves both read paths: this is decodeFrameColumns() with each
 * point copied out into an object (for callers that keep records).
 */
export function decodeFrame(body: Buffer, position: number, from: number, out: ReplayedRecord[]): void {
  const records: ColumnRecord[] = []
  decodeFrameColumns(body, position, from, new PointColumns(), records)
  for (const r of records) {
    if (r.type === 'series') {
      out.push(r)
      continue
    }
    const { cols, start, end } = r
    const points: WalPoint[] = new Array(end - start)
    for (let i = start; i < end; i++) {
      points[i - start] = {
        series: cols.series[i] as number,
        ts: cols.ts[i] as number,
        value: cols.values[i] as number,
      }
    }
    out.push({ type: 'points', points, position: r.position })
  }
}

/**
 * The points of one frame, decoded into columns (no object per point): a
 * record's points are [start, end) of them. Reused from frame to frame.
 */
export class PointColumns {
  /** Series ids (the writer takes u32 ids only: decodeFrameColumns refuses others as malformed). */
  series = new Uint32Array(0)
  ts = new Float64Array(0)
  values = new Float64Array(0)

  /** Room for `n` points (contents are not kept). */
  reserve(n: number): void {
    if (n <= this.ts.length) return
    const size = Math.max(n, this.ts.length * 2)
    this.series = new Uint32Array(size)
    this.ts = new Float64Array(size)
    this.values = new Float64Array(size)
  }
}

/** A record read back by replayColumns(): a points record's points are cols[start, end), valid until the next frame. */
export type ColumnRecord =
  | { type: 'points'; cols: PointColumns; start: number; end: number; position: number }
  | { type: 'series'; id: number; key: string; retentionClass: string; position: number }

/**
 * The frame parser: its records, with the points of its points records
 * written into `cols` (replacing what it held), no object per point; a
 * RecordFormatError for bytes that do not parse. decodeFrame() is built on it.
 */
export function decodeFrameColumns(
  body: Buffer,
  position: number,
  from: number,
  cols: PointColumns,
  out: ColumnRecord[],
): void {
  // A point takes at least 10 bytes: the frame holds at most this many.
  cols.reserve(Math.ceil(body.length / 10))
  const { series, ts: tss } = cols
  // Values are copied as their 8 bytes: bit-exact whatever the float (NaN payloads).
  const valueBytes = new Uint8Array(cols.values.buffer, cols.values.byteOffset, cols.values.byteLength)
  const len = body.length
  const r = new Reader(body)
  let k = 0
  while (r.pos < len) {
    const at = r.pos
    const type = body[r.pos++]
    if (type === POINTS) {
      const n = r.varint()
      if (n * 10 > len - r.pos) throw new RecordFormatError(at, `points record of ${n} points cut short`)
      const start = k
      let ts = 0
      let p = r.pos
      for (let i = 0; i < n; i++) {
        // Two varints, inline (as Reader.varint(), the same errors at the same offsets).
        let id = 0
        let scale = 1
        for (let j = 0; ; j++) {
          if (j === 8) throw new RecordFormatError(p, 'varint longer than 8 bytes')
          if (p >= len) throw new RecordFormatError(p, 'varint cut short')
          const b = body[p++] as number
          id += (b & 0x7f) * scale
          if (b < 0x80) break
          scale *= 128
        }
        let z = 0
        scale = 1
        for (let j = 0; ; j++) {
          if (j === 8) throw new RecordFormatError(p, 'varint longer than 8 bytes')
          if (p >= len) throw new RecordFormatError(p, 'varint cut short')
          const b = body[p++] as number
          z += (b & 0x7f) * scale
          if (b < 0x80) break
          scale *= 128
        }
        ts += z % 2 === 0 ? z / 2 : -(z + 1) / 2
        if (p + 8 > len) throw new RecordFormatError(at, 'points record cut short')
        if (id > 0xffffffff)
          throw new RecordFormatError(at, `series id ${id} is not an unsigned 32-bit integer`)
        series[k] = id
        tss[k] = ts
        const o = k * 8
        if (!LITTLE_ENDIAN) {
          cols.values[k] = body.readDoubleLE(p)
          k++
          p += 8
          continue
        }
        valueBytes[o] = body[p] as number
        valueBytes[o + 1] = body[p + 1] as number
        valueBytes[o + 2] = body[p + 2] as number
        valueBytes[o + 3] = body[p + 3] as number
        valueBytes[o + 4] = body[p + 4] as number
        valueBytes[o + 5] = body[p + 5] as number
        valueBytes[o + 6] = body[p + 6] as number
        valueBytes[o + 7] = body[p + 7] as number
        k++
        p += 8
      }
      r.pos = p
      if (position + at >= from) out.push({ type: 'points', cols, start, end: k, position: position + at })
    } else if (type === SERIES || type === CLASSED_SERIES) {
      const id = r.varint()
      const key = r.text(at)
      const retentionClass = type === CLASSED_SERIES ? r.text(at) : DEFAULT_CLASS
      if (position + at >= from)
        out.push({ type: 'series', id, key, retentionClass, position: position + at })
    } else {
      throw new RecordFormatError(at, `unknown record type ${String(type)}`)
    }
  }
}

class Reader {
  pos = 0
  constructor(private readonly buf: Buffer) {}

  /** A length-prefixed UTF-8 string of the record at `at`. */
  text(at: number): string {
    const n = this.varint()
    if (this.pos + n > this.buf.length) throw new RecordFormatError(at, 'series record cut short')
    const s = this.buf.toString('utf8', this.pos, this.pos + n)
    this.pos += n
    return s
  }

  varint(): number {
    let v = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const b = this.buf[this.pos++]
      if (b === undefined) throw new RecordFormatError(this.pos - 1, 'varint cut short')
      v += (b & 0x7f) * scale
      if (b < 0x80) return v
      scale *= 128
    }
    throw new RecordFormatError(this.pos, 'varint longer than 8 bytes')
  }
}
