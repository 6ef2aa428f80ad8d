/**
 * Time-series engine benchmark (issue 4), outside npm test:
 *   node --import tsx packages/tsdb/bench/engine.bench.ts [series ...]   (default: 100 1000)
 * Pin it (`taskset -c 0 ...`) to read the ingest figures as per core.
 *
 * Per configuration (N series of the signal kinds, bench/signals.ts,
 * 3 hours at 1 s each, so 1.08M points for 100 series and 10.8M for 1,000):
 * 1. Ingest: one writer sending batches of 1,000 points (10 consecutive points
 *    of each of 100 series), awaiting each write() (durable: fsync on), then
 *    with 8 writes in flight; fsync off for the last row. Points go to the log
 *    and the head; sealing is timed apart (flush()).
 * 2. Disk: bytes/point of the day files after the seal, against the bytes of
 *    the chunks in them (the codec's share) and of the log.
 * 3. Queries: 3 h of 1-minute averages on 1 series and on 100 series, on the
 *    head (before sealing) and on sealed chunks; latest() of every series,
 *    cold (after a reopen: read from storage) and warm. Medians.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type EnginePoint, SqliteChunkStorage, TimeSeriesEngine } from '../src/index.js'
import { type Series, START, signals } from './signals.js'

const configs = process.argv.slice(2).map(Number)
if (configs.length === 0) configs.push(100, 1000)
const BATCH_SERIES = 100
const PER_SERIES = 10
const HOURS = 3

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const kinds = signals()
const keyOf = (s: number) =>
  `dev-${s}/${(kinds[s % kinds.length] as Series).name.replace(/[^a-z0-9]+/g, '-')}`

/**
 * Refills `batch` with the next 1,000 points: 10 consecutive points of each
 * of 100 series (series group by group), and returns false when all is sent.
 */
function batches(series: number): (batch: EnginePoint[]) => boolean {
  let group = 0
  let at = 0
  return (batch) => {
    batch.length = 0
    while (batch.length === 0) {
      if (group * BATCH_SERIES >= series) return false
      for (let s = group * BATCH_SERIES; s < Math.min(series, (group + 1) * BATCH_SERIES); s++) {
        const kind = kinds[s % kinds.length] as Series
        const key = keyOf(s)
        for (let i = at; i < Math.min(at + PER_SERIES, kind.timestamps.length); i++) {
          batch.push({ series: key, ts: kind.timestamps[i] as number, value: kind.values[i] as number })
        }
      }
      at += PER_SERIES
      if (batch.length === 0) {
        group++
        at = 0
      }
    }
    return true
  }
}

async function ingest(
  dir: string,
  series: number,
  inFlight: number,
  fsync: boolean,
): Promise<TimeSeriesEngine> {
  const engine = await TimeSeriesEngine.open(dir, { fsync, sealCheckMs: 0 })
  const next = batches(series)
  let points = 0
  const cpu = process.cpuUsage()
  const started = performance.now()
  const writer = async () => {
    const batch: EnginePoint[] = []
    while (next(batch)) {
      points += batch.length
      await engine.write(batch)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, writer))
  const s = (performance.now() - started) / 1000
  const c = process.cpuUsage(cpu)
  const w = engine.stats.wal
  console.log(
    `| ingest | ${series} | ${inFlight} | ${fsync ? 'on' : 'off'} | ${fmt(points / s)} | ` +
      `${fmt(points / ((c.user + c.system) / 1e6))} | ${(w.commits / w.flushes).toFixed(1)} | ${(w.bytesWritten / points).toFixed(1)} |`,
  )
  return engine
}

async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    await fn()
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(runs / 2)] as number
}

async function queries(
  engine: TimeSeriesEngine,
  series: number,
  where: string,
  rollups = true,
): Promise<void> {
  const to = START + HOURS * 3_600_000
  const keys = Array.from({ length: series }, (_, s) => keyOf(s))
  const avg = async (list: string[]) => {
    let buckets = 0
    for await (const b of engine.aggregate(list, START, to, 60_000, 'avg', { rollups }))
      buckets += b.values.length
    // The jittered series has gaps: a few empty minutes.
    if (buckets < list.length * HOURS * 55) throw new Error(`${buckets} buckets for ${list.length} series`)
  }
  const one = await median(21, () => avg(keys.slice(0, 1)))
  const hundred = await median(7, () => avg(keys.slice(0, 100)))
  const rawOne = await median(21, async () => {
    for await (const _ of engine.raw(keys[0] as string, START, to));
  })
  console.log(`| ${where} | ${series} | ${one.toFixed(2)} | ${hundred.toFixed(1)} | ${rawOne.toFixed(2)} |`)
}

async function run(series: number): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'strata-engine-bench-'))
  try {
    console.log(`\n## ${series} series × ${HOURS} h at 1 s\n`)
    console.log(
      '| step | series | writes in flight | fsync | points/s | points/CPU-s | commits/flush | log bytes/point |',
    )
    console.log('| --- | --: | --: | --- | --: | --: | --: | --: |')
    for (const [inFlight, fsync] of [
      [8, true],
      [1, false],
    ] as const) {
      const e = await ingest(join(root, `scratch-${inFlight}-${fsync}`), series, inFlight, fsync)
      await e.close()
      await rm(join(root, `scratch-${inFlight}-${fsync}`), { recursive: true })
    }
    const dir = join(root, 'data')
    let engine = await ingest(dir, series, 1, true)
    const points = engine.stats.headPoints
    const logBytes = engine.stats.wal.bytesWritten

    console.log(
      '\n| queries (ms, median) | series | 1-min avg, 1 series, 3 h | 1-min avg, 100 series, 3 h | raw, 1 series, 3 h |',
    )
    console.log('| --- | --: | --: | --: | --: |')
    await queries(engine, series, 'head (in memory)')
    const sealStart = performance.now()
    await engine.flush()
    const sealS = (performance.now() - sealStart) / 1000
    await queries(engine, series, 'sealed (rollups)')
    await queries(engine, series, 'sealed chunks', false)
    await engine.close()

    engine = await TimeSeriesEngine.open(dir, { sealCheckMs: 0 })
    const keys = Array.from({ length: series }, (_, s) => keyOf(s))
    let t = performance.now()
    const latest = await engine.latest(keys)
    const cold = performance.now() - t
    if (latest.some((p) => p === undefined)) throw new Error('latest() missed a series')
    const warm = await median(21, () => engine.latest(keys))
    t = performance.now()
    await engine.close()
    const reopenMs = performance.now() - t

    const storage = await SqliteChunkStorage.open(dir)
    let chunkBytes = 0
    let chunks = 0
    for (let id = 1; id <= series; id++) {
      for await (const c of storage.chunks(id, { from: -(2 ** 51), to: 2 ** 51, data: true })) {
        if ('data' in c) chunkBytes += c.data.length
        chunks++
      }
    }
    // Raw day files only: the rollups' share is measured in rollup.bench.ts.
    const files = (await storage.partitions()).filter((p) => p.tier === 'raw')
    await storage.close()
    const diskBytes = files.reduce((a, p) => a + p.bytes, 0)
    console.log(
      `\nseal (flush) of ${fmt(points)} points: ${sealS.toFixed(2)} s (${fmt(points / sealS)} points/s), ${fmt(chunks)} chunks`,
    )
    console.log(
      `disk: ${(diskBytes / points).toFixed(3)} bytes/point in ${files.length} day file(s) ` +
        `(chunk bytes ${(chunkBytes / points).toFixed(3)}, SQLite's share ${((100 * (diskBytes - chunkBytes)) / diskBytes).toFixed(1)}%); ` +
        `log ${(logBytes / points).toFixed(1)} bytes/point before the checkpoint`,
    )
    console.log(
      `latest() of ${series} series: cold ${cold.toFixed(1)} ms (from storage after a reopen), warm ${warm.toFixed(3)} ms; close ${reopenMs.toFixed(0)} ms`,
    )
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

for (const series of configs) await run(series)
