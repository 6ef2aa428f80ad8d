/**
 * The embedded ChunkStorage: SQLite files in the engine's directory.
 *
 *   series.db              the series catalogue (id, key, device, retention class) and the
 *                          retention horizons of each class
 *   chunks-YYYYMMDD.db     one per UTC day: that day's chunks and seal marks (day-file.ts)
 *   rollup-1m-YYYYMM.db    one per UTC month: 1-minute rollups of its windows (rollup-file.ts)
 *   rollup-1h-YYYY.db      one per UTC year: 1-hour rollups of its windows
 *
 * for the 'default' retention class, and the same with the class after the
 * prefix (`chunks-<class>-YYYYMMDD.db`, ...) for each other class: every class
 * has its own files, seal marks and horizons (chunk-storage.ts).
 *
 * The catalogue's retention_class column came with classes: a series.db
 * without it gets it added at open, 'default' for every series already there
 * (which is what they were), so a directory from before classes opens as is.
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
import {
  type ChunkQuery,
  type ChunkStorage,
  type ChunkSummary,
  type ClassState,
  DEFAULT_RETENTION_CLASS,
  type DropResult,
  type HourRollup,
  type MinuteRollup,
  type PartitionInfo,
  RETENTION_CLASS_NAME,
  type RollupQuery,
  type RollupTier,
  type SeriesRecord,
  type StorageState,
  type StoredChunk,
  type Tier,
  type WindowWrite,
} from './chunk-storage.js'
import { DayFile, settle } from './day-file.js'
import { CALENDARS, classesIn, DAY_MS, PartitionFiles } from './partition-files.js'
import { RollupFile } from './rollup-file.js'

export { DAY_MS }

/** Rows per page of a streaming read: summaries are small, chunk bytes are not. */
const SUMMARY_PAGE = 256
const DATA_PAGE = 16
const ROLLUP_PAGE = 64
/** The meta row holding each tier's retention horizon (raw's name predates rollups, both predate classes). */
const HORIZON_KEY: Record<Tier, string> = {
  raw: 'dropped_before',
  '1m': 'dropped_before_1m',
  '1h': 'dropped_before_1h',
}
const horizonKey = (tier: Tier, cls: string): string =>
  cls === DEFAULT_RETENTION_CLASS ? HORIZON_KEY[tier] : `${HORIZON_KEY[tier]}:${cls}`

export interface SqliteChunkStorageOptions {
  /** synchronous=FULL on every file (true, the default) or NORMAL (survives a process crash, not a power cut). */
  fsync?: boolean
}

/** `chunks-YYYYMMDD.db` for the UTC day starting at `start`. */
export const dayFileName = (start: number): string => CALENDARS.raw.fileName(start)

const dayStart = (ts: number): number => Math.floor(ts / DAY_MS) * DAY_MS

/** One retention class's partition files and horizons. */
class ClassFiles {
  readonly days: PartitionFiles<DayFile>
  readonly rollups: Record<RollupTier, PartitionFiles<RollupFile>>

  constructor(
    dir: string,
    fsync: boolean,
    readonly name: string,
    /** Each tier's retention horizon, as in the catalogue's meta table. */
    readonly horizons: Record<Tier, number>,
  ) {
    this.days = new PartitionFiles(
      dir,
      'raw',
      (path, start, exists) => new DayFile(path, start, { fsync, mustExist: exists }),
      name,
    )
    const rollupFiles = (tier: RollupTier) =>
      new PartitionFiles(
        dir,
        tier,
        (path, _start, exists) => new RollupFile(path, tier, { fsync, mustExist: exists }),
        name,
      )
    this.rollups = { '1m': rollupFiles('1m'), '1h': rollupFiles('1h') }
  }

  files(tier: Tier): PartitionFiles<DayFile> | PartitionFiles<RollupFile> {
    return tier === 'raw' ? this.days : this.rollups[tier]
  }

  state(): ClassState {
    const sealMarks = new Map<number, number>()
    for (const day of this.days.starts) {
      for (const [start, position] of this.days.get(day, false).sealMarks()) sealMarks.set(start, position)
    }
    const rolledUp = (tier: RollupTier) => {
      const files = this.rollups[tier]
      return files.starts.flatMap((start) => files.get(start, false).complete())
    }
    return {
      sealMarks,
      droppedBefore: this.horizons.raw,
      rollupDroppedBefore: { '1m': this.horizons['1m'], '1h': this.horizons['1h'] },
      rolledUp: { '1m': rolledUp('1m'), '1h': rolledUp('1h') },
    }
  }

  close(): void {
    this.days.close()
    this.rollups['1m'].close()
    this.rollups['1h'].close()
  }
}

export class SqliteChunkStorage implements ChunkStorage {
  private closed = false
  /** Per retention class, opened when first named (or found at open). */
  private readonly classes = new Map<string, ClassFiles>()
  private readonly horizonOf: Database.Statement

  private constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
    private readonly catalog: Database.Database,
  ) {
    this.horizonOf = catalog.prepare('SELECT value FROM meta WHERE name = ?')
    const named = (catalog.prepare('SELECT name FROM meta').pluck().all() as string[])
      .filter((n) => n.includes(':'))
      .map((n) => n.slice(n.indexOf(':') + 1))
      .filter((c) => RETENTION_CLASS_NAME.test(c))
    for (const cls of [DEFAULT_RETENTION_CLASS, ...classesIn(dir), ...named]) this.classFiles(cls)
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
      const columns = catalog.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('series')
      if (!columns.includes('retention_class')) {
        // A catalogue from before classes: its series are all the 'default' class's.
        catalog.exec(
          `ALTER TABLE series ADD COLUMN retention_class TEXT NOT NULL DEFAULT '${DEFAULT_RETENTION_CLASS}'`,
        )
      }
      return new SqliteChunkStorage(dir, fsync, catalog)
    } catch (err) {
      catalog.close()
      throw err
    }
  }

  async load(): Promise<StorageState> {
    this.live()
    const rows = this.catalog
      .prepare('SELECT id, key, device, retention_class FROM series ORDER BY id')
      .raw(true)
      .all() as [number, string, string, string][]
    const series: SeriesRecord[] = rows.map(([id, key, device, retentionClass]) => ({
      id,
      key,
      device,
      retentionClass,
    }))
    const classes = new Map<string, ClassState>()
    for (const [name, c] of this.classes) if (name !== DEFAULT_RETENTION_CLASS) classes.set(name, c.state())
    return { series, ...this.classFiles(DEFAULT_RETENTION_CLASS).state(), classes }
  }

  async addSeries(records: readonly SeriesRecord[]): Promise<void> {
    this.live()
    if (records.length === 0) return
    const insert = this.catalog.prepare(
      'INSERT OR IGNORE INTO series (id, key, device, retention_class) VALUES (?, ?, ?, ?)',
    )
    this.catalog.transaction(() => {
      for (const r of records) insert.run(r.id, r.key, r.device, r.retentionClass ?? DEFAULT_RETENTION_CLASS)
    })()
    // New series come in bursts (a fleet's first hour), then rarely: keep no -wal between (day-file.ts).
    settle(this.catalog)
  }

  async writeWindow(w: WindowWrite): Promise<void> {
    this.live()
    const day = dayStart(w.start)
    if (dayStart(w.end - 1) !== day) throw new RangeError(`window [${w.start}, ${w.end}) spans two days`)
    const c = this.classFiles(w.retentionClass)
    // Rollups first (see the header): the seal mark comes last.
    for (const tier of ['1m', '1h'] as const) {
      if (w.start < c.horizons[tier] || (w.replace && w.rollups.length === 0)) continue
      const files = c.rollups[tier]
      files.get(files.calendar.start(w.start), true).write(w.start, w.rollups, !w.replace)
    }
    c.days.get(day, true).write(w.chunks, w.replace ? { start: w.start, end: w.end } : null, {
      start: w.start,
      position: w.sealPosition,
    })
  }

  async *chunks(seriesId: number, q: ChunkQuery): AsyncGenerator<StoredChunk | ChunkSummary> {
    this.live()
    const days = this.classFiles(q.retentionClass).days
    const limit = q.data ? DATA_PAGE : SUMMARY_PAGE
    // Partitions are looked up again on each page: retention may drop one meanwhile.
    for (const day of days.overlapping(q.from, q.to)) {
      let after = Number.NEGATIVE_INFINITY
      for (;;) {
        q.signal?.throwIfAborted()
        if (this.closed || !days.has(day)) break
        const page = days.get(day, false).pageOf(seriesId, after, q.from, q.to, limit, q.data)
        for (const c of page) yield c
        if (page.length < limit) break
        after = (page[page.length - 1] as ChunkSummary).startTs
      }
    }
  }

  async windowChunks(seriesId: number, start: number, end: number, cls?: string): Promise<StoredChunk[]> {
    this.live()
    const days = this.classFiles(cls).days
    const day = dayStart(start)
    if (!days.has(day)) return []
    return days.get(day, false).window(seriesId, start, end)
  }

  async lastChunk(seriesId: number, cls?: string): Promise<ChunkSummary | undefined> {
    this.live()
    const files = this.classFiles(cls).days
    const days = files.starts
    for (let i = days.length - 1; i >= 0; i--) {
      const c = files.get(days[i] as number, false).lastChunk(seriesId)
      if (c !== undefined) return c
    }
    return undefined
  }

  minuteRollups(seriesId: number, q: RollupQuery): AsyncIterable<MinuteRollup> {
    const files = this.classFiles(q.retentionClass).rollups['1m']
    return this.rollupRows(files, seriesId, q) as AsyncIterable<MinuteRollup>
  }

  hourRollups(seriesId: number, q: RollupQuery): AsyncIterable<HourRollup> {
    const files = this.classFiles(q.retentionClass).rollups['1h']
    return this.rollupRows(files, seriesId, q) as AsyncIterable<HourRollup>
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

  async dropBefore(ts: number, tier: Tier = 'raw', cls?: string): Promise<DropResult> {
    this.live()
    const c = this.classFiles(cls)
    const files = c.files(tier)
    const horizon = Math.max(files.calendar.start(ts), c.horizons[tier])
    // The horizon first: once it is durable, a crash halfway through the deletions
    // leaves files that only hold data the engine will never read or write again.
    this.catalog
      .prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)')
      .run(horizonKey(tier, c.name), horizon)
    settle(this.catalog)
    c.horizons[tier] = horizon
    return { droppedBefore: horizon, partitions: files.dropBefore(horizon) }
  }

  async partitions(): Promise<PartitionInfo[]> {
    this.live()
    return [...this.classes.values()].flatMap((c) =>
      [c.days, c.rollups['1m'], c.rollups['1h']].flatMap((files) => files.starts.map((s) => files.info(s))),
    )
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const c of this.classes.values()) c.close()
    this.catalog.close()
  }

  /** A class's files, opened the first time it is named; 'default' first in the map (partitions()' order). */
  private classFiles(cls: string = DEFAULT_RETENTION_CLASS): ClassFiles {
    let c = this.classes.get(cls)
    if (c !== undefined) return c
    if (!RETENTION_CLASS_NAME.test(cls)) throw new RangeError(`bad retention class ${JSON.stringify(cls)}`)
    const read = (tier: Tier) =>
      (this.horizonOf.get(horizonKey(tier, cls)) as { value: number } | undefined)?.value ??
      Number.NEGATIVE_INFINITY
    c = new ClassFiles(this.dir, this.fsync, cls, { raw: read('raw'), '1m': read('1m'), '1h': read('1h') })
    this.classes.set(cls, c)
    return c
  }

  private live(): void {
    if (this.closed) throw engineClosed('the chunk storage')
  }
}
