import { open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { rebuildState, writeSnapshot } from './compaction.js'
import { type DirLock, lockDir } from './dir-lock.js'
import { ensureDir } from './ensure-dir.js'
import { StoreError } from './errors.js'
import {
  copyRange,
  createJournal,
  encodeHeader,
  type FileHandle,
  HEADER_SIZE,
  journalName,
  listGenerations,
  readHeader,
  syncDir,
  writeAll,
} from './journal-file.js'
import { scanJournal } from './journal-reader.js'
import { LiveState, type StoreRecord } from './live-state.js'
import { RecordBuffer } from './record-codec.js'
import type { BrokerStore, QueueEntry, RecoveredState, SessionRecord, StoredMessage } from './store.js'

export interface LogStoreOptions {
  /** Directory of the journal (created if missing), held exclusively through a `LOCK` file. */
  dir: string
  /**
   * Journal size in bytes above which it is compacted, provided that at
   * least half of it is dead. Default 64 MiB.
   */
  compactThresholdBytes?: number
  /**
   * fdatasync every flush, and fsync the files and the directory during
   * compaction. Default true. With false, an acknowledged message survives a
   * crash of the process but not of the machine.
   */
  fsync?: boolean
  /** Compaction progress, for logs (and for tests that kill a process mid-compaction). */
  onCompaction?: (event: CompactionEvent) => void
}

export type CompactionEvent =
  | { phase: 'start'; journalBytes: number }
  /** The new file is complete and synced; next comes the rename. */
  | { phase: 'written'; bytes: number }
  | { phase: 'done'; beforeBytes: number; afterBytes: number; ms: number }
  | { phase: 'failed'; error: unknown }

export interface LogStoreStats {
  /** Flushes done: one write and one fdatasync each. */
  flushes: number
  /** commit() calls. */
  commits: number
  /** Records written (COMMIT markers excluded). */
  records: number
  bytesWritten: number
  compactions: number
  /** Size of the current journal file. */
  journalBytes: number
  /** Bytes of a torn tail cut off by the last open(). */
  tornBytesOnOpen: number
}

interface Waiter {
  resolve: () => void
  reject: (err: Error) => void
}

/** Serialises the flushes and the final step of compaction on the journal file. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve()
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn)
    this.tail = result.catch(() => {})
    return result
  }
}

/**
 * The embedded store: an append-only journal of binary records in one
 * directory, with group commit and online compaction. See record-codec.ts for
 * the format, journal-reader.ts for recovery, compaction.ts for compaction.
 *
 * Group commit: record methods encode into an in-memory batch and update the
 * mirror; `commit()` waits for the next flush, which writes the whole batch
 * with one write and one fdatasync. While a flush runs, new commits gather
 * for the next one, which starts as soon as it ends: under load one fsync
 * serves many commits.
 */
export class LogStore implements BrokerStore {
  private readonly dir: string
  private readonly threshold: number
  private readonly sync: boolean
  private readonly onCompaction: ((event: CompactionEvent) => void) | undefined

  private state: LiveState | null = null
  private opening = false
  private closing = false
  private lock: DirLock | null = null
  private fh: FileHandle | null = null
  private file = ''
  private generation = 0
  /** End of the last complete flush: everything before it is durable. */
  private end = 0

  private readonly batch = new RecordBuffer()
  /** Commits served by the flush in progress (nothing was recorded after it started). */
  private currentWaiters: Waiter[] = []
  /** Commits served by the next flush. */
  private nextWaiters: Waiter[] = []
  private flushing = false
  private failure: StoreError | null = null
  private readonly fileMutex = new Mutex()

  private compacting: Promise<void> | null = null
  private compactAbort = new AbortController()
  /** Do not retry a failed compaction before the journal grows past this. */
  private compactNotBefore = 0

  private readonly counters: Omit<LogStoreStats, 'journalBytes'> = {
    flushes: 0,
    commits: 0,
    records: 0,
    bytesWritten: 0,
    compactions: 0,
    tornBytesOnOpen: 0,
  }

  constructor(options: LogStoreOptions) {
    this.dir = options.dir
    this.threshold = options.compactThresholdBytes ?? 64 * 1024 * 1024
    this.sync = options.fsync ?? true
    this.onCompaction = options.onCompaction
  }

  get stats(): LogStoreStats {
    return { ...this.counters, journalBytes: this.end }
  }

  async open(signal?: AbortSignal): Promise<RecoveredState> {
    signal?.throwIfAborted()
    if (this.state !== null || this.opening)
      throw new StoreError('STRATA_STORE_FAILED', 'LogStore is already open')
    this.opening = true
    try {
      await ensureDir(this.dir)
      const lock = await lockDir(this.dir)
      try {
        return await this.recover(lock, signal)
      } catch (err) {
        await lock.release()
        throw err
      }
    } finally {
      this.opening = false
    }
  }

  private async recover(lock: DirLock, signal: AbortSignal | undefined): Promise<RecoveredState> {
    signal?.throwIfAborted()
    let generations = await listGenerations(this.dir)
    if (generations.length === 0) {
      await createJournal(this.dir, 1, this.sync)
      generations = [1]
    }
    const generation = generations[generations.length - 1] as number
    const file = join(this.dir, journalName(generation))
    const fh = await open(file, 'r+')
    try {
      await readHeader(fh, file)
      const { size } = await fh.stat()
      const state = new LiveState()
      const result = await scanJournal(
        fh,
        file,
        HEADER_SIZE,
        size,
        (records) => {
          for (const r of records) state.apply(r)
        },
        signal,
      )
      signal?.throwIfAborted()
      if (result.tornBytes > 0) {
        // The tail of a flush a crash interrupted: nobody was told it was durable.
        await fh.truncate(result.end)
        if (this.sync) await fh.datasync()
      }
      // Older generations are leftovers of a compaction killed after its rename.
      for (const g of generations.slice(0, -1)) await rm(join(this.dir, journalName(g)), { force: true })
      state.sweep()
      this.state = state
      this.lock = lock
      this.fh = fh
      this.file = file
      this.generation = generation
      this.end = result.end
      this.counters.tornBytesOnOpen = result.tornBytes
      this.closing = false
      this.failure = null
      this.compactAbort = new AbortController()
      return state.toRecovered()
    } catch (err) {
      await fh.close()
      throw err
    }
  }

  putMessage(message: StoredMessage): void {
    if (this.live().putMessage(message)) this.record({ type: 'put', message })
  }

  setRetained(topic: string, message: StoredMessage | null): void {
    const state = this.live()
    if (message === null) {
      if (state.setRetained(topic, null)) this.record({ type: 'unretain', topic })
      return
    }
    // A body already in the journal is referenced, not written twice.
    const known = state.hasMessage(message.id)
    state.setRetained(topic, message)
    this.record(
      known ? { type: 'retainRef', topic, messageId: message.id } : { type: 'retain', topic, message },
    )
  }

  saveSession(session: SessionRecord): void {
    this.live().saveSession(session)
    this.record({ type: 'session', session })
  }

  deleteSession(clientId: string): void {
    if (this.live().deleteSession(clientId)) this.record({ type: 'deleteSession', clientId })
  }

  enqueue(clientId: string, entry: QueueEntry): void {
    this.live().enqueue(clientId, entry)
    this.record({ type: 'enqueue', clientId, entry })
  }

  updateDelivery(clientId: string, messageId: number, packetId: number, released: boolean): void {
    if (this.live().updateDelivery(clientId, messageId, packetId, released)) {
      this.record({ type: 'update', clientId, messageId, packetId, released })
    }
  }

  dequeue(clientId: string, messageId: number): void {
    if (this.live().dequeue(clientId, messageId)) this.record({ type: 'dequeue', clientId, messageId })
  }

  setInboundQos2(clientId: string, packetId: number, pending: boolean): void {
    if (this.live().setInboundQos2(clientId, packetId, pending)) {
      this.record({ type: 'inbound', clientId, packetId, pending })
    }
  }

  commit(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure)
    if (this.state === null) return Promise.reject(closedError())
    this.counters.commits++
    if (this.batch.length === 0) {
      // Everything recorded is durable already, or is in the flush under way.
      if (!this.flushing) return Promise.resolve()
      return new Promise((resolve, reject) => this.currentWaiters.push({ resolve, reject }))
    }
    return new Promise((resolve, reject) => {
      this.nextWaiters.push({ resolve, reject })
      if (!this.flushing) void this.flushLoop()
    })
  }

  async close(): Promise<void> {
    if (this.state === null || this.closing) return
    const flushed = this.commit().catch(() => {})
    this.closing = true
    await flushed
    this.compactAbort.abort()
    await this.compacting?.catch(() => {})
    await this.fh?.close().catch(() => {})
    await this.lock?.release()
    this.state = null
    this.fh = null
    this.lock = null
  }

  /**
   * Compacts now, whatever the thresholds say (for tests and operators);
   * resolves when done, rejects if it failed. Waits for one already running.
   */
  async compact(): Promise<void> {
    this.live()
    if (this.compacting === null) this.startCompaction()
    await this.compacting
  }

  private live(): LiveState {
    if (this.failure !== null) throw this.failure
    if (this.state === null || this.closing) throw closedError()
    return this.state
  }

  private record(record: StoreRecord): void {
    this.batch.write(record)
  }

  private async flushLoop(): Promise<void> {
    this.flushing = true
    try {
      while (this.nextWaiters.length > 0) {
        const waiters = this.nextWaiters
        this.nextWaiters = []
        this.currentWaiters = waiters
        this.state?.rotate()
        const records = this.batch.count
        this.batch.commit()
        const data = this.batch.take()
        try {
          await this.fileMutex.run(async () => {
            if (this.failure !== null) throw this.failure
            const fh = this.fh
            if (fh === null) throw closedError()
            await writeAll(fh, data, this.end)
            if (this.sync) await fh.datasync()
            this.end += data.length
          })
        } catch (cause) {
          // After a failed write or fsync the file's state is unknown (and a
          // retried fsync may report success for pages that were dropped):
          // the store refuses everything from now on.
          this.failure ??= new StoreError('STRATA_STORE_FAILED', `journal write failed: ${this.file}`, {
            cause,
          })
          for (const w of this.currentWaiters) w.reject(this.failure)
          for (const w of this.nextWaiters) w.reject(this.failure)
          this.currentWaiters = []
          this.nextWaiters = []
          return
        }
        this.counters.flushes++
        this.counters.records += records
        this.counters.bytesWritten += data.length
        const served = this.currentWaiters
        this.currentWaiters = []
        for (const w of served) w.resolve()
        this.maybeCompact()
      }
    } finally {
      this.flushing = false
    }
  }

  private maybeCompact(): void {
    const state = this.state
    if (state === null || this.compacting !== null || this.closing) return
    if (this.end < this.threshold || this.end < this.compactNotBefore) return
    if (state.approxBytes * 2 > this.end) return
    this.startCompaction()
  }

  private startCompaction(): void {
    this.compacting = this.runCompaction()
      .catch((error: unknown) => {
        this.compactNotBefore = this.end + this.threshold
        this.onCompaction?.({ phase: 'failed', error })
        throw error
      })
      .finally(() => {
        this.compacting = null
      })
    // Background compactions report failure through onCompaction; compact() rethrows.
    this.compacting.catch(() => {})
  }

  private async runCompaction(): Promise<void> {
    const signal = this.compactAbort.signal
    const oldFh = this.fh
    if (oldFh === null) throw closedError()
    const oldFile = this.file
    const started = performance.now()
    const snapshotAt = this.end
    const generation = this.generation + 1
    const newFile = join(this.dir, journalName(generation))
    const tmpFile = `${newFile}.tmp`
    this.onCompaction?.({ phase: 'start', journalBytes: snapshotAt })

    const snapshot = await rebuildState(oldFh, oldFile, snapshotAt, signal)
    const tmp = await open(tmpFile, 'w+')
    let switched = false
    try {
      await writeAll(tmp, encodeHeader(generation), 0)
      // An unreferenced message is kept only while the live mirror still waits for its references.
      let pos = await writeSnapshot(
        snapshot,
        (id) => this.state?.hasMessage(id) ?? false,
        tmp,
        HEADER_SIZE,
        signal,
      )
      // Records flushed meanwhile: copy them in rounds while flushes go on,
      // and pause flushes only for the last small piece.
      let copied = snapshotAt
      while (this.end - copied > 1024 * 1024) {
        const upTo = this.end
        pos = await copyRange(oldFh, copied, upTo, tmp, pos)
        copied = upTo
        signal.throwIfAborted()
      }
      await this.fileMutex.run(async () => {
        signal.throwIfAborted()
        if (this.failure !== null) throw this.failure
        pos = await copyRange(oldFh, copied, this.end, tmp, pos)
        if (this.sync) await tmp.sync()
        this.onCompaction?.({ phase: 'written', bytes: pos })
        await rename(tmpFile, newFile)
        // From here the new file is the journal (the highest generation wins on open).
        this.fh = tmp
        this.file = newFile
        this.generation = generation
        this.end = pos
        switched = true
        if (this.sync) {
          try {
            await syncDir(this.dir)
          } catch (cause) {
            this.failure = new StoreError('STRATA_STORE_FAILED', `fsync of ${this.dir} failed`, { cause })
            throw this.failure
          }
        }
      })
    } catch (err) {
      if (!switched) {
        await tmp.close().catch(() => {})
        await rm(tmpFile, { force: true })
      }
      throw err
    }
    await oldFh.close()
    await rm(oldFile, { force: true })
    this.counters.compactions++
    this.onCompaction?.({
      phase: 'done',
      beforeBytes: snapshotAt,
      afterBytes: this.end,
      ms: performance.now() - started,
    })
  }
}

const closedError = (): StoreError => new StoreError('STRATA_STORE_CLOSED', 'the store is not open')
