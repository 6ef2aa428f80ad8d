/**
 * One rollup partition of the embedded storage: a SQLite file (WAL mode)
 * holding one tier's rollups of the windows in its month (1-minute:
 * `rollup-1m-YYYYMM.db`) or year (1-hour: `rollup-1h-YYYY.db`), and which of
 * those windows' rollups are complete.
 *
 * Rows are keyed by (series, window), and writes are upserts, so writing a
 * window's rollups again (a re-seal after late points, or a seal retried
 * after a crash) replaces them.
 *
 * Layout, measured on the benchmark's data (docs/benchmarks.md, 1,000
 * series x 3 h): the 1-minute table is a rowid table with a unique index on
 * the key, in 16 KiB pages; the 1-hour table (seven numbers a row) stays
 * WITHOUT ROWID, in 4 KiB pages: its rows never overflow. Files made before
 * have a WITHOUT ROWID 1-minute table in 8 KiB pages, and are read and
 * written as they are (same columns, same statements).
 *
 * Why: a WITHOUT ROWID row keeps at most about 2,000 bytes of an 8 KiB page
 * in the b-tree and moves the rest to an overflow page of its own; a
 * full-precision series' hour of minutes is 2-3 KB, so each such row took a
 * mostly empty 8 KiB page (6.3 MB of file for 1.9 MB of blobs, 0.58
 * bytes/point). A rowid table keeps rows up to a page in its leaves, and
 * rows are appended, so a leaf is left with whatever space the next row did
 * not fit in: about half a row, per page. With 2-3 KB rows that is what the
 * page size decides: blobs of 2-3 KB alone took 79% more file than their
 * bytes in 4 KiB pages, 21% in 8 KiB, 7% in 16 KiB (11% in 32 KiB); the
 * benchmark's mix of kinds 32%, 32%, 16%, 14% (small blobs alone: 23-39%,
 * the per-row cost and the index, least with small pages).
 */
import Database from 'better-sqlite3'
import type { HourRollup, MinuteRollup, RollupTier, SeriesRollup } from './chunk-storage.js'
import { fromSqlReal, PAGE_SIZE, settle, toSqlReal } from './day-file.js'

/** Of a new file, per tier (see the header). */
const PAGE_BYTES: Record<RollupTier, number> = { '1m': 16_384, '1h': PAGE_SIZE }

const SCHEMA: Record<RollupTier, string> = {
  '1m': `
    CREATE TABLE rollups (
      series_id INTEGER NOT NULL,
      window_start INTEGER NOT NULL,
      data BLOB NOT NULL
    );
    CREATE UNIQUE INDEX rollups_key ON rollups (series_id, window_start);`,
  '1h': `
    CREATE TABLE rollups (
      series_id INTEGER NOT NULL,
      window_start INTEGER NOT NULL,
      count INTEGER NOT NULL,
      min REAL, max REAL, sum REAL, first REAL, last REAL,
      PRIMARY KEY (series_id, window_start)
    ) WITHOUT ROWID;`,
}

const COMPLETE = 'CREATE TABLE IF NOT EXISTS complete (window_start INTEGER PRIMARY KEY);'

const UPSERT: Record<RollupTier, string> = {
  '1m': `INSERT INTO rollups (series_id, window_start, data) VALUES (?, ?, ?)
         ON CONFLICT (series_id, window_start) DO UPDATE SET data = excluded.data`,
  '1h': `INSERT INTO rollups (series_id, window_start, count, min, max, sum, first, last)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (series_id, window_start) DO UPDATE SET count = excluded.count, min = excluded.min,
         max = excluded.max, sum = excluded.sum, first = excluded.first, last = excluded.last`,
}

const COLUMNS: Record<RollupTier, string> = {
  '1m': 'series_id, window_start, data',
  '1h': 'series_id, window_start, count, min, max, sum, first, last',
}

export class RollupFile {
  private readonly db: Database.Database
  private readonly upsert: Database.Statement
  private readonly markComplete: Database.Statement
  private readonly page: Database.Statement
  private readonly completeList: Database.Statement

  constructor(
    readonly path: string,
    readonly tier: RollupTier,
    options: { fsync: boolean; mustExist: boolean },
  ) {
    this.db = new Database(path, { fileMustExist: options.mustExist })
    try {
      // Only a new file takes the page size; an older one keeps its 8 KiB and its table.
      this.db.pragma(`page_size = ${PAGE_BYTES[tier]}`)
      this.db.pragma('journal_mode = WAL')
      // FULL for the same reason as the day files: a seal mark written after
      // these rollups must not survive a power cut that loses them.
      this.db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`)
      // One transaction: a kill between the table and its index must not leave a table without its key.
      this.db
        .transaction(() => {
          const made = this.db.prepare(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'rollups'",
          )
          this.db.exec(made.get() === undefined ? SCHEMA[tier] + COMPLETE : COMPLETE)
        })
        .immediate()
    } catch (err) {
      this.db.close()
      throw err
    }
    this.upsert = this.db.prepare(UPSERT[tier])
    this.markComplete = this.db.prepare('INSERT OR IGNORE INTO complete (window_start) VALUES (?)')
    this.page = this.db
      .prepare(
        `SELECT ${COLUMNS[tier]} FROM rollups WHERE series_id = ? AND window_start > ? AND window_start < ?
         ORDER BY window_start LIMIT ?`,
      )
      .raw(true)
    this.completeList = this.db.prepare('SELECT window_start FROM complete ORDER BY window_start').pluck()
  }

  /** Upserts one window's rollups and, if `complete`, marks the window's rollups complete; one transaction. */
  write(windowStart: number, rollups: readonly SeriesRollup[], complete: boolean): void {
    this.db
      .transaction(() => {
        for (const r of rollups) {
          if (this.tier === '1m') this.upsert.run(r.seriesId, windowStart, r.minutes)
          else {
            const h = r.hour
            this.upsert.run(
              r.seriesId,
              windowStart,
              h.count,
              toSqlReal(h.min),
              toSqlReal(h.max),
              toSqlReal(h.sum),
              toSqlReal(h.first),
              toSqlReal(h.last),
            )
          }
        }
        if (complete) this.markComplete.run(windowStart)
      })
      .immediate()
    settle(this.db)
  }

  /** Up to `limit` rollups of windows starting after `after` and before `to`, by window. */
  pageOf(seriesId: number, after: number, to: number, limit: number): (MinuteRollup | HourRollup)[] {
    const rows = this.page.all(seriesId, after, to, limit) as unknown[][]
    if (this.tier === '1m') {
      return rows.map((r) => ({
        seriesId: r[0] as number,
        windowStart: r[1] as number,
        data: r[2] as Uint8Array,
      }))
    }
    return rows.map((r) => ({
      seriesId: r[0] as number,
      windowStart: r[1] as number,
      count: r[2] as number,
      min: fromSqlReal(r[3]),
      max: fromSqlReal(r[4]),
      sum: fromSqlReal(r[5]),
      first: fromSqlReal(r[6]),
      last: fromSqlReal(r[7]),
    }))
  }

  /** Windows whose rollups are complete, ascending. */
  complete(): number[] {
    return this.completeList.all() as number[]
  }

  close(): void {
    if (this.db.open) this.db.close()
  }
}
