// SQLite through better-sqlite3 (12.11.1): the plain table an application would start with,
// `(series, ts, value)` keyed by (series, ts) WITHOUT ROWID, one transaction per batch, WAL
// with synchronous=NORMAL (survives a process crash, like the servers' default settings).
// Runs inside host.ts, in its own process pinned to the engine core.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { type Batch, type BatchSource, BatchStream } from '../data.js'
import { type Engine, type IngestStats, ingestAll, type MinuteAverages, Unsupported } from '../engine.js'

type Statement = Database.Statement<unknown[], unknown>

export class SqliteEngine implements Engine {
  readonly name = 'sqlite' as const
  private db: Database.Database | null = null
  private file = ''
  private insert!: Statement
  private bucketQuery!: Statement
  private latestQuery!: Statement
  private allQuery!: Statement
  private insertBatch!: (batch: Batch) => void

  async start(dir: string): Promise<void> {
    this.file = join(dir, 'points.sqlite')
    const db = new Database(this.file)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec(
      `CREATE TABLE IF NOT EXISTS points (
         series INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,
         PRIMARY KEY (series, ts)
       ) WITHOUT ROWID`,
    )
    this.insert = db.prepare('INSERT INTO points (series, ts, value) VALUES (?, ?, ?)')
    this.bucketQuery = db
      .prepare(
        `SELECT (ts / 60000) * 60000 AS m, avg(value) FROM points
         WHERE series = ? AND ts >= ? AND ts < ? GROUP BY m ORDER BY m`,
      )
      .raw()
    this.latestQuery = db
      .prepare('SELECT value FROM points WHERE series = ? ORDER BY ts DESC LIMIT 1')
      .pluck()
    this.allQuery = db.prepare('SELECT ts, value FROM points WHERE series = ? ORDER BY ts').raw()
    this.insertBatch = db.transaction((batch: Batch) => {
      for (let r = 0; r < batch.series.length; r++) {
        const s = batch.series[r] as number
        const to = batch.offsets[r + 1] as number
        for (let i = batch.offsets[r] as number; i < to; i++) this.insert.run(s, batch.ts[i], batch.values[i])
      }
    })
    this.db = db
  }

  async write(batch: Batch): Promise<void> {
    this.insertBatch(batch)
  }

  ingest(source: BatchSource): Promise<IngestStats> {
    return ingestAll(this, new BatchStream(source))
  }

  async flushForSize(): Promise<void> {
    this.db?.pragma('wal_checkpoint(TRUNCATE)')
  }

  /** The database file and its WAL (empty after the checkpoint). */
  async sizeOnDisk(): Promise<number> {
    const size = (f: string) => statSync(f, { throwIfNoEntry: false })?.size ?? 0
    return size(this.file) + size(`${this.file}-wal`)
  }

  async queryRange1mAvg(series: number, fromMs: number, toMs: number): Promise<MinuteAverages> {
    const rows = this.bucketQuery.all(series, fromMs, toMs) as [number, number][]
    return {
      series,
      t: Float64Array.from(rows, (r) => r[0]),
      avg: Float64Array.from(rows, (r) => r[1]),
    }
  }

  /** SQLite answers one query at a time anyway: one indexed range scan per series. */
  async queryRange1mAvgMany(series: number[], fromMs: number, toMs: number): Promise<MinuteAverages[]> {
    return Promise.all(series.map((s) => this.queryRange1mAvg(s, fromMs, toMs)))
  }

  async latest(series: number[]): Promise<Float64Array> {
    return Float64Array.from(series, (s) => (this.latestQuery.get(s) as number | undefined) ?? Number.NaN)
  }

  async readBack(series: number): Promise<{ ts: Float64Array; values: Float64Array }> {
    const rows = this.allQuery.all(series) as [number, number][]
    return { ts: Float64Array.from(rows, (r) => r[0]), values: Float64Array.from(rows, (r) => r[1]) }
  }

  killAndRecover(): Promise<never> {
    throw new Unsupported('the embedded engines recover through their host process (remote.ts)')
  }

  pid(): number | null {
    return process.pid
  }

  async stop(): Promise<void> {
    this.db?.close()
    this.db = null
  }
}
