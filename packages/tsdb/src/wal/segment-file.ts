import { constants, type promises as fsp } from 'node:fs'
import { open, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { WalCorruptError } from './errors.js'

/**
 * Segment files: `wal-<seq>.log`, each a 16-byte header then frames (see
 * frame-buffer.ts). Positions in the log are byte offsets in one logical
 * stream that the segments cut into pieces: a segment's header holds the
 * position of its first frame (its base), and the next segment's base is
 * this one's base plus its frame bytes. Positions stay valid across segment
 * rolls and deletions, and go up to 2^53 (9 PiB: decades at 10 MB/s).
 *
 *   header = "STWL" | version u8 | reserved u8[3] | base u32 LE low | base u32 LE high
 *
 * A segment is created under `<name>.tmp`, synced and renamed, so a named
 * segment always has its whole header.
 */
export const SEGMENT_HEADER = 16
const MAGIC = 'STWL'
const VERSION = 1
const NAME = /^wal-(\d{12})\.log$/

export type FileHandle = fsp.FileHandle

export interface Segment {
  seq: number
  /** Log position of the segment's first frame. */
  base: number
  path: string
}

export const segmentName = (seq: number): string => `wal-${String(seq).padStart(12, '0')}.log`

export function encodeSegmentHeader(base: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER)
  b.write(MAGIC, 0, 'latin1')
  b[4] = VERSION
  b.writeUInt32LE(base % 2 ** 32, 8)
  b.writeUInt32LE(Math.floor(base / 2 ** 32), 12)
  return b
}

/** Reads the base of a segment, checking its header. */
export async function readSegmentHeader(fh: FileHandle, path: string): Promise<number> {
  const b = Buffer.alloc(SEGMENT_HEADER)
  const { bytesRead } = await fh.read(b, 0, SEGMENT_HEADER, 0)
  if (bytesRead < SEGMENT_HEADER || b.toString('latin1', 0, 4) !== MAGIC) {
    throw new WalCorruptError(path, 0, 'not a Strata write-ahead log segment (bad header)')
  }
  if (b[4] !== VERSION) throw new WalCorruptError(path, 4, `unsupported segment version ${b[4]}`)
  return b.readUInt32LE(12) * 2 ** 32 + b.readUInt32LE(8)
}

/** Sequence numbers of the segments in `dir`, ascending; removes `.tmp` leftovers of a killed roll. */
export async function listSegments(dir: string): Promise<number[]> {
  const seqs: number[] = []
  for (const name of await readdir(dir)) {
    const m = NAME.exec(name)
    if (m?.[1] !== undefined) seqs.push(Number(m[1]))
    else if (name.startsWith('wal-') && name.endsWith('.tmp')) await rm(join(dir, name), { force: true })
  }
  return seqs.sort((a, b) => a - b)
}

/**
 * Thrown by createSegment when it failed after the rename (the directory
 * fsync): the new, empty segment may be in the directory, so the log must not
 * be written on in the previous one (open() would find the two overlapping).
 */
export class SegmentNamedError extends Error {
  constructor(cause: unknown) {
    super('a new write-ahead log segment was named but not synced', { cause })
  }
}

/**
 * Creates an empty segment the crash-safe way (header into a temporary file,
 * fsync, rename, fsync of the directory) and returns it open for writing.
 * A failure before the rename leaves no named segment (the `.tmp` is removed,
 * here or by the next listSegments); one after it throws SegmentNamedError.
 */
export async function createSegment(
  dir: string,
  seq: number,
  base: number,
  sync: boolean,
): Promise<{ segment: Segment; fh: FileHandle }> {
  const path = join(dir, segmentName(seq))
  const tmp = `${path}.tmp`
  const fh = await open(tmp, 'w+')
  let named = false
  try {
    await writeAll(fh, encodeSegmentHeader(base), 0)
    if (sync) await fh.sync()
    await rename(tmp, path)
    named = true
    if (sync) await syncDir(dir)
  } catch (err) {
    await fh.close().catch(() => {})
    await rm(tmp, { force: true })
    throw named ? new SegmentNamedError(err) : err
  }
  return { segment: { seq, base, path }, fh }
}

/** Makes a new, renamed or deleted entry of `dir` durable (POSIX: the directory needs its own fsync). */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** fh.write may write less than asked (a signal, a full disk): loop until all is written or it throws. */
export async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done)
    if (bytesWritten === 0) throw new Error('write wrote 0 bytes')
    done += bytesWritten
  }
}
