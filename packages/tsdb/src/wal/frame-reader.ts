import { crc32 } from 'node:zlib'
import { FRAME_HEADER, FRAME_MAGIC, MAX_FRAME_BODY } from './record-codec.js'
import type { FileHandle } from './segment-file.js'

export interface Frame {
  /** File offset of the frame's header. */
  offset: number
  /** The body: a view that stays valid until the next call to next(). */
  body: Buffer
}

export interface BadFrame {
  offset: number
  bad: string
}

const CHUNK = 1024 * 1024

/**
 * Reads the frames of a file range [from, to) one by one, through one read
 * buffer that grows only for a frame larger than it: replay memory is bounded
 * by the largest frame (about FRAME_TARGET).
 */
export class FrameReader {
  private buf = Buffer.allocUnsafe(CHUNK)
  /** File offset of buf[0], and how many bytes of buf are filled. */
  private start = 0
  private filled = 0

  constructor(
    private readonly fh: FileHandle,
    private pos: number,
    private readonly to: number,
  ) {}

  /** The next frame, a description of why the bytes at the position are not one, or null at the end. */
  async next(): Promise<Frame | BadFrame | null> {
    const offset = this.pos
    if (offset >= this.to) return null
    if (!(await this.fill(FRAME_HEADER))) return { offset, bad: 'frame header cut short' }
    let at = offset - this.start
    if (this.buf.readUInt32LE(at) !== FRAME_MAGIC) return { offset, bad: 'no frame begins here' }
    const length = this.buf.readUInt32LE(at + 8)
    if (length < 1 || length > MAX_FRAME_BODY || offset + FRAME_HEADER + length > this.to) {
      return { offset, bad: `frame length ${length} does not fit` }
    }
    if (!(await this.fill(FRAME_HEADER + length))) return { offset, bad: 'frame cut short' }
    at = offset - this.start
    const crc = this.buf.readUInt32LE(at + 4)
    if (crc32(this.buf.subarray(at + 8, at + FRAME_HEADER + length)) !== crc) {
      return { offset, bad: 'CRC mismatch' }
    }
    this.pos = offset + FRAME_HEADER + length
    return { offset, body: this.buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length) }
  }

  /** Makes [pos, pos + n) present in buf; false if the file ends first. */
  private async fill(n: number): Promise<boolean> {
    const pos = this.pos
    if (pos + n <= this.start + this.filled) return true
    // Bytes from pos on already read move to the front (frames are read in order, so pos >= start).
    const keep = Math.max(0, this.start + this.filled - pos)
    if (n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2))
      if (keep > 0) this.buf.copy(next, 0, pos - this.start, this.filled)
      this.buf = next
    } else if (keep > 0) {
      this.buf.copyWithin(0, pos - this.start, this.filled)
    }
    this.start = pos
    this.filled = keep
    const want = Math.min(this.buf.length, this.to - pos)
    while (this.filled < want) {
      const { bytesRead } = await this.fh.read(this.buf, this.filled, want - this.filled, pos + this.filled)
      if (bytesRead === 0) break
      this.filled += bytesRead
    }
    return this.filled >= n
  }
}

/**
 * Whether a complete frame of a later flush lies in (bad, to): then the bad
 * bytes were in a flush that was already written in full (and perhaps
 * acknowledged) before it, and the file is corrupt; otherwise they are the
 * torn tail of the last flush. Frames of the torn flush itself may survive
 * past a hole (pages of one write reach the disk in any order); their
 * `back` points at or before the bad byte, so they do not count.
 */
export async function laterFlushExists(fh: FileHandle, bad: number, to: number): Promise<boolean> {
  const magic = Buffer.alloc(4)
  magic.writeUInt32LE(FRAME_MAGIC, 0)
  const buf = Buffer.allocUnsafe(CHUNK)
  const header = Buffer.allocUnsafe(FRAME_HEADER)
  let base = bad + 1
  while (base + FRAME_HEADER <= to) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, to - base), base)
    if (bytesRead < FRAME_HEADER) return false
    for (let i = buf.indexOf(magic, 0); i !== -1 && i < bytesRead; i = buf.indexOf(magic, i + 1)) {
      const offset = base + i
      if (offset + FRAME_HEADER > to) break
      await fh.read(header, 0, FRAME_HEADER, offset)
      const length = header.readUInt32LE(8)
      const back = header.readUInt32LE(12)
      if (length < 1 || length > MAX_FRAME_BODY || offset + FRAME_HEADER + length > to) continue
      if (offset - back <= bad) continue
      const body = Buffer.allocUnsafe(length + 8)
      await fh.read(body, 0, length + 8, offset + 8)
      if (crc32(body) === header.readUInt32LE(4)) return true
    }
    // Overlap by a header's length so that a magic across the chunk boundary is seen.
    base += bytesRead - FRAME_HEADER + 1
  }
  return false
}
