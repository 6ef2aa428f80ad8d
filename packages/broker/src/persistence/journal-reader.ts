import { crc32 } from 'node:zlib'
import { StoreCorruptError } from './errors.js'
import type { FileHandle } from './journal-file.js'
import type { StoreRecord } from './live-state.js'
import {
  COMMIT_RECORD_SIZE,
  decodeRecord,
  MAX_RECORD_BODY,
  RECORD_HEADER,
  RecordFormatError,
  RecordType,
} from './record-codec.js'

/**
 * Replays a journal file batch by batch. Where it ends is decided like this:
 * a record that is cut short, fails its CRC or does not parse stops the
 * replay. If a complete later batch follows it (a valid COMMIT whose batch
 * starts after the bad byte), the bad record was part of a batch that was
 * already acknowledged when the later one was written: the file is corrupt
 * and the replay throws. Otherwise it is the torn tail of a flush that a
 * crash interrupted, and the log ends at the last complete batch.
 */
export interface ScanResult {
  /** Offset just after the last complete batch: where the journal continues. */
  end: number
  /** Bytes after `end` (a torn tail) that the caller should truncate. */
  tornBytes: number
  records: number
  batches: number
}

const CHUNK = 4 * 1024 * 1024

export async function scanJournal(
  fh: FileHandle,
  file: string,
  from: number,
  to: number,
  onBatch: (records: StoreRecord[]) => void,
  signal?: AbortSignal,
): Promise<ScanResult> {
  const window = new Window(fh, to)
  let off = from
  let end = from
  let batch: StoreRecord[] = []
  let records = 0
  let batches = 0
  let bad: string | undefined
  while (off < to) {
    const head = await window.get(off, RECORD_HEADER)
    if (head === null) {
      bad = 'record header cut short'
      break
    }
    const length = head.buf.readUInt32LE(head.at)
    const crc = head.buf.readUInt32LE(head.at + 4)
    if (length < 1 || length > MAX_RECORD_BODY || off + RECORD_HEADER + length > to) {
      bad = `record length ${length} does not fit`
      break
    }
    const rec = await window.get(off, RECORD_HEADER + length)
    if (rec === null) {
      bad = 'record cut short'
      break
    }
    const bodyStart = rec.at + RECORD_HEADER
    const bodyEnd = bodyStart + length
    if (crc32(rec.buf.subarray(bodyStart, bodyEnd)) !== crc) {
      bad = 'CRC mismatch'
      break
    }
    let decoded: ReturnType<typeof decodeRecord>
    try {
      decoded = decodeRecord(rec.buf, bodyStart, bodyEnd)
    } catch (err) {
      if (!(err instanceof RecordFormatError)) throw err
      bad = err.message
      break
    }
    if (decoded.type === 'commit') {
      if (decoded.batchLength !== off - end) {
        bad = `COMMIT of a ${decoded.batchLength}-byte batch after ${off - end} bytes`
        break
      }
      onBatch(batch)
      records += batch.length
      batches++
      batch = []
      end = off + RECORD_HEADER + length
      if (batches % 256 === 0) signal?.throwIfAborted()
    } else {
      batch.push(decoded)
    }
    off += RECORD_HEADER + length
  }
  if (bad !== undefined && (await laterBatchExists(fh, off, to))) {
    throw new StoreCorruptError(file, off, `${bad}, and complete batches follow it`)
  }
  return { end, tornBytes: to - end, records, batches }
}

/**
 * Looks for a valid COMMIT record after `bad` whose batch starts after `bad`.
 * COMMIT records have a fixed size and a known first byte, so candidates are
 * found with indexOf and few need a CRC.
 */
async function laterBatchExists(fh: FileHandle, bad: number, to: number): Promise<boolean> {
  const pattern = Buffer.alloc(5)
  pattern.writeUInt32LE(5, 0)
  const buf = Buffer.allocUnsafe(CHUNK)
  let base = bad + 1
  while (base + COMMIT_RECORD_SIZE <= to) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, to - base), base)
    let i = buf.indexOf(pattern.subarray(0, 4), 0)
    while (i !== -1 && i + COMMIT_RECORD_SIZE <= bytesRead) {
      const body = buf.subarray(i + RECORD_HEADER, i + COMMIT_RECORD_SIZE)
      if (body[0] === RecordType.Commit && crc32(body) === buf.readUInt32LE(i + 4)) {
        const batchStart = base + i - body.readUInt32LE(1)
        if (batchStart > bad) return true
      }
      i = buf.indexOf(pattern.subarray(0, 4), i + 1)
    }
    if (bytesRead < COMMIT_RECORD_SIZE) return false
    // Overlap by one record so that a COMMIT across the chunk boundary is seen.
    base += bytesRead - COMMIT_RECORD_SIZE + 1
  }
  return false
}

/** A sliding read window over [0, size): serves byte ranges without reading the file twice. */
class Window {
  private buf = Buffer.alloc(0)
  private start = 0

  constructor(
    private readonly fh: FileHandle,
    private readonly size: number,
  ) {}

  /** The bytes [off, off + n) as a buffer and the index of `off` in it, or null past the end. */
  async get(off: number, n: number): Promise<{ buf: Buffer; at: number } | null> {
    if (off + n > this.size) return null
    if (off >= this.start && off + n <= this.start + this.buf.length)
      return { buf: this.buf, at: off - this.start }
    const want = Math.min(Math.max(n, CHUNK), this.size - off)
    const next = Buffer.allocUnsafe(want)
    let got = 0
    while (got < want) {
      const { bytesRead } = await this.fh.read(next, got, want - got, off + got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    if (got < n) return null
    this.buf = next.subarray(0, got)
    this.start = off
    return { buf: this.buf, at: 0 }
  }
}
