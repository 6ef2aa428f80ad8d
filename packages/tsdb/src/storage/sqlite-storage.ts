/**
 * The embedded ChunkStorage: SQLite files in the engine's directory.
 *
 *   series.db              the series catalogue (id, key, device) and the retention horizon
 *   chunks-YYYYMMDD.db     one per UTC day: that day's chunks and seal marks (day-file.ts)
 *
 * Partitioning by file, as TimescaleDB does by table: retention closes and
 * deletes a day's file (no DELETE, no vacuum, no free-list growth), and a
 * query over a time range opens only its days. Everything here is
 * synchronous underneath (better-sqlite3); the async interface is for
 * backends that are not (PostgreSQL).
 */
import { readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { engineClosed } from '../engine/errors.js'
import type {
  ChunkQuery,
  ChunkStorage,
  ChunkSummary,
  DropResult,
  PartitionInfo,
  SeriesRecord,
  StorageState,
  StoredChunk,
  WindowWrite,
} from './chunk-storage.js'
import { DayFile } from './day-file.js'

export const DAY_MS = 86_400_000
const FILE_PATTERN = /^chunks-(-?\d{4,6})(\d{2})(\d{2})\.db$/
/** Rows per page of a streaming read: summaries are small, chunk bytes are not. */
const SUMMARY_PAGE = 256
const DATA_PAGE = 16

export interface SqliteChunkStorageOptions {
  /** synchronous=FULL on every file (true, the default) or NORMAL (survives a process crash, not a power cut). */
  fsync?: boolean
}

/** `chunks-YYYYMMDD.db` for the UTC day starting at `start`. */
export function dayFileName(start: number): string {
  const d = new Date(start)
  const y = d.getUTCFullYear()
  const year = (y < 0 ? '-' : '') + String(Math.abs(y)).padStart(4, '0')
  const md = String(d.getUTCMonth() + 1).padStart(2, '0') + String(d.getUTCDate()).padStart(2, '0')
  return `chunks-${year}${md}.db`
}

function dayOfFileName(name: string): number | undefined {
  const m = FILE_PATTERN.exec(name)
  if (m === null) return undefined
  const d = new Date(0)
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  return d.getTime()
}

const dayStart = (ts: number): number => Math.floor(ts / DAY_MS) * DAY_MS

export class SqliteChunkStorage implements ChunkStorage {
  private readonly open = new Map<number, DayFile>()
  private closed = false

  private constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
    private readonly catalog: Database.Database,
    /** Day starts with a file, ascending. */
    private days: number[],
  ) {}

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
    } catch (err) {
      catalog.close()
      throw err
    }
    const days: number[] = []
    for (const name of readdirSync(dir)) {
      const day = dayOfFileName(name)
      if (day !== undefined) days.push(day)
    }
    days.sort((a, b) => a - b)
    return new SqliteChunkStorage(dir, fsync, catalog, days)
  }

  async load(): Promise<StorageState> {
    this.live()
    const series = this.catalog
      .prepare('SELECT id, key, device FROM series ORDER BY id')
      .all() as SeriesRecord[]
    const sealMarks = new Map<number, number>()
    for (const day of this.days) {
      for (const [start, position] of this.day(day, false).sealMarks()) sealMarks.set(start, position)
    }
    return { series, sealMarks, droppedBefore: this.droppedBefore() }
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
    const file = this.day(day, true)
    file.write(w.chunks, w.replace ? { start: w.start, end: w.end } : null, {
      start: w.start,
      position: w.sealPosition,
    })
  }

  async *chunks(seriesId: number, q: ChunkQuery): AsyncGenerator<StoredChunk | ChunkSummary> {
    this.live()
    const limit = q.data ? DATA_PAGE : SUMMARY_PAGE
    // Days are looked up again on each page: retention may drop one meanwhile.
    for (const day of this.days.filter((d) => d + DAY_MS > q.from && d < q.to)) {
      let after = Number.NEGATIVE_INFINITY
      for (;;) {
        q.signal?.throwIfAborted()
        if (this.closed || !this.days.includes(day)) break
        const page = this.day(day, false).pageOf(seriesId, after, q.from, q.to, limit, q.data)
        for (const c of page) yield c
        if (page.length < limit) break
        after = (page[page.length - 1] as ChunkSummary).startTs
      }
    }
  }

  async windowChunks(seriesId: number, start: number, end: number): Promise<StoredChunk[]> {
    this.live()
    const day = dayStart(start)
    if (!this.days.includes(day)) return []
    return this.day(day, false).window(seriesId, start, end)
  }

  async lastChunk(seriesId: number): Promise<ChunkSummary | undefined> {
    this.live()
    for (let i = this.days.length - 1; i >= 0; i--) {
      const c = this.day(this.days[i] as number, false).lastChunk(seriesId)
      if (c !== undefined) return c
    }
    return undefined
  }

  async dropBefore(ts: number): Promise<DropResult> {
    this.live()
    const horizon = Math.max(dayStart(ts), this.droppedBefore())
    // The horizon first: once it is durable, a crash halfway through the deletions
    // leaves files that only hold data the engine will never read or write again.
    this.catalog
      .prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('dropped_before', ?)")
      .run(horizon)
    const partitions: PartitionInfo[] = []
    for (const day of this.days.filter((d) => d + DAY_MS <= horizon)) {
      partitions.push(this.info(day))
      this.open.get(day)?.close()
      this.open.delete(day)
      this.days = this.days.filter((d) => d !== day)
      const path = join(this.dir, dayFileName(day))
      for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
    }
    return { droppedBefore: horizon, partitions }
  }

  async partitions(): Promise<PartitionInfo[]> {
    this.live()
    return this.days.map((d) => this.info(d))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const f of this.open.values()) f.close()
    this.open.clear()
    this.catalog.close()
  }

  private droppedBefore(): number {
    const row = this.catalog.prepare("SELECT value FROM meta WHERE name = 'dropped_before'").get() as
      | { value: number }
      | undefined
    return row?.value ?? Number.NEGATIVE_INFINITY
  }

  private info(day: number): PartitionInfo {
    const name = dayFileName(day)
    let bytes = 0
    for (const suffix of ['', '-wal']) {
      try {
        bytes += statSync(join(this.dir, name + suffix)).size
      } catch {}
    }
    return { start: day, end: day + DAY_MS, bytes, name }
  }

  private day(day: number, create: boolean): DayFile {
    let f = this.open.get(day)
    if (f !== undefined) return f
    const exists = this.days.includes(day)
    if (!exists && !create) throw new Error(`no partition for day ${day}`)
    f = new DayFile(join(this.dir, dayFileName(day)), day, { fsync: this.fsync, mustExist: exists })
    this.open.set(day, f)
    if (!exists) {
      this.days.push(day)
      this.days.sort((a, b) => a - b)
    }
    return f
  }

  private live(): void {
    if (this.closed) throw engineClosed('the chunk storage')
  }
}
