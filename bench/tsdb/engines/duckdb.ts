// DuckDB through @duckdb/node-api (pin 1.5.6-r.1): a plain columnar table (series, ts, value)
// filled by the Appender (flushed once per batch), sized after CHECKPOINT. No primary key: an
// ART index would dominate the size and is not how DuckDB is used for this. One thread, like
// every engine here (its process is pinned to one core anyway).
// API: https://duckdb.org/docs/stable/clients/node_neo/overview
// The module is loaded by name at run time, so that the bench type-checks without it.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { type Batch, type BatchSource, BatchStream } from '../data.js'
import { type Engine, type IngestStats, ingestAll, type MinuteAverages, Unsupported } from '../engine.js'

export const DUCKDB_MODULE = '@duckdb/node-api'

/** The part of @duckdb/node-api used here (DuckDBInstance, DuckDBConnection, DuckDBAppender). */
interface DuckAppender {
  appendInteger(v: number): void
  appendBigInt(v: bigint): void
  appendDouble(v: number): void
  endRow(): void
  flushSync(): void
  closeSync(): void
}
interface DuckReader {
  getRows(): unknown[][]
}
interface DuckConnection {
  run(sql: string): Promise<unknown>
  runAndReadAll(sql: string): Promise<DuckReader>
  createAppender(table: string): Promise<DuckAppender>
  closeSync(): void
}
interface DuckInstance {
  connect(): Promise<DuckConnection>
  closeSync(): void
}
export interface DuckModule {
  DuckDBInstance: { create(path?: string, options?: Record<string, string>): Promise<DuckInstance> }
  version(): string
}

export async function loadDuckDB(): Promise<DuckModule> {
  const name: string = DUCKDB_MODULE
  // A CommonJS package: its names are on the namespace or only on `default`, depending on Node's lexer.
  const mod = (await import(name)) as Partial<DuckModule> & { default?: Partial<DuckModule> }
  const DuckDBInstance = mod.DuckDBInstance ?? mod.default?.DuckDBInstance
  if (!DuckDBInstance) throw new Error(`${DUCKDB_MODULE} has no DuckDBInstance export`)
  const version = mod.version ?? mod.default?.version ?? (() => '?')
  return { DuckDBInstance, version }
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number))
const inList = (xs: number[]) => xs.map((x) => String(Math.trunc(x))).join(',')

export class DuckDBEngine implements Engine {
  readonly name = 'duckdb' as const
  private instance: DuckInstance | null = null
  private conn: DuckConnection | null = null
  private appender: DuckAppender | null = null
  private file = ''

  async start(dir: string): Promise<void> {
    const duckdb = await loadDuckDB()
    this.file = join(dir, 'points.duckdb')
    this.instance = await duckdb.DuckDBInstance.create(this.file, { threads: '1' })
    this.conn = await this.instance.connect()
    await this.conn.run(
      'CREATE TABLE IF NOT EXISTS points (series INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE NOT NULL)',
    )
  }

  private get c(): DuckConnection {
    if (!this.conn) throw new Error('duckdb: not started')
    return this.conn
  }

  async write(batch: Batch): Promise<void> {
    this.appender ??= await this.c.createAppender('points')
    const a = this.appender
    for (let r = 0; r < batch.series.length; r++) {
      const s = batch.series[r] as number
      const to = batch.offsets[r + 1] as number
      for (let i = batch.offsets[r] as number; i < to; i++) {
        a.appendInteger(s)
        a.appendBigInt(BigInt(batch.ts[i] as number))
        a.appendDouble(batch.values[i] as number)
        a.endRow()
      }
    }
    // One flush (one commit) per batch, as the other engines commit per batch.
    a.flushSync()
  }

  ingest(source: BatchSource): Promise<IngestStats> {
    return ingestAll(this, new BatchStream(source))
  }

  async flushForSize(): Promise<void> {
    this.appender?.closeSync()
    this.appender = null
    await this.c.run('CHECKPOINT')
  }

  /** The database file and its WAL (empty after CHECKPOINT). */
  async sizeOnDisk(): Promise<number> {
    const size = (f: string) => statSync(f, { throwIfNoEntry: false })?.size ?? 0
    return size(this.file) + size(`${this.file}.wal`)
  }

  async queryRange1mAvg(series: number, fromMs: number, toMs: number): Promise<MinuteAverages> {
    const [one] = await this.queryRange1mAvgMany([series], fromMs, toMs)
    return one ?? { series, t: new Float64Array(0), avg: new Float64Array(0) }
  }

  async queryRange1mAvgMany(series: number[], fromMs: number, toMs: number): Promise<MinuteAverages[]> {
    const reader = await this.c.runAndReadAll(
      `SELECT series, (ts // 60000) * 60000 AS m, avg(value) FROM points
       WHERE series IN (${inList(series)}) AND ts >= ${Math.trunc(fromMs)} AND ts < ${Math.trunc(toMs)}
       GROUP BY series, m ORDER BY series, m`,
    )
    const rows = new Map<number, [number, number][]>()
    for (const row of reader.getRows()) {
      const s = num(row[0])
      let list = rows.get(s)
      if (!list) {
        list = []
        rows.set(s, list)
      }
      list.push([num(row[1]), num(row[2])])
    }
    return series.map((s) => {
      const list = rows.get(s) ?? []
      return { series: s, t: Float64Array.from(list, (r) => r[0]), avg: Float64Array.from(list, (r) => r[1]) }
    })
  }

  async latest(series: number[]): Promise<Float64Array> {
    const reader = await this.c.runAndReadAll(
      `SELECT series, arg_max(value, ts) FROM points WHERE series IN (${inList(series)}) GROUP BY series`,
    )
    const got = new Map(reader.getRows().map((r) => [num(r[0]), num(r[1])]))
    return Float64Array.from(series, (s) => got.get(s) ?? Number.NaN)
  }

  async readBack(series: number): Promise<{ ts: Float64Array; values: Float64Array }> {
    const reader = await this.c.runAndReadAll(
      `SELECT ts, value FROM points WHERE series = ${Math.trunc(series)} ORDER BY ts`,
    )
    const rows = reader.getRows()
    return {
      ts: Float64Array.from(rows, (r) => num(r[0])),
      values: Float64Array.from(rows, (r) => num(r[1])),
    }
  }

  killAndRecover(): Promise<never> {
    throw new Unsupported('the embedded engines recover through their host process (remote.ts)')
  }

  pid(): number | null {
    return process.pid
  }

  async stop(): Promise<void> {
    this.appender?.closeSync()
    this.appender = null
    this.conn?.closeSync()
    this.conn = null
    this.instance?.closeSync()
    this.instance = null
  }
}
