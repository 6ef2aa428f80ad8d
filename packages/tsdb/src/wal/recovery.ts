import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { readCheckpoint } from './checkpoint-file.js'
import { WalCorruptError } from './errors.js'
import { FrameReader, laterFlushExists } from './frame-reader.js'
import {
  createSegment,
  type FileHandle,
  listSegments,
  readSegmentHeader,
  SEGMENT_HEADER,
  type Segment,
  segmentName,
} from './segment-file.js'

export interface Recovered {
  segments: Segment[]
  /** The last segment, open for writing. */
  fh: FileHandle
  /** Log position where the next flush goes. */
  end: number
  checkpoint: number
  tornBytes: number
}

/**
 * Brings a log directory to a state that can be appended to:
 *
 * 1. reads the checkpoint and every segment's header, and deletes the
 *    leading segments that end, as does the gap to the next one, at or
 *    before the checkpoint (a checkpoint or a shed killed while it deleted
 *    them), never the last one;
 * 2. checks that the remaining segments follow one another with no gap (a
 *    missing or short segment is corruption: acknowledged points would be
 *    lost);
 * 3. scans the last segment's frames and truncates a torn last flush, or
 *    throws WalCorruptError if a complete later flush follows the bad bytes.
 *
 * Earlier segments are checked frame by frame when replay() reads them.
 *
 * Step 1 goes by each segment's own end, before the gap check: after a
 * machine crash with fsync off, the log's tail may be lost while the
 * checkpoint past it survived, and the segment this then starts at the
 * checkpoint (below) leaves a gap behind it that holds nothing anyone needs.
 */
export async function recover(dir: string, sync: boolean, signal?: AbortSignal): Promise<Recovered> {
  const checkpoint = await readCheckpoint(dir)
  const segments: Segment[] = []
  const sizes: number[] = []
  for (const seq of await listSegments(dir)) {
    const path = join(dir, segmentName(seq))
    const fh = await open(path, 'r')
    try {
      segments.push({ seq, base: await readSegmentHeader(fh, path), path })
      sizes.push((await fh.stat()).size)
    } finally {
      await fh.close()
    }
  }
  // Both ends: a segment cut short (corruption) whose successor begins after
  // the checkpoint is kept, for the gap check to refuse and name it.
  while (
    segments.length > 1 &&
    (segments[0] as Segment).base + (sizes[0] as number) - SEGMENT_HEADER <= checkpoint &&
    (segments[1] as Segment).base <= checkpoint
  ) {
    await rm((segments.shift() as Segment).path, { force: true })
    sizes.shift()
  }
  for (let i = 0; i + 1 < segments.length; i++) {
    const a = segments[i] as Segment
    const b = segments[i + 1] as Segment
    if (b.seq !== a.seq + 1)
      throw new WalCorruptError(join(dir, segmentName(a.seq + 1)), 0, 'segment missing')
    const size = sizes[i] as number
    if (a.base + size - SEGMENT_HEADER !== b.base) {
      throw new WalCorruptError(
        a.path,
        size,
        `segment ends at log position ${a.base + size - SEGMENT_HEADER} but the next one begins at ${b.base}`,
      )
    }
  }
  signal?.throwIfAborted()

  const last = segments[segments.length - 1]
  if (last === undefined) {
    const { segment, fh } = await createSegment(dir, 1, checkpoint, sync)
    return { segments: [segment], fh, end: checkpoint, checkpoint, tornBytes: 0 }
  }
  const first = segments[0] as Segment
  if (first.base > checkpoint) {
    throw new WalCorruptError(
      first.path,
      0,
      `the log begins at position ${first.base} but the checkpoint is at ${checkpoint}: segments are missing`,
    )
  }
  let fh = await open(last.path, 'r+')
  try {
    const size = sizes[sizes.length - 1] as number
    const tailEnd = await scanTail(fh, last.path, size, signal)
    if (tailEnd < size) {
      // The tail of a flush that a crash interrupted: no commit() covering it resolved.
      await fh.truncate(tailEnd)
      if (sync) await fh.datasync()
    }
    let end = last.base + tailEnd - SEGMENT_HEADER
    if (checkpoint > end) {
      // Only after a machine crash with fsync off: the checkpoint outlived
      // log bytes it covers. Go on after it, so replay never skips new records.
      await fh.close()
      const created = await createSegment(dir, last.seq + 1, checkpoint, sync)
      fh = created.fh
      segments.push(created.segment)
      end = checkpoint
    }
    return { segments, fh, end, checkpoint, tornBytes: size - tailEnd }
  } catch (err) {
    await fh.close().catch(() => {})
    throw err
  }
}

/** File offset where the last segment's complete frames end. */
async function scanTail(fh: FileHandle, path: string, size: number, signal?: AbortSignal): Promise<number> {
  const reader = new FrameReader(fh, SEGMENT_HEADER, size)
  for (let n = 1; ; n++) {
    const f = await reader.next()
    if (f === null) return size
    if ('bad' in f) {
      if (await laterFlushExists(fh, f.offset, size)) {
        throw new WalCorruptError(path, f.offset, `${f.bad}, and complete flushes follow it`)
      }
      return f.offset
    }
    if (n % 64 === 0) signal?.throwIfAborted()
  }
}
