import { mkdir, open, rm, stat } from 'node:fs/promises'
import { writeCheckpoint } from './checkpoint-file.js'
import { type DirLock, lockDir } from './dir-lock.js'
import { WalCorruptError, WalError, walClosed } from './errors.js'
import { FrameReader } from './frame-reader.js'
import {
  type ColumnRecord,
  decodeFrame,
  decodeFrameColumns,
  FRAME_HEADER,
  FrameBuffer,
  PointColumns,
  RecordFormatError,
  type ReplayedRecord,
  type WalRecord,
} from './record-codec.js'
import { recover } from './recovery.js'
import {
  createSegment,
  type FileHandle,
  SEGMENT_HEADER,
  type Segment,
  SegmentNamedError,
  writeAll,
} from './segment-file.js'

export interface WalOptions {
  /**
   * fdatasync every flush (and fsync new segments, the checkpoint and the
   * directory). Default true. With false, a resolved commit() survives a crash
   * of the process but not of the machine.
   */
  fsync?: boolean
  /** Frame bytes past which the next flush starts a new segment file. Default 16 MiB. */
  segmentBytes?: number
  /** Aborts open() (the lock is released). */
  signal?: AbortSignal
}

export interface ReplayOptions {
  /** Position to start at: records at or after it are yielded. Default: the last checkpoint. */
  from?: number
  signal?: AbortSignal
}

export interface WalStats {
  /** Flushes done: one write and (with fsync) one fdatasync each. */
  flushes: number
  /** fdatasync calls made by flushes. */
  fsyncs: number
  /** commit() calls. */
  commits: number
  /** Records and points made durable. */
  records: number
  points: number
  bytesWritten: number
  /** Segment files now in the directory. */
  segments: number
  /** Bytes of a torn tail cut off by open(). */
  tornBytesOnOpen: number
}

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * 16 MiB: the log's disk use is the unsealed points plus up to one segment
 * of frames the checkpoint has passed (a segment is deleted only once all of
 * it is behind the checkpoint): with hourly seals, 64 MiB segments kept up
 * to 64 MiB of dead records besides the hour or so of live ones. A roll
 * costs a file creation and two fsyncs, about one per 2-3M points: measured
 * (one core, fsync on, 100 committers of 1,000 points) 15.2M points/s
 * against 17.9M with 64 MiB, and no difference through the engine (2.6-3.4M
 * points/s for both, the bench:tsdb data set).
 */
const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024

/**
 * The time-series engine's write-ahead log: one directory of segment files
 * (`wal-<seq>.log`), held exclusively through a `LOCK` file.
 *
 * Positions: append() returns the record's position in the log, a number
 * that only grows (a byte offset in the stream of frames, across segments).
 * The engine keeps, for the points it has not sealed into chunks yet, the
 * smallest such position, and hands it to checkpoint(): segments wholly
 * before it are deleted, and replay() starts there after a restart.
 *
 * Group commit, as in the broker's journal: append() encodes into an
 * in-memory buffer; commit() waits for the next flush, which writes the whole
 * buffer with one write and one fdatasync. While a flush runs, new commits
 * gather for the next one, which starts as soon as it ends: under load one
 * fsync serves many commits.
 *
 * Crash safety: a flush is acknowledged only after its fdatasync. open()
 * truncates a torn last flush and refuses (WalCorruptError, naming file and
 * offset) bad bytes that a later complete flush follows. A corrupted last
 * flush cannot be told from a torn one and is truncated too.
 *
 * Shedding: a checkpoint that covers everything durable (the engine has
 * sealed every point, as after flush()) would still leave the last segment,
 * up to segmentBytes of records nobody will read again, since the last
 * segment is never deleted. So checkpoint() then starts a fresh, empty
 * segment at the end of the log and deletes the old one (see shed()).
 */
export class Wal {
  private readonly buffer = new FrameBuffer()
  /** Log position where the buffer's first byte will land. */
  private bufferBase: number
  /** Log position up to which everything is durable (end of the last flush). */
  private end: number
  private checkpointAt: number
  /** Commits served by the flush in progress (nothing was appended after it started). */
  private currentWaiters: Waiter[] = []
  /** Commits served by the next flush. */
  private nextWaiters: Waiter[] = []
  /** checkpoint() calls waiting for the loop to shed the covered segment. */
  private shedWaiters: (() => void)[] = []
  /** The flush loop is running (it writes, rolls and sheds: one thing at a time). */
  private flushing = false
  /** A flush's write and fsync are under way: currentWaiters wait for it. */
  private inFlight = false
  /** The running (or last) flush loop: close() waits for it. */
  private loop: Promise<void> = Promise.resolve()
  private closed = false
  private failure: WalError | null = null
  private replays = 0
  private pruneWanted = false
  /** Serialises checkpoint file writes. */
  private checkpointing: Promise<unknown> = Promise.resolve()
  private readonly counters = { flushes: 0, fsyncs: 0, commits: 0, records: 0, points: 0, bytesWritten: 0 }
  private readonly tornBytes: number

  private constructor(
    private readonly dir: string,
    private readonly sync: boolean,
    private readonly segmentBytes: number,
    private readonly lock: DirLock,
    /** Ascending; the last one is written to. */
    private readonly segments: Segment[],
    private fh: FileHandle,
    recovered: { end: number; checkpoint: number; tornBytes: number },
  ) {
    this.end = recovered.end
    this.bufferBase = recovered.end
    this.checkpointAt = recovered.checkpoint
    this.tornBytes = recovered.tornBytes
  }

  /** Opens the log in `dir` (created if missing; its parent must exist), recovering it after a crash. */
  static async open(dir: string, options: WalOptions = {}): Promise<Wal> {
    const { signal } = options
    signal?.throwIfAborted()
    const sync = options.fsync ?? true
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1) {
      throw new RangeError(`segmentBytes must be a positive integer (got ${segmentBytes})`)
    }
    await makeDir(dir)
    const lock = await lockDir(dir)
    try {
      const r = await recover(dir, sync, signal)
      signal?.throwIfAborted()
      return new Wal(dir, sync, segmentBytes, lock, r.segments, r.fh, r)
    } catch (err) {
      await lock.release()
      throw err
    }
  }

  /** The position just after everything appended so far: checkpoint(wal.position) drops all of it. */
  get position(): number {
    return this.bufferBase + this.buffer.length
  }

  /** The position up to which everything is durable. */
  get durablePosition(): number {
    return this.end
  }

  /** The last checkpoint: where replay() starts by default. */
  get checkpointPosition(): number {
    return this.checkpointAt
  }

  get stats(): WalStats {
    return { ...this.counters, segments: this.segments.length, tornBytesOnOpen: this.tornBytes }
  }

  /**
   * Buffers a record and returns its position; commit() makes it durable.
   * Throws RangeError on a bad field (a series id that is not a u32, a
   * timestamp that is not an integer within ±2^51), appending nothing.
   */
  append(record: WalRecord): number {
    this.live()
    return this.bufferBase + this.buffer.append(record)
  }

  /**
   * Resolves once everything appended before the call is durable. Aborting
   * the signal only stops the waiting: the records may still be written.
   * Rejects with WalError STRATA_WAL_FAILED once a write or fsync has failed.
   */
  commit(signal?: AbortSignal): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure)
    if (this.closed) return Promise.reject(walClosed())
    if (signal?.aborted) return Promise.reject(signal.reason)
    this.counters.commits++
    if (this.buffer.length === 0) {
      // Everything appended is durable already, or is in the flush under way.
      if (!this.inFlight) return Promise.resolve()
      return wait(this.currentWaiters, signal)
    }
    const done = wait(this.nextWaiters, signal)
    this.startLoop()
    return done
  }

  /**
   * Reads back the durable records at or after `from` (default: the last
   * checkpoint), in order, one frame (about 1 MiB) in memory at a time.
   * Records committed after the iteration began are not included. Throws
   * WalCorruptError on bytes that do not read back.
   */
  replay(options: ReplayOptions = {}): AsyncGenerator<ReplayedRecord, void, undefined> {
    return this.records(options, decodeFrame)
  }

  /**
   * replay(), with each points record's points in columns (no object per
   * point) that stay valid until the iteration reads the next frame: for the
   * engine's recovery, which copies them into its head as it goes.
   */
  replayColumns(options: ReplayOptions = {}): AsyncGenerator<ColumnRecord, void, undefined> {
    const cols = new PointColumns()
    return this.records<ColumnRecord>(options, (body, position, from, out) =>
      decodeFrameColumns(body, position, from, cols, out),
    )
  }

  /** replay()'s loop, with the decoding of a frame body into records given. */
  private async *records<R>(
    options: ReplayOptions,
    decode: (body: Buffer, position: number, from: number, out: R[]) => void,
  ): AsyncGenerator<R, void, undefined> {
    this.live()
    const { signal } = options
    const from = options.from ?? this.checkpointAt
    const first = this.segments[0] as Segment
    if (!(from >= first.base)) {
      throw new RangeError(
        `position ${from} is before the oldest segment (${first.base}): checkpoint() dropped it`,
      )
    }
    const segments = this.segments.slice()
    const end = this.end
    this.replays++
    try {
      let i = segments.length - 1
      while (i > 0 && (segments[i] as Segment).base > from) i--
      const out: R[] = []
      for (; i < segments.length; i++) {
        const seg = segments[i] as Segment
        const segEnd = Math.min(end, segments[i + 1]?.base ?? end)
        if (seg.base >= segEnd) break
        const fh = await open(seg.path, 'r')
        try {
          const reader = new FrameReader(fh, SEGMENT_HEADER, SEGMENT_HEADER + (segEnd - seg.base))
          for (let f = await reader.next(); f !== null; f = await reader.next()) {
            if ('bad' in f) throw new WalCorruptError(seg.path, f.offset, f.bad)
            const bodyPos = seg.base + f.offset - SEGMENT_HEADER + FRAME_HEADER
            if (bodyPos + f.body.length <= from) continue
            try {
              decode(f.body, bodyPos, from, out)
            } catch (err) {
              if (!(err instanceof RecordFormatError)) throw err
              const at = f.offset + FRAME_HEADER + err.offset
              throw new WalCorruptError(seg.path, at, `${err.message} (in a frame whose CRC matched)`)
            }
            signal?.throwIfAborted()
            if (this.closed) throw walClosed()
            for (const record of out) yield record
            out.length = 0
          }
        } finally {
          await fh.close()
        }
      }
    } finally {
      this.replays--
      if (this.replays === 0 && this.pruneWanted) await this.prune().catch(() => {})
    }
  }

  /**
   * Records that the engine no longer needs what lies before `position` (its
   * points are in sealed chunks), durably, then deletes the segments wholly
   * before it (later, if a replay is reading them). A position below the
   * last checkpoint is ignored. If the checkpoint (this one or an earlier
   * one) covers everything durable, the last segment is replaced by an empty
   * one too (shed()), before this resolves.
   */
  async checkpoint(position: number, signal?: AbortSignal): Promise<void> {
    this.live()
    if (!Number.isSafeInteger(position) || position < 0 || position > this.position) {
      throw new RangeError(`checkpoint position ${position} is not within the log (0 to ${this.position})`)
    }
    // The checkpoint must not get ahead of the durable log: after a crash the
    // log would go on below it, and replay would skip what follows.
    if (position > this.end) await this.commit(signal)
    const run = this.checkpointing.then(async () => {
      signal?.throwIfAborted()
      if (position <= this.checkpointAt) return
      await writeCheckpoint(this.dir, position, this.sync)
      this.checkpointAt = position
    })
    this.checkpointing = run.catch(() => {})
    await run
    await this.prune()
    if (this.covered()) {
      const shed = new Promise<void>((resolve) => this.shedWaiters.push(resolve))
      this.startLoop()
      await shed
    }
  }

  /** Flushes what was appended, then releases the files and the lock. */
  async close(): Promise<void> {
    if (this.closed) return
    const flushed = this.commit().catch(() => {})
    this.closed = true
    await flushed
    // A shed under way may be switching this.fh to a new segment: let it finish.
    await this.loop
    await this.checkpointing
    await this.fh.close().catch(() => {})
    await this.lock.release()
  }

  private live(): void {
    if (this.failure !== null) throw this.failure
    if (this.closed) throw walClosed()
  }

  /** Starts the flush loop unless it runs (it then sees the new waiters before it ends). */
  private startLoop(): void {
    if (!this.flushing) this.loop = this.flushLoop()
  }

  /** Never rejects: failures go to the waiters (and this.failure). */
  private async flushLoop(): Promise<void> {
    this.flushing = true
    try {
      while (this.nextWaiters.length > 0 || this.shedWaiters.length > 0) {
        if (this.shedWaiters.length > 0) {
          const served = this.shedWaiters
          this.shedWaiters = []
          await this.shed()
          for (const done of served) done()
          continue
        }
        this.currentWaiters = this.nextWaiters
        this.nextWaiters = []
        this.inFlight = true
        const { records, points } = this.buffer
        const data = this.buffer.take()
        const at = this.bufferBase
        this.bufferBase += data.length
        try {
          let seg = this.segments[this.segments.length - 1] as Segment
          if (at - seg.base >= this.segmentBytes) seg = await this.roll(at)
          await writeAll(this.fh, data, SEGMENT_HEADER + (at - seg.base))
          if (this.sync) {
            await this.fh.datasync()
            this.counters.fsyncs++
          }
          this.end = at + data.length
        } catch (cause) {
          // After a failed write or fsync the file's state is unknown (and a
          // retried fsync may report success for pages that were dropped):
          // refuse everything from now on; open() will cut the torn tail.
          this.fail(cause)
          return
        }
        this.inFlight = false
        this.counters.flushes++
        this.counters.records += records
        this.counters.points += points
        this.counters.bytesWritten += data.length
        const served = this.currentWaiters
        this.currentWaiters = []
        for (const w of served) w.resolve()
      }
    } finally {
      this.flushing = false
      this.inFlight = false
      for (const done of this.shedWaiters) done()
      this.shedWaiters = []
    }
  }

  /** Refuses everything from now on: the log's files may not be what open() expects to go on from. */
  private fail(cause: unknown): void {
    this.failure ??= new WalError('STRATA_WAL_FAILED', `write-ahead log write failed in ${this.dir}`, {
      cause,
    })
    for (const w of this.currentWaiters) w.reject(this.failure)
    for (const w of this.nextWaiters) w.reject(this.failure)
    this.currentWaiters = []
    this.nextWaiters = []
  }

  /** Whether the checkpoint covers every durable byte of a last segment that holds frames. */
  private covered(): boolean {
    const last = this.segments[this.segments.length - 1] as Segment
    return !this.closed && this.failure === null && this.end <= this.checkpointAt && this.end > last.base
  }

  /**
   * Run by the flush loop (so no flush writes meanwhile), for checkpoint():
   * if the checkpoint covers all of the last segment, starts a new, empty
   * segment at the end of the log (a roll, as when a segment is full) and
   * deletes the old one, which is then wholly before the checkpoint.
   *
   * Crash safety, kill -9 or power loss at any point: the checkpoint file
   * is durable before this runs (checkpoint() wrote it), and says the log
   * before `end` is not needed. The new segment is named only once its
   * header is synced, and its base is the old segment's end, so the
   * directory holds, in turn: the old segment alone (open() goes on in it;
   * the next checkpoint sheds again); the old one and the new one, which
   * follow one another with no gap, the old one wholly before the
   * checkpoint (open() deletes it, as after a kill in prune()); the new one
   * alone. A `.tmp` of the new one is deleted by open(). Nothing is written
   * to the old segment once the new one may exist, and replay never needed
   * anything before the checkpoint.
   *
   * A failure before the rename leaves the old segment in use (harmless: the
   * next checkpoint tries again); after it, the new segment may exist while
   * not in use, so the log fails as on a failed write.
   */
  private async shed(): Promise<void> {
    if (!this.covered()) return
    try {
      await this.roll(this.end)
    } catch (err) {
      if (err instanceof SegmentNamedError) this.fail(err)
      return
    }
    // A segment whose deletion fails lies wholly before the checkpoint: open() deletes it.
    await this.prune().catch(() => {})
  }

  /** Starts the next segment at log position `base` (the end of the current one, already synced). */
  private async roll(base: number): Promise<Segment> {
    const last = this.segments[this.segments.length - 1] as Segment
    const { segment, fh } = await createSegment(this.dir, last.seq + 1, base, this.sync)
    const old = this.fh
    this.fh = fh
    this.segments.push(segment)
    await old.close()
    return segment
  }

  /** Deletes the segments wholly before the checkpoint, never the last one; waits while a replay reads. */
  private async prune(): Promise<void> {
    if (this.closed) return
    if (this.replays > 0) {
      this.pruneWanted = true
      return
    }
    this.pruneWanted = false
    const doomed: Segment[] = []
    while (this.segments.length > 1 && (this.segments[1] as Segment).base <= this.checkpointAt) {
      doomed.push(this.segments.shift() as Segment)
    }
    // No directory fsync: a deleted segment that comes back after a power
    // loss lies wholly before the checkpoint, and open() deletes it again.
    for (const s of doomed) await rm(s.path, { force: true })
  }
}

/** A waiter on `list`; aborting the signal rejects the promise (the waiter stays, settled, in the list). */
function wait(list: Waiter[], signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise((resolve, reject) => list.push({ resolve, reject }))
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    list.push({
      resolve: () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      },
      reject: (err) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    })
  })
}

/**
 * Creates the log directory; its parent must exist (the engine's data
 * directory). Not recursive on purpose: see the broker's ensureDir, whose
 * recursive version this would be once it is shared.
 */
async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(dir)).isDirectory()) throw err
  }
}
