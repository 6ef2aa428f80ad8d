/**
 * The embedded ChunkStorage: SQLite files in the engine's directory.
 *
 *   series.db              the series catalogue (id, key, device) and the retention horizons
 *   chunks-YYYYMMDD.db     one per UTC day: that day's chunks and seal marks (day-file.ts)
 *   rollup-1m-YYYYMM.db    one per UTC month: 1-minute rollups of its windows (rollup-file.ts)
 *   rollup-1h-YYYY.db      one per UTC year: 1-hour rollups of its windows
 *
 * Partitioning by file, as TimescaleDB does by table: retention closes and
 * deletes a partition's file (no DELETE, no vacuum, no free-list growth), and a
 * query over a time range opens only its partitions. Everything here is
 * synchronous underneath (better-sqlite3); the async interface is for
 * backends that are not (PostgreSQL).
 *
 * A window's write touches up to three files, and SQLite cannot commit across
 * files atomically in WAL mode; so the order is the argument: rollups first
 * (upserts, idempotent), then chunks with the seal mark in one transaction.
 * A crash between leaves rollups without the seal mark, which the engine
 * redoes (chunk-storage.ts, writeWindow).
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { engineClosed } from '../engine/errors.js'
import type {
  ChunkQuery,
  ChunkStorage,
  ChunkSummary,
  DropResult,
  HourRollup,
  MinuteRollup,
  PartitionInfo,
  RollupQuery,
  RollupTier,
  SeriesRecord,
  StorageState,
  StoredChunk,
  Tier,
  WindowWrite,
} from './chunk-storage.js'
import { DayFile } from './day-file.js'
import { CALENDARS, DAY_MS, PartitionFiles } from './partition-files.js'
import { RollupFile } from './rollup-file.js'

export { DAY_MS }

/** Rows per page of a streaming read: summaries are small, chunk bytes are not. */
const SUMMARY_PAGE = 256
const DATA_PAGE = 16
const ROLLUP_PAGE = 64
/** The meta row holding each tier's retention horizon (raw's name predates rollups). */
const HORIZON_KEY: Record<Tier, string> = {
  raw: 'dropped_before',
  '1m': 'dropped_before_1m',
  '1h': 'dropped_before_1h',
}

export interface SqliteChunkStorageOptions {
  /** synchronous=FULL on every file (true, the default) or NORMAL (survives a process crash, not a power cut). */
  fsync?: boolean
}

/** `chunks-YYYYMMDD.db` for the UTC day starting at `start`. */
export const dayFileName = (start: number): string => CALENDARS.raw.fileName(start)

const dayStart = (ts: number): number => Math.floor(ts / DAY_MS) * DAY_MS

export class SqliteChunkStorage implements ChunkStorage {
  private closed = false
  /** Each tier's retention horizon, as in the catalogue's meta table. */
  private readonly horizons: Record<Tier, number>
  private readonly days: PartitionFiles<DayFile>
  private readonly rollups: Record<RollupTier, PartitionFiles<RollupFile>>

  private constructor(
    dir: string,
    fsync: boolean,
    private readonly catalog: Database.Database,
  ) {
    this.days = new PartitionFiles(dir, 'raw', (path, start, exists) => {
      return new DayFile(path, start, { fsync, mustExist: exists })
    })
    const rollupFiles = (tier: RollupTier) =>
      new PartitionFiles(
        dir,
        tier,
        (path, _start, exists) => new RollupFile(path, tier, { fsync, mustExist: exists }),
      )
    this.rollups = { '1m': rollupFiles('1m'), '1h': rollupFiles('1h') }
    const horizon = catalog.prepare('SELECT value FROM meta WHERE name = ?')
    const read = (tier: Tier) =>
      (horizon.get(HORIZON_KEY[tier]) as { value: number } | undefined)?.value ?? Number.NEGATIVE_INFINITY
    this.horizons = { raw: read('raw'), '1m': read('1m'), '1h': read('1h') }
  }

  /** Opens (creating if needed) the storage in `dir`, which must exist. */
  static async open(dir: string, options: SqliteChunkStorageOptions = {}): Promise<SqliteChunkStorage> {
    const fsync = options.fsync ?? true
    const catalog = new Database(join(dir, 'series.db'))
    try {
      catalog.pragma('journal_mode = WAL')
      catalog.pragma(`synchronous = ${fsync ? 'FULL' : 'NORMAL'}`)
      catalog.exec(`
        CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, device TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS series_device ON series (device);
        CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
      `)
      return new SqliteChunkStorage(dir, fsync, catalog)
    } catch (err) {
      catalog.close()
      throw err
    }
  }

  async load(): Promise<StorageState> {
    this.live()
    const series = this.catalog
      .prepare('SELECT id, key, device FROM series ORDER BY id')
      .all() as SeriesRecord[]
    const sealMarks = new Map<number, number>()
    for (const day of this.days.starts) {
      for (const [start, position] of this.days.get(day, false).sealMarks()) sealMarks.set(start, position)
    }
    const rolledUp = (tier: RollupTier) => {
      const files = this.rollups[tier]
      return files.starts.flatMap((start) => files.get(start, false).complete())
    }
    return {
      series,
      sealMarks,
      droppedBefore: this.horizon('raw'),
      rollupDroppedBefore: { '1m': this.horizon('1m'), '1h': this.horizon('1h') },
      rolledUp: { '1m': rolledUp('1m'), '1h': rolledUp('1h') },
    }
  }

  async addSeries(records: readonly SeriesRecord[]): Promise<void> {
    this.live()
    if (records.length === 0) return
    const insert = this.catalog.prepare('INSERT OR IGNORE INTO series (id, key, device) VALUES (?, ?, ?)')
    this.catalog.transaction(() => {
      for (const r of records) insert.run(r.id, r.key, r.device)
    })()
  }

  async writeWindow(w: WindowWrite): Promise<void> {
    this.live()
    const day = dayStart(w.start)
    if (dayStart(w.end - 1) !== day) throw new RangeError(`window [${w.start}, ${w.end}) spans two days`)
    // Rollups first (see the header): the seal mark comes last.
    for (const tier of ['1m', '1h'] as const) {
      if (w.start < this.horizon(tier) || (w.replace && w.rollups.length === 0)) continue
      const files = this.rollups[tier]
      files.get(files.calendar.start(w.start), true).write(w.start, w.rollups, !w.replace)
    }
    this.days.get(day, true).write(w.chunks, w.replace ? { start: w.start, end: w.end } : null, {
      start: w.start,
      position: w.sealPosition,
    })
  }

  async *chunks(seriesId: number, q: ChunkQuery): AsyncGenerator<StoredChunk | ChunkSummary> {
    this.live()
    const limit = q.data ? DATA_PAGE : SUMMARY_PAGE
    // Partitions are looked up again on each page: retention may drop one meanwhile.
    for (const day of this.days.overlapping(q.from, q.to)) {
      let after = Number.NEGATIVE_INFINITY
      for (;;) {
        q.signal?.throwIfAborted()
        if (this.closed || !this.days.has(day)) break
        const page = this.days.get(day, false).pageOf(seriesId, after, q.from, q.to, limit, q.data)
        for (const c of page) yield c
        if (page.length < limit) break
        after = (page[page.length - 1] as ChunkSummary).startTs
      }
    }
  }

  async windowChunks(seriesId: number, start: number, end: number): Promise<StoredChunk[]> {
    this.live()
    const day = dayStart(start)
    if (!this.days.has(day)) return []
    return this.days.get(day, false).window(seriesId, start, end)
  }

  async lastChunk(seriesId: number): Promise<ChunkSummary | undefined> {
    this.live()
    const days = this.days.starts
    for (let i = days.length - 1; i >= 0; i--) {
      const c = this.days.get(days[i] as number, false).lastChunk(seriesId)
      if (c !== undefined) return c
    }
    return undefined
  }

  minuteRollups(seriesId: number, q: RollupQuery): AsyncIterable<MinuteRollup> {
    return this.rollupRows(this.rollups['1m'], seriesId, q) as AsyncIterable<MinuteRollup>
  }

  hourRollups(seriesId: number, q: RollupQuery): AsyncIterable<HourRollup> {
    return this.rollupRows(this.rollups['1h'], seriesId, q) as AsyncIterable<HourRollup>
  }

  private async *rollupRows(
    files: PartitionFiles<RollupFile>,
    seriesId: number,
    q: RollupQuery,
  ): AsyncGenerator<MinuteRollup | HourRollup> {
    this.live()
    for (const start of files.overlapping(q.from, q.to)) {
      let after = q.from - 1
      for (;;) {
        q.signal?.throwIfAborted()
        if (this.closed || !files.has(start)) break
        const page = files.get(start, false).pageOf(seriesId, after, q.to, ROLLUP_PAGE)
        for (const r of page) yield r
        if (page.length < ROLLUP_PAGE) break
        after = (page[page.length - 1] as MinuteRollup).windowStart
      }
    }
  }

  async dropBefore(ts: number, tier: Tier = 'raw'): Promise<DropResult> {
    this.live()
    const files = tier === 'raw' ? this.days : this.rollups[tier]
    const horizon = Math.max(files.calendar.start(ts), this.horizon(tier))
    // The horizon first: once it is durable, a crash halfway through the deletions
    // leaves files that only hold data the engine will never read or write again.
    this.catalog
      .prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)')
      .run(HORIZON_KEY[tier], horizon)
    this.horizons[tier] = horizon
    return { droppedBefore: horizon, partitions: files.dropBefore(horizon) }
  }

  async partitions(): Promise<PartitionInfo[]> {
    this.live()
    return [this.days, this.rollups['1m'], this.rollups['1h']].flatMap((files) =>
      files.starts.map((s) => files.info(s)),
    )
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.days.close()
    this.rollups['1m'].close()
    this.rollups['1h'].close()
    this.catalog.close()
  }

  private horizon(tier: Tier): number {
    return this.horizons[tier]
  }

  private live(): void {
    if (this.closed) throw engineClosed('the chunk storage')
  }
}
