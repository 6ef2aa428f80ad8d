// Strata's engine: TimeSeriesEngine from @strata/tsdb (packages/tsdb/src/engine/engine.ts) as the
// platform runs it: the write-ahead log with fsync on (write() resolves once its points are
// durable, which is the point of comparing it with the peers' acknowledged writes), one-hour
// windows sealed into per-day SQLite chunk files, queries through aggregate(), latest() and
// raw(). Runs inside host.ts, in its own process pinned to the engine core, like SQLite and DuckDB.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { AggregateBatch, TimeSeriesEngine } from '@strata/tsdb'
import { type Batch, type BatchSource, BatchStream, seriesName } from '../data.js'
import { type Engine, type IngestStats, ingestAll, type MinuteAverages, Unsupported } from '../engine.js'
import { filesSize } from '../servers/common.js'

const MINUTE_MS = 60_000
/** The engine directory's files by role (sizeOnDisk's breakdown). */
const FILE_GROUPS: readonly (readonly [string, (rel: string) => boolean])[] = [
  ['chunks-*.db', (r) => /^chunks-[^/]*\.db$/.test(r)],
  ['rollup-*.db', (r) => /^rollup-[^/]*\.db$/.test(r)],
  ['series.db', (r) => r === 'series.db'],
  ['SQLite -wal/-shm', (r) => !r.startsWith('wal/') && /-(wal|shm)$/.test(r)],
  ['log (wal/)', (r) => r.startsWith('wal/')],
]
/** raw() over everything a series holds (the engine's timestamps are within ±2^51 ms). */
const ALL = 2 ** 52

type TsdbModule = typeof import('@strata/tsdb')

/**
 * Which build of @strata/tsdb both Strata slots load: the workspace's, or BENCH_TSDB_MODULE (the
 * path of another build's dist/index.js), so that a given commit can be measured while the
 * working tree is being edited. Host processes inherit the variable.
 */
export const TSDB_MODULE = process.env.BENCH_TSDB_MODULE
  ? pathToFileURL(resolve(process.env.BENCH_TSDB_MODULE)).href
  : '@strata/tsdb'

/** The engine, or why it cannot be used (not built, or no TimeSeriesEngine export yet). */
export async function loadTsdb(): Promise<TsdbModule | string> {
  let mod: TsdbModule
  try {
    mod = (await import(TSDB_MODULE)) as TsdbModule
  } catch (err) {
    return `${TSDB_MODULE} did not load (is it built? npm run build): ${(err as Error).message}`
  }
  if (typeof mod.TimeSeriesEngine?.open !== 'function') return '@strata/tsdb has no TimeSeriesEngine'
  return mod
}

/** Series keys as the platform names them, `device/metric` (data.ts's names for the ids). */
function keyOf(id: number): string {
  const { device, metric } = seriesName(id)
  return `${device}/${metric}`
}

export class StrataEngine implements Engine {
  readonly name = 'strata' as const
  private engine: TimeSeriesEngine | null = null
  private dir = ''
  private readonly keys = new Map<number, string>()
  /**
   * The engine seals a one-hour window once the clock passes its end plus a grace period. The
   * data set is dated 2024: against the wall clock every window would be sealed (and then merged
   * again by late points) at each check while it is still being written. The clock here follows
   * the data instead (the newest timestamp written), as if the devices reported live, so windows
   * are sealed the way they are in a deployment: once, after they end.
   */
  private clock = Number.NEGATIVE_INFINITY

  async start(dir: string): Promise<void> {
    const tsdb = await loadTsdb()
    if (typeof tsdb === 'string') throw new Error(tsdb)
    this.dir = dir
    this.engine = await tsdb.TimeSeriesEngine.open(dir, {
      fsync: true,
      now: () => this.clock,
      onError: (err) => console.error(`strata: background seal failed: ${(err as Error).message}`),
    })
  }

  private get e(): TimeSeriesEngine {
    if (!this.engine) throw new Error('strata: not started')
    return this.engine
  }

  private key(id: number): string {
    let k = this.keys.get(id)
    if (k === undefined) {
      k = keyOf(id)
      this.keys.set(id, k)
    }
    return k
  }

  /** One write() per batch, awaited: the engine's group commit has a single writer to serve. */
  async write(batch: Batch): Promise<void> {
    const points = new Array<{ series: string; ts: number; value: number }>(batch.points)
    let n = 0
    let newest = this.clock
    for (let r = 0; r < batch.series.length; r++) {
      const series = this.key(batch.series[r] as number)
      const to = batch.offsets[r + 1] as number
      for (let i = batch.offsets[r] as number; i < to; i++) {
        const ts = batch.ts[i] as number
        points[n++] = { series, ts, value: batch.values[i] as number }
        if (ts > newest) newest = ts
      }
    }
    points.length = n
    await this.e.write(points)
    this.clock = newest
  }

  ingest(source: BatchSource): Promise<IngestStats> {
    return ingestAll(this, new BatchStream(source))
  }

  /** Seals every window still in memory and checkpoints the log: what is left is the settled size. */
  async flushForSize(): Promise<void> {
    await this.e.flush()
  }

  /**
   * Every file in the engine's directory: the per-day chunk files (chunks-*.db), the rollups
   * (rollup-*.db) if any, the series catalogue (series.db), their SQLite -wal/-shm files, and
   * the log (wal/), while the engine is open after flush(). That is the figure: the peers are
   * measured after their own flush/merge, and flush() is the engine's. Where the bytes go is
   * printed (the host's output is the harness's), and again after closing the engine, the
   * settled directory (SQLite removes its -wal/-shm files when the last connection closes; the
   * engine already truncates each -wal after writing, and the log sheds its last segment once
   * a checkpoint covers it, so the two should differ by the -shm files only). The engine is
   * reopened for the queries.
   */
  async sizeOnDisk(): Promise<number> {
    const total = this.printSizes('open, after flush()')
    await this.e.close()
    this.printSizes('closed')
    this.engine = null
    await this.start(this.dir)
    return total
  }

  private printSizes(when: string): number {
    const parts = FILE_GROUPS.map(([label, test]) => [label, filesSize(this.dir, test)] as const)
    const total = filesSize(this.dir)
    const other = total - parts.reduce((a, [, n]) => a + n, 0)
    const list = [...parts, ['other', other] as const]
      .filter(([, n]) => n > 0)
      .map(([l, n]) => `${l} ${n.toLocaleString('en-US')}`)
    console.log(
      `       strata files (${when}): ${list.join(', ')}; total ${total.toLocaleString('en-US')} bytes`,
    )
    return total
  }

  async queryRange1mAvg(series: number, fromMs: number, toMs: number): Promise<MinuteAverages> {
    const [one] = await this.queryRange1mAvgMany([series], fromMs, toMs)
    return one ?? { series, t: new Float64Array(0), avg: new Float64Array(0) }
  }

  /** One aggregate() call for every series: it streams batches, series after series. */
  async queryRange1mAvgMany(series: number[], fromMs: number, toMs: number): Promise<MinuteAverages[]> {
    const byKey = new Map<string, AggregateBatch[]>()
    for await (const b of this.e.aggregate(
      series.map((s) => this.key(s)),
      fromMs,
      toMs,
      MINUTE_MS,
      'avg',
    )) {
      const list = byKey.get(b.series)
      if (list) list.push(b)
      else byKey.set(b.series, [b])
    }
    return series.map((s) => {
      const parts = byKey.get(this.key(s)) ?? []
      return { series: s, t: concat(parts.map((p) => p.timestamps)), avg: concat(parts.map((p) => p.values)) }
    })
  }

  async latest(series: number[]): Promise<Float64Array> {
    const got = await this.e.latest(series.map((s) => this.key(s)))
    return Float64Array.from(got, (p) => p?.value ?? Number.NaN)
  }

  async readBack(series: number): Promise<{ ts: Float64Array; values: Float64Array }> {
    const ts: Float64Array[] = []
    const values: Float64Array[] = []
    for await (const b of this.e.raw(this.key(series), -ALL, ALL)) {
      // The batches may be views of buffers the engine reuses: copy them.
      ts.push(b.timestamps.slice())
      values.push(b.values.slice())
    }
    return { ts: concat(ts), values: concat(values) }
  }

  killAndRecover(): Promise<never> {
    throw new Unsupported('the embedded engines recover through their host process (remote.ts)')
  }

  pid(): number | null {
    return process.pid
  }

  async stop(): Promise<void> {
    await this.engine?.close()
    this.engine = null
  }
}

function concat(parts: Float64Array[]): Float64Array {
  if (parts.length === 1) return parts[0] as Float64Array
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
