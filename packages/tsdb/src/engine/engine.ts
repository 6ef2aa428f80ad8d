/**
 * TimeSeriesEngine: the write path (log, then head), sealing (head → chunks
 * in storage → log checkpoint), recovery, and the queries (issue 4).
 *
 * Durability: write() resolves once its points are in the write-ahead log
 * (group commit: concurrent writers share an fdatasync). A window is sealed
 * when the wall clock passes its end plus a grace period (or on flush()): its
 * chunks are encoded and written to storage in one transaction per retention
 * class, with the window's seal mark (the log position when the seal began),
 * and then the log is checkpointed up to the first record of the oldest
 * window still in memory. After a crash, open() replays the log from the
 * checkpoint into the head, skipping points of windows whose seal mark (of
 * the series' class) is past them: nothing whose write() resolved is lost,
 * and nothing is stored twice.
 *
 * Rollups: the seal also computes each series' 1-minute and 1-hour rollups
 * from the window's final points (rollup.ts) and hands them to storage with
 * the chunks, rollups written before the seal mark; a late point's re-seal
 * recomputes them from the merged points. Aggregates read them where the
 * answer is the same (plan.ts).
 *
 * Retention (retention.ts): each series has a retention class, decided when
 * it is created (`retentionClassOf`); each class keeps raw days, rollup
 * months and rollup years for its own durations (`retention` for 'default',
 * `retentionClasses`), dropped as whole partitions. With `archive`, raw
 * partitions are exported to Parquet before they are dropped, and queries
 * read them back below the raw horizon (cold.ts).
 *
 * Reading this file: the class is the engine's facade, in the order of a
 * point's life: open() and recovery (replay of the log into the head), write(),
 * the queries (raw, aggregate, pickBucket, downsample, latest: thin, over
 * query.ts, plan.ts, downsample.ts and cold.ts), maintenance (flush, retention
 * classes, dropBefore over drop.ts, stats, close), then sealing (seal,
 * sealWindow, checkpoint) and the lazy latest-value lookup at the end.
 *
 * Directory: `wal/` (the log), `series.db`, `chunks-YYYYMMDD.db`,
 * `rollup-1m-YYYYMM.db` and `rollup-1h-YYYY.db` (the embedded storage,
 * unless another ChunkStorage is given; other classes' files carry the class
 * after the prefix), and `archive/` (the default archive directory).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { MAX_TIMESTAMP } from '../codec/timestamps.js'
import type {
  ChunkStorage,
  PartitionInfo,
  SeriesRecord,
  StorageState,
  Tier,
} from '../storage/chunk-storage.js'
import { SqliteChunkStorage } from '../storage/sqlite-storage.js'
import { Wal, type WalPoint } from '../wal/index.js'
import type { PointColumns } from '../wal/record-codec.js'
import type { AggregateBatch, AggregateFunction } from './aggregate.js'
import { NEW_CLASS, RetentionClassState } from './class-state.js'
import { ColdTier } from './cold.js'
import { downsampleQuery } from './downsample.js'
import { type DropHost, dropBefore } from './drop.js'
import { engineClosed, TsdbEngineError } from './errors.js'
import { Head, type HeadWindow, WINDOW_MS } from './head.js'
import type {
  AggregateOptions,
  EngineOptions,
  EnginePoint,
  EngineStats,
  LatestPoint,
  QueryOptions,
} from './options.js'
import { pickBucket } from './pick-bucket.js'
import { checkAvailable, finestAvailable } from './plan.js'
import { aggregateQuery, checkAggregate, checkRange, type PointBatch, rawQuery } from './query.js'
import {
  checkClassName,
  DEFAULT_CLASS,
  type Drop,
  Maintenance,
  type RetentionOptions,
  retentionClasses,
  TIERS,
} from './retention.js'
import { defaultDeviceOf, SeriesDictionary, type SeriesEntry } from './series.js'

export type {
  AggregateOptions,
  ArchiveOptions,
  EngineOptions,
  EnginePoint,
  EngineStats,
  LatestPoint,
  QueryOptions,
} from './options.js'
export type { RetentionOptions } from './retention.js'

const DEFAULT_GRACE_MS = 300_000
const DEFAULT_SEAL_CHECK_MS = 10_000

export class TimeSeriesEngine {
  private readonly head = new Head()
  /** Windows detached from the head and being written to storage. */
  private readonly sealing = new Map<number, HeadWindow>()
  private readonly dict: SeriesDictionary
  private readonly classes = new Map<string, RetentionClassState>()
  /** The largest expireBefore of any class: a point at or after it is never expired. */
  private maxExpire = Number.NEGATIVE_INFINITY
  /** Serialises seals, retention and checkpoints. */
  private chain: Promise<unknown> = Promise.resolve()
  /** Counts finished seals: latest() retries when one ran during its storage lookup. */
  private sealEpoch = 0
  private maintenance: Maintenance | undefined
  private closed = false
  /** Aborted by close(): stops an archive export under way. */
  private readonly closing = new AbortController()
  private readonly counters = { seals: 0, lateMerges: 0, expiredPoints: 0, replayedPoints: 0 }
  private readonly graceMs: number
  private readonly now: () => number
  private readonly archive: { dir: string; query: boolean; fsync: boolean } | undefined

  private constructor(
    private readonly wal: Wal,
    private readonly storage: ChunkStorage,
    state: StorageState,
    dir: string,
    private readonly options: EngineOptions,
  ) {
    this.dict = new SeriesDictionary(options.deviceOf ?? defaultDeviceOf)
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS
    this.now = options.now ?? Date.now
    const a = options.archive
    this.archive =
      a === undefined
        ? undefined
        : { dir: a.dir ?? join(dir, 'archive'), query: a.query ?? true, fsync: options.fsync ?? true }
    this.addClass(DEFAULT_CLASS, state)
    for (const [name, s] of state.classes) this.addClass(name, s)
  }

  /** Opens (creating) the engine in `dir` and replays its log from the checkpoint into memory. */
  static async open(dir: string, options: EngineOptions = {}): Promise<TimeSeriesEngine> {
    options.signal?.throwIfAborted()
    const fsync = options.fsync ?? true
    await mkdir(dir, { recursive: true })
    const walOptions = { fsync, signal: options.signal, segmentBytes: options.walSegmentBytes }
    const retention = retentionClasses(options) // bad retention throws before anything is opened
    const wal = await Wal.open(join(dir, 'wal'), walOptions)
    let storage = options.storage
    try {
      storage ??= await SqliteChunkStorage.open(dir, { fsync })
      const state = await storage.load()
      const engine = new TimeSeriesEngine(wal, storage, state, dir, options)
      await engine.recover(state.series, options.signal)
      const everyMs = options.sealCheckMs ?? DEFAULT_SEAL_CHECK_MS
      if (everyMs > 0) engine.startMaintenance(everyMs, retention)
      return engine
    } catch (err) {
      await storage?.close().catch(() => {})
      await wal.close().catch(() => {})
      throw err
    }
  }

  private startMaintenance(everyMs: number, retention: ReturnType<typeof retentionClasses>): void {
    const host = {
      windowStarts: () => this.head.windows.keys(),
      serial: (job: () => Promise<void>) => this.serial(job),
      seal: (starts: number[]) => this.seal(starts),
      drop: (d: Drop) => this.drop(d.cutoff, d.tier, d.retentionClass),
      onError: (err: unknown) => this.options.onError?.(err),
    }
    this.maintenance = new Maintenance(host, { everyMs, graceMs: this.graceMs, now: this.now, retention })
  }

  /** The state of a class, created (empty) the first time it is named. */
  private addClass(name: string, state = NEW_CLASS): RetentionClassState {
    let c = this.classes.get(name)
    if (c !== undefined) return c
    const a = this.archive
    const cold = a === undefined ? undefined : new ColdTier(a, name, state.droppedBefore)
    c = new RetentionClassState(name, this.storage, state, [this.sealing, this.head.windows], cold)
    this.classes.set(name, c)
    this.maxExpire = Math.max(this.maxExpire, c.expireBefore)
    return c
  }

  private classOf(s: SeriesEntry): RetentionClassState {
    return this.classes.get(s.retentionClass) ?? this.addClass(s.retentionClass)
  }

  private async recover(series: readonly SeriesRecord[], signal?: AbortSignal): Promise<void> {
    for (const s of series) this.dict.add(s.id, s.key, true, s.device, s.retentionClass ?? DEFAULT_CLASS)
    for await (const r of this.wal.replayColumns({ signal })) {
      if (r.type === 'series') {
        this.dict.add(r.id, r.key, false, undefined, r.retentionClass)
        continue
      }
      this.replay(r.cols, r.start, r.end, r.position)
    }
  }

  /** Adds a replayed record's points (cols[start, end)) to the head, but those retention dropped or a seal stored. */
  private replay(cols: PointColumns, start: number, end: number, position: number): void {
    const byId = this.dict.byId
    const { series, ts } = cols
    // The common case, one class and nothing expired: the record as it is.
    const only =
      this.classes.size === 1 ? (this.classes.values().next().value as RetentionClassState) : undefined
    let whole = only !== undefined
    const expireBefore = only?.expireBefore ?? Number.NEGATIVE_INFINITY
    // Batches are mostly series-major: a run of one series' points is looked up once.
    let prev = -1
    for (let i = start; i < end; i++) {
      const id = series[i] as number
      if (id !== prev) {
        const s = byId[id]
        if (s === undefined) {
          throw new TsdbEngineError(
            'STRATA_TSDB_CATALOG_CONFLICT',
            `the log has points of series id ${id} (at ${position}) but no series record for it`,
          )
        }
        if (s.retentionClass !== only?.name) whole = false
        prev = id
      }
      if ((ts[i] as number) < expireBefore) whole = false
    }
    if (whole) {
      const marks = (only as RetentionClassState).sealMarks
      this.counters.replayedPoints += this.head.insertColumns(cols, start, end, position, marks)
      return
    }
    // Per class: its own horizon and seal marks say which points are stored or gone.
    const groups = new Map<RetentionClassState, WalPoint[]>()
    for (let i = start; i < end; i++) {
      const p: WalPoint = {
        series: series[i] as number,
        ts: ts[i] as number,
        value: cols.values[i] as number,
      }
      const c = this.classOf(byId[p.series] as SeriesEntry)
      if (p.ts < c.expireBefore) {
        this.counters.expiredPoints++
        continue
      }
      const list = groups.get(c)
      if (list === undefined) groups.set(c, [p])
      else list.push(p)
    }
    for (const [c, list] of groups)
      this.counters.replayedPoints += this.head.insert(list, position, c.sealMarks)
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
    const horizon = this.maxExpire
    for (let i = 0; i < n; i++) {
      const p = points[i] as EnginePoint
      const s = this.dict.byKey.get(p.series) ?? this.newSeries(p.series)
      // The log takes ±2^51, a chunk ±(2^51 - 1): refuse here what could never be sealed.
      if (p.ts > MAX_TIMESTAMP || p.ts < -MAX_TIMESTAMP) {
        throw new RangeError(`point ${i}: timestamp ${p.ts} is not within ±(2^51 - 1) ms`)
      }
      if (p.ts < horizon && p.ts < this.classOf(s).expireBefore) continue
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
    const device = this.dict.device(key)
    const retentionClass = checkClassName(this.options.retentionClassOf?.(key, device) ?? DEFAULT_CLASS)
    const id = this.dict.allocateId()
    this.wal.append({ type: 'series', id, key, retentionClass })
    return this.dict.add(id, key, false, device, retentionClass)
  }

  /** One series' points in [from, to), in time order, in batches (archived points first, if any). */
  raw(series: string, from: number, to: number, options: QueryOptions = {}): AsyncIterable<PointBatch> {
    this.live()
    checkRange(from, to)
    const s = this.dict.byKey.get(series)
    if (s === undefined) return empty()
    return rawQuery(this.classOf(s).sources, s, from, to, options.signal)
  }

  /**
   * Per series (in the order given), the aggregate of each bucket of
   * `bucketMs` with points in [from, to). Each part of the range is read from
   * the finest source that gives the exact answer, in this order: points in
   * storage and memory; where retention dropped them, the rollups left (whole
   * rollup buckets, when the bucket is a multiple of theirs; sealed windows
   * are read from rollups too, the same answer without decoding chunks); and
   * where those cannot answer, the archive's points (when it is read). A
   * bucket that none of them can answer, finer than the rollups left with no
   * archive to read, throws RangeError (see plan.ts).
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
    const entries = series.map((key) => this.dict.byKey.get(key))
    const used = new Set<RetentionClassState>()
    for (const s of entries) if (s !== undefined) used.add(this.classOf(s))
    if (options.maxPoints !== undefined)
      bucketMs = this.pickBucketFor([...used], from, to, options.maxPoints, bucketMs)
    if (rollups) {
      for (const c of used) {
        if (c.cold?.query !== true) checkAvailable(from, to, bucketMs, c.droppedBefore, c.rollups)
      }
    }
    const signal = options.signal
    const classOf = (s: SeriesEntry) => this.classOf(s)
    return (async function* () {
      for (const s of entries) {
        if (s === undefined) continue
        const q = { series: s.key, id: s.id, from, to, bucketMs, fn, rollups, signal }
        yield* aggregateQuery(classOf(s).sources, q)
      }
    })()
  }

  /**
   * The bucket aggregate() would use for a budget of `maxPoints` buckets over
   * [from, to): the smallest round bucket of at least `minBucketMs` that fits,
   * and that what retention left (in every class) can answer (pick-bucket.ts).
   */
  pickBucket(from: number, to: number, maxPoints: number, minBucketMs = 1): number {
    return this.pickBucketFor([...this.classes.values()], from, to, maxPoints, minBucketMs)
  }

  private pickBucketFor(
    classes: readonly RetentionClassState[],
    from: number,
    to: number,
    maxPoints: number,
    minBucketMs: number,
  ): number {
    // 1, a minute or an hour: each divides the next, so the largest is a multiple of all.
    let multipleOf = 1
    for (const c of classes) {
      if (c.cold?.query === true) continue
      multipleOf = Math.max(multipleOf, finestAvailable(from, to, c.droppedBefore, c.rollups))
    }
    return pickBucket(from, to, maxPoints, { minBucketMs, multipleOf })
  }

  /**
   * At most `maxPoints` points of the series over [from, to) for a chart, by
   * LTTB (lttb.ts): real points, the first and last kept, read as a stream.
   * Where retention dropped the points, the rollups' 1-minute (else 1-hour)
   * averages stand in for them, at their bucket starts; where no rollup is
   * left either, the archive's points (when it is read).
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
    const c = s === undefined ? this.addClass(DEFAULT_CLASS) : this.classOf(s)
    return downsampleQuery(c.sources, s, from, to, maxPoints, c.horizons, options)
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
   * Replaces the retention of the classes other than 'default' (as `retentionClasses` at open;
   * 'default' keeps what `retention` set, unless named here), from the timer's next check on:
   * the platform calls it when a device type's retention changes. A class left out keeps
   * everything from then on. Throws RangeError, changing nothing, on a bad name or duration.
   * Series keep their class: this changes how long a class keeps data, not which class a
   * series is in.
   */
  setRetentionClasses(classes: Readonly<Record<string, RetentionOptions>>): void {
    this.live()
    const { retention, retentionMs } = this.options
    const map = retentionClasses({ retention, retentionMs, retentionClasses: classes })
    this.maintenance?.setRetention(map)
  }

  /**
   * Drops a tier's partitions before `ts` (rounded down to the tier's
   * partitions: a day for raw points, a month for 1-minute rollups, a year
   * for 1-hour ones), of one retention class or (by default) of every class;
   * for raw, also any points before it in memory. With an archive, raw
   * partitions are exported first (and points in memory sealed into them).
   */
  dropBefore(ts: number, tier: Tier = 'raw', retentionClass?: string): Promise<void> {
    this.live()
    if (!Number.isFinite(ts)) throw new RangeError(`dropBefore needs a finite time (got ${ts})`)
    if (!TIERS.includes(tier))
      throw new RangeError(`unknown tier ${JSON.stringify(tier)} (one of ${TIERS.join(', ')})`)
    const names = retentionClass === undefined ? [...this.classes.keys()] : [checkClassName(retentionClass)]
    return this.serial(async () => {
      for (const name of names) await this.drop(ts, tier, name)
    })
  }

  /** Every storage partition (raw days and rollup files, of every class), with its tier, class and bytes. */
  partitions(): Promise<PartitionInfo[]> {
    this.live()
    return this.storage.partitions()
  }

  private drop(ts: number, tier: Tier, name: string): Promise<void> {
    const host: DropHost = {
      storage: this.storage,
      head: this.head,
      dict: this.dict,
      signal: this.closing.signal,
      sealBefore: (t) => this.seal([...this.head.windows.keys()].filter((start) => start + WINDOW_MS <= t)),
      expired: () => {
        this.maxExpire = Math.max(...[...this.classes.values()].map((x) => x.expireBefore))
      },
      checkpoint: () => this.checkpoint(),
    }
    return dropBefore(host, this.addClass(name), ts, tier)
  }

  get stats(): EngineStats {
    const rollupWindows = { '1m': 0, '1h': 0 }
    const archived = { partitions: 0, points: 0 }
    for (const c of this.classes.values()) {
      rollupWindows['1m'] += c.rollups.size('1m')
      rollupWindows['1h'] += c.rollups.size('1h')
      archived.partitions += c.cold?.stats.partitions ?? 0
      archived.points += c.cold?.stats.points ?? 0
    }
    return {
      ...this.counters,
      series: this.dict.size,
      headPoints: this.head.points,
      headWindows: this.head.windows.size,
      rollupWindows,
      archived,
      wal: this.wal.stats,
    }
  }

  /** Stops sealing, stops an archive export, waits for a seal under way, and closes the log and storage. Unsealed points stay in the log. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.maintenance?.stop()
    this.closing.abort()
    await this.chain.catch(() => {})
    await this.wal.close()
    await this.storage.close()
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

  /** Seals one window: one write per retention class of its series, each with that class's seal mark. */
  private async sealWindow(win: HeadWindow): Promise<void> {
    this.sealing.set(win.start, win)
    const position = this.wal.position
    let merged = false
    try {
      // Only durable points are sealed. Rollups go to storage before the seal mark, in other
      // files: after a crash between, the replay must bring back every point they were computed
      // from, so that each of their series is read from memory and gets its rollups rewritten at
      // the next seal. (A series whose only points were still in the log's buffer would otherwise
      // keep rollups of points that never became durable.)
      await this.wal.commit()
      const byClass = new Map<RetentionClassState, number[]>()
      for (const id of win.ids.slice().sort((a, b) => a - b)) {
        const c = this.classOf(this.dict.byId[id] as SeriesEntry)
        const ids = byClass.get(c)
        if (ids === undefined) byClass.set(c, [id])
        else ids.push(id)
      }
      for (const [c, ids] of byClass) {
        if (c.sealMarks.has(win.start)) merged = true
        await c.seal(win, ids, position)
      }
      this.counters.seals++
      if (merged) this.counters.lateMerges++
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
      const stored = await this.storage.lastChunk(s.id, s.retentionClass)
      if (epoch !== this.sealEpoch) continue
      let ts = stored?.endTs ?? Number.NEGATIVE_INFINITY
      let value = stored?.last ?? Number.NaN
      // Memory after storage, the head last: on equal timestamps the later write wins.
      for (const map of [this.sealing, this.head.windows]) {
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

async function* empty<T>(): AsyncGenerator<T> {}
