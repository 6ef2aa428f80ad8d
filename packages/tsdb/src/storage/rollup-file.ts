/**
 * One rollup partition of the embedded storage: a SQLite file (WAL mode)
 * holding one tier's rollups of the windows in its month (1-minute:
 * `rollup-1m-YYYYMM.db`) or year (1-hour: `rollup-1h-YYYY.db`), and which of
 * those windows' rollups are complete.
 *
 * Rows are keyed by (series, window) in a WITHOUT ROWID table: a row is a
 * blob of a few hundred bytes at most (1-minute) or seven numbers (1-hour),
 * well under the size where such a table spills into overflow pages
 * (day-file.ts), and the key is the only index. Writes are upserts, so
 * writing a window's rollups again (a re-seal after late points, or a seal
 * retried after a crash) replaces them.
 */
import Database from 'better-sqlite3'
import type { HourRollup, MinuteRollup, RollupTier, SeriesRollup } from './chunk-storage.js'
import { fromSqlReal, toSqlReal } from './day-file.js'

const SCHEMA: Record<RollupTier, string> = {
  '1m': `
    CREATE TABLE IF NOT EXISTS rollups (
      series_id INTEGER NOT NULL,
      window_start INTEGER NOT NULL,
      data BLOB NOT NULL,
      PRIMARY KEY (series_id, window_start)
    ) WITHOUT ROWID;`,
  '1h': `
    CREATE TABLE IF NOT EXISTS rollups (
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
      this.db.pragma('page_size = 8192')
      this.db.pragma('journal_mode = WAL')
      // FULL for the same reason as the day files: a seal mark written after
      // these rollups must not survive a power cut that loses them.
      this.db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`)
      this.db.exec(SCHEMA[tier] + COMPLETE)
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
