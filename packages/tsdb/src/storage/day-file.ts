/**
 * One partition of the embedded storage: a SQLite file holding one UTC day's
 * chunks (`chunks-YYYYMMDD.db`, WAL mode), and the seal marks of its windows.
 *
 * Layout, measured (issue 4): a rowid table with a unique index on
 * (series_id, start_ts). The issue proposed `PRIMARY KEY (series_id,
 * start_ts) WITHOUT ROWID`, but a WITHOUT ROWID row keeps only about 1/4 of
 * a page in its b-tree leaf and spills the rest of a chunk (hundreds of bytes
 * to tens of KiB) into overflow pages, the last one mostly empty: on a mix of
 * the codec's signal kinds that cost 25-28% over the chunk bytes (80%+ with
 * larger pages), against 3-8% for a rowid table; inserts were also 3-4x
 * faster. SQLite's own advice is the same (WITHOUT ROWID suits rows under
 * about 1/20 of a page).
 *
 * Pages of 4 KiB (PAGE_SIZE; files made before keep their 8 KiB): a rowid
 * row larger than a page keeps its head in the leaf (up to a page) and the
 * rest in full overflow pages, so what a large chunk wastes is the leaf
 * space its head leaves unused, which grows with the page. On the
 * benchmark's 1,000 series x 3 h (docs/benchmarks.md): 18.7 MB of chunks
 * took 20.1 MB of file in 8 KiB pages, 19.4 MB in 4 KiB ones (7.5% -> 3.7%
 * over the chunk bytes); 2 KiB pages did about as well, 16-64 KiB worse.
 *
 * REAL columns cannot hold NaN (SQLite stores NULL) and turn -0 into 0, so
 * such summary values are stored as their 8 bytes (a BLOB in a REAL column,
 * which SQLite keeps as is): summaries stay bit-exact.
 */
import Database from 'better-sqlite3'
import type { ChunkSummary, StoredChunk } from './chunk-storage.js'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chunks (
  series_id INTEGER NOT NULL,
  start_ts INTEGER NOT NULL,
  end_ts INTEGER NOT NULL,
  count INTEGER NOT NULL,
  min REAL, max REAL, sum REAL, first REAL, last REAL,
  data BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS chunks_key ON chunks (series_id, start_ts);
CREATE TABLE IF NOT EXISTS sealed (
  window_start INTEGER PRIMARY KEY,
  wal_position INTEGER NOT NULL
);
`

/** Of new day files (see the header) and 1-hour rollup files (rollup-file.ts). */
export const PAGE_SIZE = 4096

const COLUMNS = 'series_id, start_ts, end_ts, count, min, max, sum, first, last'
/** Below any timestamp (±2^51): the first page's lower bound. */
const BEFORE_ALL = -(2 ** 52)

type Row = [number, number, number, number, unknown, unknown, unknown, unknown, unknown, Uint8Array?]

export interface DayFileOptions {
  /** synchronous=FULL (true) or NORMAL. */
  fsync: boolean
  /** Open only an existing file. */
  mustExist: boolean
}

export class DayFile {
  private readonly db: Database.Database
  private readonly insert: Database.Statement
  private readonly deleteRange: Database.Statement
  private readonly mark: Database.Statement
  private readonly page: Database.Statement
  private readonly pageData: Database.Statement
  private readonly inRange: Database.Statement
  private readonly last: Database.Statement
  private readonly marks: Database.Statement

  constructor(
    readonly path: string,
    readonly start: number,
    options: DayFileOptions,
  ) {
    this.db = new Database(path, { fileMustExist: options.mustExist })
    try {
      // page_size only takes effect on a new file, before the first table.
      this.db.pragma(`page_size = ${PAGE_SIZE}`)
      this.db.pragma('journal_mode = WAL')
      // FULL: the engine checkpoints its write-ahead log after a seal, so a
      // committed seal must survive a power cut (as the log's fdatasync does).
      this.db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`)
      this.db.exec(SCHEMA)
    } catch (err) {
      this.db.close()
      throw err
    }
    this.insert = this.db.prepare(
      `INSERT INTO chunks (${COLUMNS}, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.deleteRange = this.db.prepare(
      'DELETE FROM chunks WHERE series_id = ? AND start_ts >= ? AND start_ts < ?',
    )
    this.mark = this.db.prepare('INSERT OR REPLACE INTO sealed (window_start, wal_position) VALUES (?, ?)')
    const where =
      'WHERE series_id = ? AND start_ts > ? AND start_ts < ? AND end_ts >= ? ORDER BY start_ts LIMIT ?'
    this.page = this.db.prepare(`SELECT ${COLUMNS} FROM chunks ${where}`).raw(true)
    this.pageData = this.db.prepare(`SELECT ${COLUMNS}, data FROM chunks ${where}`).raw(true)
    this.inRange = this.db
      .prepare(
        `SELECT ${COLUMNS}, data FROM chunks WHERE series_id = ? AND start_ts >= ? AND start_ts < ? ORDER BY start_ts`,
      )
      .raw(true)
    this.last = this.db
      .prepare(`SELECT ${COLUMNS} FROM chunks WHERE series_id = ? ORDER BY start_ts DESC LIMIT 1`)
      .raw(true)
    this.marks = this.db.prepare('SELECT window_start, wal_position FROM sealed').raw(true)
  }

  /** Writes chunks (replacing the listed series' chunks in [start, end) first) and a seal mark, in one transaction. */
  write(
    chunks: readonly StoredChunk[],
    replace: { start: number; end: number } | null,
    mark: { start: number; position: number },
  ): void {
    this.db
      .transaction(() => {
        if (replace !== null) {
          let prev = -1
          for (const c of chunks) {
            if (c.seriesId === prev) continue
            prev = c.seriesId
            this.deleteRange.run(c.seriesId, replace.start, replace.end)
          }
        }
        for (const c of chunks) {
          this.insert.run(
            c.seriesId,
            c.startTs,
            c.endTs,
            c.count,
            toSqlReal(c.min),
            toSqlReal(c.max),
            toSqlReal(c.sum),
            toSqlReal(c.first),
            toSqlReal(c.last),
            c.data,
          )
        }
        this.mark.run(mark.start, mark.position)
      })
      .immediate()
    settle(this.db)
  }

  /** Up to `limit` chunks after `after` (a startTs) overlapping [from, to), by startTs. */
  pageOf(
    seriesId: number,
    after: number,
    from: number,
    to: number,
    limit: number,
    data: boolean,
  ): (ChunkSummary | StoredChunk)[] {
    const stmt = data ? this.pageData : this.page
    const rows = stmt.all(seriesId, Math.max(after, BEFORE_ALL), to, from, limit) as Row[]
    return rows.map(fromRow)
  }

  window(seriesId: number, start: number, end: number): StoredChunk[] {
    return (this.inRange.all(seriesId, start, end) as Row[]).map(fromRow) as StoredChunk[]
  }

  lastChunk(seriesId: number): ChunkSummary | undefined {
    const row = this.last.get(seriesId) as Row | undefined
    return row === undefined ? undefined : fromRow(row)
  }

  sealMarks(): [number, number][] {
    return this.marks.all() as [number, number][]
  }

  close(): void {
    if (this.db.open) this.db.close()
  }
}

function fromRow(r: Row): ChunkSummary | StoredChunk {
  const summary = {
    seriesId: r[0],
    startTs: r[1],
    endTs: r[2],
    count: r[3],
    min: fromSqlReal(r[4]),
    max: fromSqlReal(r[5]),
    sum: fromSqlReal(r[6]),
    first: fromSqlReal(r[7]),
    last: fromSqlReal(r[8]),
  }
  return r[9] === undefined ? summary : { ...summary, data: r[9] }
}

/**
 * After a write: folds the file's -wal into it and truncates the -wal to
 * nothing (`PRAGMA wal_checkpoint(TRUNCATE)`). Each partition file is written
 * once per seal, an hour apart (a late point's re-seal now and then), so
 * otherwise each would keep a -wal of up to SQLite's auto-checkpoint size
 * (1,000 pages, 8 MiB) between seals, for as long as it stays open. The
 * copy is work SQLite's auto-checkpoint does anyway, only sooner.
 *
 * Crash safety: the write's transaction was durable in the -wal before this
 * runs (and the engine checkpoints its own log only after the whole seal).
 * The checkpoint is SQLite's own: it copies committed pages into the file,
 * syncs the file, and only then truncates the -wal; a crash before that
 * leaves the -wal to be replayed at the next open, with the same pages. If a
 * reader held the -wal (none does: reads run to completion synchronously),
 * SQLite does less and says so, and the next write's settle catches up.
 */
export function settle(db: Database.Database): void {
  db.pragma('wal_checkpoint(TRUNCATE)')
}

/** A REAL column's value: the number, or its 8 bytes when SQLite would not keep it (NaN, -0). */
export function toSqlReal(v: number): number | Buffer {
  if (!Number.isNaN(v) && !Object.is(v, -0)) return v
  const b = Buffer.allocUnsafe(8)
  b.writeDoubleLE(v, 0)
  return b
}

export function fromSqlReal(x: unknown): number {
  if (typeof x === 'number') return x
  if (x instanceof Uint8Array && x.length === 8)
    return new DataView(x.buffer, x.byteOffset, 8).getFloat64(0, true)
  return Number.NaN
}
