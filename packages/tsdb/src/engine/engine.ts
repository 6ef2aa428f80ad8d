/**
 * TimeSeriesEngine: the write path (log, then head), sealing (head → chunks
 * in storage → log checkpoint), recovery, and the queries (issue 4).
 *
 * Durability: write() resolves once its points are in the write-ahead log
 * (group commit: concurrent writers share an fdatasync). A window is sealed
 * when the wall clock passes its end plus a grace period (or on flush()): its
 * chunks are encoded and written to storage in one transaction, with the
 * window's seal mark (the log position when the seal began), and then the log
 * is checkpointed up to the first record of the oldest window still in memory.
 * After a crash, open() replays the log from the checkpoint into the head,
 * skipping points of windows whose seal mark is past them: nothing whose
 * write() resolved is lost, and nothing is stored twice.
 *
 * Rollups: the seal also computes each series' 1-minute and 1-hour rollups
 * from the window's final points (rollup.ts) and hands them to storage with
 * the chunks, rollups written before the seal mark; a late point's re-seal
 * recomputes them from the merged points. Aggregates read them where the
 * answer is the same (plan.ts); retention drops raw days, rollup months and
 * rollup years apart (`retention`).
 *
 * Directory: `wal/` (the log), `series.db`, `chunks-YYYYMMDD.db`,
 * `rollup-1m-YYYYMM.db` and `rollup-1h-YYYY.db` (the embedded storage,
 * unless another ChunkStorage is given).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeChunk } from '../codec/chunk.js'
import { MAX_TIMESTAMP } from '../codec/timestamps.js'
import type {
  ChunkStorage,
  PartitionInfo,
  SeriesRecord,
  SeriesRollup,
  StorageState,
  StoredChunk,
  Tier,
} from '../storage/chunk-storage.js'
import { SqliteChunkStorage } from '../storage/sqlite-storage.js'
import { Wal, type WalPoint, type WalStats } from '../wal/index.js'
import type { AggregateBatch, AggregateFunction } from './aggregate.js'
import { downsampleQuery } from './downsample.js'
import { engineClosed, TsdbEngineError } from './errors.js'
import { Head, type HeadChunk, type HeadWindow, WINDOW_MS } from './head.js'
import { pickBucket } from './pick-bucket.js'
import { checkAvailable, finestAvailable } from './plan.js'
import { mergeSources, type Points, toChunks } from './points.js'
import { aggregateQuery, checkAggregate, checkRange, type PointBatch, rawQuery } from './query.js'
import type { ReadSources } from './read.js'
import { rollupOf } from './rollup.js'
import { RollupIndex } from './rollup-index.js'
import { defaultDeviceOf, SeriesDictionary, type SeriesEntry } from './series.js'

export interface EnginePoint {
  /** Series key, `device-id/metric`. */
  readonly series: string
  /** Milliseconds since the epoch, an integer within ±(2^51 - 1). */
  readonly ts: number
  /** Any float64, kept bit for bit. */
  readonly value: number
}

export interface LatestPoint {
  readonly series: string
  readonly ts: number
  readonly value: number
}

export interface EngineOptions {
  /** fdatasync the log and use synchronous=FULL in SQLite. Default true. */
  fsync?: boolean
  /** How long after its end a window stays open for on-time points. Default 300,000 (5 min). */
  graceMs?: number
  /** How often to look for windows to seal and partitions to drop; 0 for never (flush() only). Default 10,000. */
  sealCheckMs?: number
  /**
   * How long to keep each resolution (ms), each dropped by whole partitions:
   * raw points (day files; points older than this are dropped on write),
   * 1-minute rollups (month files) and 1-hour rollups (year files). Default:
   * keep all. Where points are gone and rollups are left, aggregates answer
   * from the rollups (plan.ts).
   */
  retention?: RetentionOptions
  /** @deprecated The same as `retention.rawMs`, which wins if both are given. */
  retentionMs?: number
  /** Where sealed chunks go. Default: SqliteChunkStorage in the engine's directory. The engine closes it. */
  storage?: ChunkStorage
  /** Wall clock in ms. Default Date.now. */
  now?: () => number
  /** The device of a series key. Default: what precedes the first '/'. */
  deviceOf?: (key: string) => string
  /** Log segment size (WalOptions.segmentBytes). Default 64 MiB. */
  walSegmentBytes?: number
  /** Told about a failed background seal or retention run (retried at the next check). */
  onError?: (err: unknown) => void
  signal?: AbortSignal
}

export interface RetentionOptions {
  rawMs?: number
  minuteMs?: number
  hourMs?: number
}

export interface QueryOptions {
  signal?: AbortSignal
  /** Read rollups where they give the same answer as points (default true); false reads points only. */
  rollups?: boolean
}

export interface AggregateOptions extends QueryOptions {
  /**
   * A point budget per series: bucketMs becomes the smallest round bucket
   * (pickBucket) at least as large that gives at most this many buckets, and
   * that is valid for what retention left. Batches carry the bucket used.
   */
  maxPoints?: number
}

export interface EngineStats {
  series: number
  /** Points and windows in memory, not yet sealed. */
  headPoints: number
  headWindows: number
  /** Windows sealed, and how many of those merged late points into stored chunks. */
  seals: number
  lateMerges: number
  /** Points older than the retention horizon, dropped by write() or replay. */
  expiredPoints: number
  /** Points replayed from the log into memory by open() (not counting those already sealed). */
  replayedPoints: number
  /** Windows whose rollups are complete, per rollup tier. */
  rollupWindows: { '1m': number; '1h': number }
  wal: WalStats
}

const DEFAULT_GRACE_MS = 300_000
const DEFAULT_SEAL_CHECK_MS = 10_000
/** Points encoded between two yields to the event loop while sealing. */
const SEAL_SLICE = 200_000

export class TimeSeriesEngine {
  private readonly head = new Head()
  /** Windows detached from the head and being written to storage. */
  private readonly sealing = new Map<number, HeadWindow>()
  private readonly sources: ReadSources
  private readonly dict: SeriesDictionary
  private droppedBefore = Number.NEGATIVE_INFINITY
  /** Serialises seals, retention and checkpoints. */
  private chain: Promise<unknown> = Promise.resolve()
  /** Counts finished seals: latest() retries when one ran during its storage lookup. */
  private sealEpoch = 0
  private timer: NodeJS.Timeout | undefined
  private closed = false
  private checking = false
  private readonly counters = { seals: 0, lateMerges: 0, expiredPoints: 0, replayedPoints: 0 }
  private readonly graceMs: number
  private readonly retention: Record<Tier, number>
  /** Per tier, the day (of the cut-off) retention last ran for: it runs once a day at most. */
  private readonly retentionRan: Record<Tier, number> = {
    raw: Number.NEGATIVE_INFINITY,
    '1m': Number.NEGATIVE_INFINITY,
    '1h': Number.NEGATIVE_INFINITY,
  }
  private readonly now: () => number
  private readonly rollups: RollupIndex
  private readonly sealMarks: Map<number, number>

  private constructor(
    private readonly wal: Wal,
    private readonly storage: ChunkStorage,
    state: StorageState,
    private readonly options: EngineOptions,
  ) {
    this.dict = new SeriesDictionary(options.deviceOf ?? defaultDeviceOf)
    this.sealMarks = state.sealMarks
    this.rollups = new RollupIndex(state.rolledUp, state.rollupDroppedBefore)
    this.sources = { storage, memory: [this.sealing, this.head.windows], rollups: this.rollups }
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS
    this.retention = retentionOf(options)
    this.now = options.now ?? Date.now
  }

  /** Opens (creating) the engine in `dir` and replays its log from the checkpoint into memory. */
  static async open(dir: string, options: EngineOptions = {}): Promise<TimeSeriesEngine> {
    options.signal?.throwIfAborted()
    const fsync = options.fsync ?? true
    await mkdir(dir, { recursive: true })
    const walOptions = { fsync, signal: options.signal, segmentBytes: options.walSegmentBytes }
    retentionOf(options) // a bad retention throws before anything is opened
    const wal = await Wal.open(join(dir, 'wal'), walOptions)
    let storage = options.storage
    try {
      storage ??= await SqliteChunkStorage.open(dir, { fsync })
      const state = await storage.load()
      const engine = new TimeSeriesEngine(wal, storage, state, options)
      await engine.recover(state.series, state.droppedBefore, options.signal)
      const every = options.sealCheckMs ?? DEFAULT_SEAL_CHECK_MS
      if (every > 0) {
        engine.timer = setInterval(() => engine.check(), every)
        engine.timer.unref()
      }
      return engine
    } catch (err) {
      await storage?.close().catch(() => {})
      await wal.close().catch(() => {})
      throw err
    }
  }

  private async recover(
    series: readonly SeriesRecord[],
    droppedBefore: number,
    signal?: AbortSignal,
  ): Promise<void> {
    for (const s of series) this.dict.add(s.id, s.key, true, s.device)
    this.droppedBefore = droppedBefore
    for await (const r of this.wal.replay({ signal })) {
      if (r.type === 'series') {
        this.dict.add(r.id, r.key, false)
        continue
      }
      let points: WalPoint[] = r.points
      for (const p of points) {
        if (this.dict.byId[p.series] === undefined) {
          throw new TsdbEngineError(
            'STRATA_TSDB_CATALOG_CONFLICT',
            `the log has points of series id ${p.series} (at ${r.position}) but no series record for it`,
          )
        }
      }
      if (droppedBefore > Number.NEGATIVE_INFINITY) {
        points = points.filter((p) => p.ts >= droppedBefore)
        this.counters.expiredPoints += r.points.length - points.length
      }
      this.counters.replayedPoints += this.head.insert(points, r.position, this.sealMarks)
    }
  }

  /**
   * Logs the points and adds them to the head; resolves once they are durable
   * (an abort stops the waiting only). Throws RangeError, writing nothing, on
   * a bad point. A point with the same series and timestamp as an earlier one
   * replaces it.
   */
  async write(points: readonly EnginePoint[], signal?: AbortSignal): Promise<void> {
    this.live()
    const n = points.length
    const logged: WalPoint[] = new Array(n)
    let k = 0
    const horizon = this.droppedBefore
    for (let i = 0; i < n; i++) {
      const p = points[i] as EnginePoint
      const s = this.dict.byKey.get(p.series) ?? this.newSeries(p.series)
      // The log takes ±2^51, a chunk ±(2^51 - 1): refuse here what could never be sealed.
      if (p.ts > MAX_TIMESTAMP || p.ts < -MAX_TIMESTAMP) {
        throw new RangeError(`point ${i}: timestamp ${p.ts} is not within ±(2^51 - 1) ms`)
      }
      if (p.ts < horizon) continue
      logged[k++] = { series: s.id, ts: p.ts, value: p.value }
    }
    if (k < n) {
      this.counters.expiredPoints += n - k
      logged.length = k
    }
    if (k > 0) {
      const position = this.wal.append({ type: 'points', points: logged })
      this.head.insert(logged, position)
      const byId = this.dict.byId
      for (let i = 0; i < k; i++) {
        const p = logged[i] as WalPoint
        const s = byId[p.series] as SeriesEntry
        if (s.latestLoaded && p.ts >= s.latestTs) {
          s.latestTs = p.ts
          s.latestValue = p.value
        }
      }
    }
    return this.wal.commit(signal)
  }

  private newSeries(key: string): SeriesEntry {
    if (typeof key !== 'string' || key.length === 0) {
      throw new RangeError(`a series key must be a non-empty string (got ${JSON.stringify(key)})`)
    }
    const id = this.dict.allocateId()
    this.wal.append({ type: 'series', id, key })
    return this.dict.add(id, key, false)
  }

  /** One series' points in [from, to), in time order, in batches. */
  raw(series: string, from: number, to: number, options: QueryOptions = {}): AsyncIterable<PointBatch> {
    this.live()
    checkRange(from, to)
    const s = this.dict.byKey.get(series)
    return s === undefined ? empty() : rawQuery(this.sources, s.id, from, to, options.signal)
  }

  /**
   * Per series (in the order given), the aggregate of each bucket of
   * `bucketMs` with points in [from, to). Sealed windows are read from
   * rollups when the bucket is a multiple of a minute or an hour (the same
   * answer, without decoding chunks). Where retention dropped the points,
   * the answer comes from the rollups left, whole rollup buckets only, and a
   * bucket finer than them throws RangeError (see plan.ts).
   */
  aggregate(
    series: readonly string[],
    from: number,
    to: number,
    bucketMs: number,
    fn: AggregateFunction,
    options: AggregateOptions = {},
  ): AsyncIterable<AggregateBatch> {
    this.live()
    checkRange(from, to)
    checkAggregate(bucketMs, fn)
    const rollups = options.rollups ?? true
    if (options.maxPoints !== undefined) bucketMs = this.pickBucket(from, to, options.maxPoints, bucketMs)
    if (rollups) checkAvailable(from, to, bucketMs, this.droppedBefore, this.rollups)
    const { sources, dict } = this
    const signal = options.signal
    return (async function* () {
      for (const key of series) {
        const s = dict.byKey.get(key)
        if (s === undefined) continue
        yield* aggregateQuery(sources, { series: key, id: s.id, from, to, bucketMs, fn, rollups, signal })
      }
    })()
  }

  /**
   * The bucket aggregate() would use for a budget of `maxPoints` buckets over
   * [from, to): the smallest round bucket of at least `minBucketMs` that fits,
   * and that what retention left can answer (pick-bucket.ts).
   */
  pickBucket(from: number, to: number, maxPoints: number, minBucketMs = 1): number {
    const multipleOf = finestAvailable(from, to, this.droppedBefore, this.rollups)
    return pickBucket(from, to, maxPoints, { minBucketMs, multipleOf })
  }

  /**
   * At most `maxPoints` points of the series over [from, to) for a chart, by
   * LTTB (lttb.ts): real points, the first and last kept, read as a stream.
   * Where retention dropped the points, the rollups' 1-minute (else 1-hour)
   * averages stand in for them, at their bucket starts.
   */
  async downsample(
    series: string,
    from: number,
    to: number,
    maxPoints: number,
    options: QueryOptions = {},
  ): Promise<PointBatch> {
    this.live()
    checkRange(from, to)
    const s = this.dict.byKey.get(series)
    const horizons = { raw: this.droppedBefore, ...this.rollups.horizon }
    return downsampleQuery(this.sources, s?.id, from, to, maxPoints, horizons, options)
  }

  /** The point with the largest timestamp of each series (undefined for an unknown or empty one). */
  async latest(series: readonly string[]): Promise<(LatestPoint | undefined)[]> {
    this.live()
    const out: (LatestPoint | undefined)[] = []
    for (const key of series) {
      const s = this.dict.byKey.get(key)
      if (s === undefined) {
        out.push(undefined)
        continue
      }
      if (!s.latestLoaded) await this.loadLatest(s)
      out.push(
        s.latestTs === Number.NEGATIVE_INFINITY
          ? undefined
          : { series: key, ts: s.latestTs, value: s.latestValue },
      )
    }
    return out
  }

  /** Series keys, all or one device's. */
  series(filter: { device?: string } = {}): string[] {
    return this.dict.keys(filter.device)
  }

  /** Seals every window in memory now (the current one too: later points for it become late points). */
  flush(signal?: AbortSignal): Promise<void> {
    this.live()
    return this.serial(() => this.seal([...this.head.windows.keys()], signal))
  }

  /**
   * Drops a tier's partitions before `ts` (rounded down to the tier's
   * partitions: a day for raw points, a month for 1-minute rollups, a year
   * for 1-hour ones); for raw, also any points before it in memory.
   */
  dropBefore(ts: number, tier: Tier = 'raw'): Promise<void> {
    this.live()
    if (!Number.isFinite(ts)) throw new RangeError(`dropBefore needs a finite time (got ${ts})`)
    if (!TIERS.includes(tier))
      throw new RangeError(`unknown tier ${JSON.stringify(tier)} (one of ${TIERS.join(', ')})`)
    return this.serial(() => this.drop(ts, tier))
  }

  /** Every storage partition (raw days and rollup files), with its tier and bytes. */
  partitions(): Promise<PartitionInfo[]> {
    this.live()
    return this.storage.partitions()
  }

  private async drop(ts: number, tier: Tier): Promise<void> {
    const r = await this.storage.dropBefore(ts, tier)
    if (tier !== 'raw') {
      this.rollups.dropBefore(tier, r.droppedBefore)
      return
    }
    this.droppedBefore = r.droppedBefore
    for (const start of [...this.head.windows.keys()]) if (start < r.droppedBefore) this.head.detach(start)
    for (const s of this.dict.byKey.values()) if (s.latestTs < r.droppedBefore) s.latestLoaded = false
    await this.checkpoint()
  }

  get stats(): EngineStats {
    return {
      ...this.counters,
      series: this.dict.size,
      headPoints: this.head.points,
      headWindows: this.head.windows.size,
      rollupWindows: { '1m': this.rollups.size('1m'), '1h': this.rollups.size('1h') },
      wal: this.wal.stats,
    }
  }

  /** Stops sealing, waits for a seal under way, and closes the log and storage. Unsealed points stay in the log. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    await this.chain.catch(() => {})
    await this.wal.close()
    await this.storage.close()
  }

  /** The timer's job: seal windows past their end plus grace, apply retention. */
  private check(): void {
    if (this.closed || this.checking) return
    const now = this.now()
    const due = [...this.head.windows.keys()].filter((s) => s + WINDOW_MS + this.graceMs <= now)
    // Each tier's retention runs when its cut-off enters a new day (storage rounds it down to its partitions).
    const drops = TIERS.map((tier) => ({ tier, cutoff: now - this.retention[tier] })).filter(
      ({ tier, cutoff }) => Number.isFinite(cutoff) && dayOf(cutoff) > this.retentionRan[tier],
    )
    if (due.length === 0 && drops.length === 0) return
    this.checking = true
    this.serial(async () => {
      if (due.length > 0) await this.seal(due)
      for (const { tier, cutoff } of drops) {
        await this.drop(cutoff, tier)
        this.retentionRan[tier] = dayOf(cutoff)
      }
    })
      .catch((err) => {
        if (!this.closed) this.options.onError?.(err)
      })
      .finally(() => {
        this.checking = false
      })
  }

  private serial(job: () => Promise<void>): Promise<void> {
    const run = this.chain.then(() => {
      if (this.closed) throw engineClosed()
      return job()
    })
    this.chain = run.catch(() => {})
    return run
  }

  /** Seals the listed windows (those still in the head), oldest first, then checkpoints the log. */
  private async seal(starts: number[], signal?: AbortSignal): Promise<void> {
    for (const start of starts.sort((a, b) => a - b)) {
      signal?.throwIfAborted()
      const win = this.head.detach(start)
      if (win !== undefined) await this.sealWindow(win)
    }
    await this.checkpoint()
  }

  private async sealWindow(win: HeadWindow): Promise<void> {
    this.sealing.set(win.start, win)
    const position = this.wal.position
    const replace = this.sealMarks.has(win.start)
    try {
      // Only durable points are sealed. Rollups go to storage before the seal mark, in other
      // files: after a crash between, the replay must bring back every point they were computed
      // from, so that each of their series is read from memory and gets its rollups rewritten at
      // the next seal. (A series whose only points were still in the log's buffer would otherwise
      // keep rollups of points that never became durable.)
      await this.wal.commit()
      const chunks: StoredChunk[] = []
      const rollups: SeriesRollup[] = []
      let work = 0
      for (const id of win.ids.slice().sort((a, b) => a - b)) {
        let points: Points = (win.chunks[id] as HeadChunk).view()
        if (replace) {
          const stored = await this.storage.windowChunks(id, win.start, win.end)
          if (stored.length > 0) points = mergeSources([...stored.map(decodeStored), points])
        }
        toChunks(id, points, chunks)
        if (points.timestamps.length > 0) rollups.push(rollupOf(id, points))
        work += points.timestamps.length
        if (work >= SEAL_SLICE) {
          work = 0
          await new Promise((resolve) => setImmediate(resolve))
        }
      }
      await this.storage.writeWindow({
        start: win.start,
        end: win.end,
        replace,
        chunks,
        rollups,
        sealPosition: position,
      })
      // Complete rollups only from a first seal: a re-seal writes the late series' rollups alone,
      // so a window sealed before rollups existed stays read from points (as storage marks it).
      if (!replace) for (const tier of ROLLUP_TIERS) this.rollups.add(tier, win.start)
      this.sealMarks.set(win.start, Math.max(position, this.sealMarks.get(win.start) ?? -1))
      this.counters.seals++
      if (replace) this.counters.lateMerges++
    } catch (err) {
      this.head.restore(win)
      throw err
    } finally {
      this.sealing.delete(win.start)
      this.sealEpoch++
    }
  }

  /** Persists new series, then lets the log drop what every window in memory is past. */
  private async checkpoint(): Promise<void> {
    let target = this.wal.position
    for (const map of [this.head.windows, this.sealing]) {
      for (const w of map.values()) target = Math.min(target, w.firstPosition)
    }
    const pending = this.dict.takeUnpersisted()
    try {
      await this.storage.addSeries(pending)
    } catch (err) {
      this.dict.putBack(pending)
      throw err
    }
    await this.wal.checkpoint(target)
  }

  private async loadLatest(s: SeriesEntry): Promise<void> {
    for (;;) {
      const epoch = this.sealEpoch
      const stored = await this.storage.lastChunk(s.id)
      if (epoch !== this.sealEpoch) continue
      let ts = stored?.endTs ?? Number.NEGATIVE_INFINITY
      let value = stored?.last ?? Number.NaN
      // Memory after storage, the head last: on equal timestamps the later write wins.
      for (const map of this.sources.memory) {
        for (const w of map.values()) {
          const c = w.chunks[s.id]
          if (c === undefined || c.length === 0) continue
          const v = c.view()
          const t = v.timestamps[v.timestamps.length - 1] as number
          if (t >= ts) {
            ts = t
            value = v.values[v.values.length - 1] as number
          }
        }
      }
      s.latestTs = ts
      s.latestValue = value
      s.latestLoaded = true
      return
    }
  }

  private live(): void {
    if (this.closed) throw engineClosed()
  }
}

const decodeStored = (c: StoredChunk): Points => decodeChunk(c.data)

const TIERS: readonly Tier[] = ['raw', '1m', '1h']
const ROLLUP_TIERS = ['1m', '1h'] as const
const dayOf = (ts: number): number => Math.floor(ts / 86_400_000) * 86_400_000

/** Each tier's retention in ms (Infinity: keep all); throws RangeError on a bad value. */
function retentionOf(options: EngineOptions): Record<Tier, number> {
  const r = options.retention ?? {}
  const out = {
    raw: r.rawMs ?? options.retentionMs ?? Number.POSITIVE_INFINITY,
    '1m': r.minuteMs ?? Number.POSITIVE_INFINITY,
    '1h': r.hourMs ?? Number.POSITIVE_INFINITY,
  }
  for (const [tier, ms] of Object.entries(out)) {
    if (!(ms > 0)) throw new RangeError(`retention of ${tier} must be a positive number of ms (got ${ms})`)
  }
  return out
}

async function* empty<T>(): AsyncGenerator<T> {}
