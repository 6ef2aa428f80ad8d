/**
 * Rollup benchmark (issue 4), outside npm test:
 *   npm run bench:tsdb-rollup        (node --import tsx packages/tsdb/bench/rollup.bench.ts)
 *
 * 100 series × 3 h at 1 s of quantised temperature-like readings (0.1 °C
 * steps, a slow drift plus noise), written, then sealed (flush), then:
 * 1. 3 h of 1-minute averages over 1 series and over 100 series, read from
 *    the 1-minute rollups (the default) and from the chunks ({ rollups: false });
 *    also 1-hour maxima and an LTTB downsample to 1,000 points. Medians.
 * 2. Bytes on disk of the rollup files against the raw day files (after close,
 *    so SQLite's -wal files are checkpointed), the bytes of the rollup blobs
 *    against the chunk bytes (files this small are mostly SQLite's pages), and
 *    the seal time.
 * The issue's target for the 100-series query: faster than VictoriaMetrics'
 * 14 ms (25-40 ms before rollups).
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type AggregateFunction,
  type EnginePoint,
  SqliteChunkStorage,
  TimeSeriesEngine,
} from '../src/index.js'

const SERIES = 100
const HOURS = 3
const START = Date.UTC(2025, 0, 1)
const END = START + HOURS * 3_600_000
const keyOf = (s: number) => `sensor-${s}/temperature`

/** A seeded random generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function* batches(): Generator<EnginePoint[]> {
  const rand = random(42)
  const level = Array.from({ length: SERIES }, () => 18 + rand() * 8)
  // 60 s of every series per batch: 6,000 points.
  for (let t = START; t < END; t += 60_000) {
    const batch: EnginePoint[] = []
    for (let s = 0; s < SERIES; s++) {
      for (let i = 0; i < 60; i++) {
        level[s] = (level[s] as number) + (rand() - 0.5) * 0.02
        const value = Math.round(((level[s] as number) + (rand() - 0.5) * 0.3) * 10) / 10
        batch.push({ series: keyOf(s), ts: t + i * 1000, value })
      }
    }
    yield batch
  }
}

async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await fn() // warm-up
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    await fn()
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(runs / 2)] as number
}

async function bytesByTier(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = { raw: 0, '1m': 0, '1h': 0 }
  for (const name of await readdir(dir)) {
    const tier = name.startsWith('chunks-')
      ? 'raw'
      : name.startsWith('rollup-1m-')
        ? '1m'
        : name.startsWith('rollup-1h-')
          ? '1h'
          : undefined
    if (tier !== undefined) out[tier] = (out[tier] ?? 0) + (await stat(join(dir, name))).size
  }
  return out
}

const root = await mkdtemp(join(tmpdir(), 'strata-rollup-bench-'))
try {
  let engine = await TimeSeriesEngine.open(root, { fsync: false, sealCheckMs: 0 })
  let points = 0
  for (const b of batches()) {
    points += b.length
    await engine.write(b)
  }
  const t = performance.now()
  await engine.flush()
  const sealMs = performance.now() - t
  await engine.close()
  const bytes = await bytesByTier(root)
  engine = await TimeSeriesEngine.open(root, { fsync: false, sealCheckMs: 0 })

  const keys = Array.from({ length: SERIES }, (_, s) => keyOf(s))
  const query = (list: string[], bucketMs: number, fn: AggregateFunction, rollups: boolean) => async () => {
    let buckets = 0
    for await (const b of engine.aggregate(list, START, END, bucketMs, fn, { rollups }))
      buckets += b.values.length
    if (buckets !== list.length * HOURS * (bucketMs === 60_000 ? 60 : 1))
      throw new Error(`${buckets} buckets`)
  }
  console.log(
    `\n## ${SERIES} series × ${HOURS} h at 1 s, quantised temperature (${points.toLocaleString('en-US')} points)\n`,
  )
  console.log('| query (ms, median) | from rollups | from chunks | speed-up |')
  console.log('| --- | --: | --: | --: |')
  const rows: [string, string[], number, AggregateFunction, number][] = [
    ['1-min avg, 1 series, 3 h', keys.slice(0, 1), 60_000, 'avg', 51],
    ['1-min avg, 100 series, 3 h', keys, 60_000, 'avg', 15],
    ['1-hour max, 100 series, 3 h', keys, 3_600_000, 'max', 15],
  ]
  for (const [name, list, bucketMs, fn, runs] of rows) {
    const fast = await median(runs, query(list, bucketMs, fn, true))
    const slow = await median(runs, query(list, bucketMs, fn, false))
    console.log(`| ${name} | ${fast.toFixed(2)} | ${slow.toFixed(2)} | ${(slow / fast).toFixed(1)}x |`)
  }
  const lttb = await median(15, () => engine.downsample(keys[0] as string, START, END, 1000))
  await engine.close()
  // The blobs themselves, apart from SQLite's pages (small files are mostly page overhead).
  const storage = await SqliteChunkStorage.open(root, { fsync: false })
  let blobBytes = 0
  let chunkBytes = 0
  for (let id = 1; id <= SERIES; id++) {
    for await (const r of storage.minuteRollups(id, { from: START, to: END })) blobBytes += r.data.length
    for await (const c of storage.chunks(id, { from: START, to: END, data: true })) {
      if ('data' in c) chunkBytes += c.data.length
    }
  }
  await storage.close()
  console.log(`\nLTTB of 1 series, 3 h (10,800 points) to 1,000: ${lttb.toFixed(2)} ms`)
  const rollupBytes = (bytes['1m'] as number) + (bytes['1h'] as number)
  console.log(
    `disk: raw ${(bytes.raw as number).toLocaleString('en-US')} bytes (${((bytes.raw as number) / points).toFixed(3)} bytes/point), ` +
      `1-minute rollups ${(bytes['1m'] as number).toLocaleString('en-US')} (${((bytes['1m'] as number) / (SERIES * HOURS * 60)).toFixed(1)} bytes/bucket), ` +
      `1-hour ${(bytes['1h'] as number).toLocaleString('en-US')}; rollups = ${((100 * rollupBytes) / (bytes.raw as number)).toFixed(1)}% of raw`,
  )
  console.log(
    `content: chunk bytes ${chunkBytes.toLocaleString('en-US')}, 1-minute rollup blobs ${blobBytes.toLocaleString('en-US')} ` +
      `(${(blobBytes / (SERIES * HOURS)).toFixed(0)} bytes per series-hour, ${(blobBytes / (SERIES * HOURS * 60)).toFixed(1)} per bucket; ` +
      `${((100 * blobBytes) / chunkBytes).toFixed(1)}% of the chunk bytes)`,
  )
  console.log(`seal (flush) with rollups: ${sealMs.toFixed(0)} ms`)
} finally {
  await rm(root, { recursive: true, force: true })
}
