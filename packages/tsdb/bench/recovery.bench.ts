/**
 * Recovery benchmark, outside npm test:
 *   npm run bench:tsdb-recovery   (node --import tsx packages/tsdb/bench/recovery.bench.ts)
 *
 * Builds an engine directory like bench:tsdb's at its kill: 1,000 series with
 * some sealed days (per-day chunk files, rollups) and about an hour of 1 s
 * points unsealed in the write-ahead log; closes it without sealing (close()
 * leaves unsealed points in the log, as a kill -9 does). Then times a restart,
 * split into phases, each restart in a new Node process (a fresh heap, as after a kill):
 *   storage   SqliteChunkStorage.open + load (catalogue, seal marks, partitions)
 *   wal-open  Wal.open (lock, segment headers, scan of the last segment's tail)
 *   wal-scan  wal.replay(): reading and decoding the records (nothing kept)
 *   head      Head.insert of the decoded records (with the seal marks)
 *   open      TimeSeriesEngine.open, all of the above together
 *   latest    the first full answer: latest() of every series (bench:tsdb's probe)
 * Median of RUNS; points replayed and points/s.
 *
 * Env: SERIES (1000), UNSEALED_S (3600), SEALED_DAYS (2), SEALED_STEP_S (60), RUNS (5),
 * DIR (reuse/keep a directory: built if it has no series.db).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WINDOW_MS } from '../src/engine/head.js'
import { type EnginePoint, SqliteChunkStorage, TimeSeriesEngine, Wal } from '../src/index.js'

const SERIES = Number(process.env.SERIES ?? 1000)
const UNSEALED_S = Number(process.env.UNSEALED_S ?? 3600)
const SEALED_DAYS = Number(process.env.SEALED_DAYS ?? 2)
const SEALED_STEP_S = Number(process.env.SEALED_STEP_S ?? 60)
const RUNS = Number(process.env.RUNS ?? 5)
const BATCH_S = 10
const DAY_MS = 86_400_000
const START = Date.UTC(2024, 0, 1)
/** The unsealed hour starts on a window boundary after the sealed days. */
const LIVE = START + SEALED_DAYS * DAY_MS
const keys = Array.from({ length: SERIES }, (_, i) => `dev-${Math.floor(i / 10)}/m${i % 10}`)

const value = (s: number, t: number): number =>
  Math.round((20 + 5 * Math.sin(t / 3.6e6 + s) + ((s * 7 + t) % 13) / 10) * 10) / 10

async function build(dir: string): Promise<void> {
  let clock = START
  const e = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0, now: () => clock })
  // Batches as bench:tsdb writes them: BATCH_S seconds of every series, series-major.
  const write = async (from: number, seconds: number, stepS: number) => {
    for (let t0 = 0; t0 < seconds; t0 += BATCH_S * stepS) {
      const pts: EnginePoint[] = []
      for (let s = 0; s < SERIES; s++) {
        for (let k = 0; k < BATCH_S && t0 + k * stepS < seconds; k++) {
          const ts = from + (t0 + k * stepS) * 1000
          pts.push({ series: keys[s] as string, ts, value: value(s, ts) })
        }
      }
      clock = from + t0 * 1000
      await e.write(pts)
    }
  }
  if (SEALED_DAYS > 0) {
    await write(START, SEALED_DAYS * 86_400, SEALED_STEP_S)
    await e.flush()
  }
  await write(LIVE, UNSEALED_S, 1)
  await e.close()
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

/** One restart, in this (fresh) process: `open` the engine and answer, or only `scan` the log. */
async function child(dir: string, mode: string): Promise<Record<string, number>> {
  if (mode === 'scan') {
    const t = performance.now()
    const storage = await SqliteChunkStorage.open(dir, { fsync: true })
    await storage.load()
    const storageMs = performance.now() - t
    await storage.close()
    const t1 = performance.now()
    const wal = await Wal.open(join(dir, 'wal'), { fsync: true })
    const walOpenMs = performance.now() - t1
    const t2 = performance.now()
    let points = 0
    for await (const r of wal.replayColumns()) if (r.type === 'points') points += r.end - r.start
    const walScanMs = performance.now() - t2
    // The same through replay(), one object per point (what recovery decoded before replayColumns).
    const t3 = performance.now()
    for await (const r of wal.replay()) if (r.type === 'points') points += 0 * r.points.length
    const walObjectsMs = performance.now() - t3
    await wal.close()
    return { storageMs, walOpenMs, walScanMs, walObjectsMs, points }
  }
  const t = performance.now()
  const e = await TimeSeriesEngine.open(dir, { fsync: true, sealCheckMs: 0, now: () => LIVE })
  const openMs = performance.now() - t
  const t1 = performance.now()
  const latest = await e.latest(keys)
  const latestMs = performance.now() - t1
  const answered = latest.filter((x) => x !== undefined).length
  const replayed = e.stats.replayedPoints
  await e.close()
  return { openMs, latestMs, replayed, answered }
}

/** Runs child() in a new Node process (as a restart after kill -9 would: a fresh heap). */
function spawnChild(dir: string, mode: string): Record<string, number> {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, RECOVERY_CHILD: mode, DIR: dir },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  if (r.status !== 0) throw new Error(`child ${mode} failed (${r.status})`)
  return JSON.parse(r.stdout.trim().split('\n').pop() as string)
}

async function main(): Promise<void> {
  const mode = process.env.RECOVERY_CHILD
  if (mode !== undefined) {
    console.log(JSON.stringify(await child(process.env.DIR as string, mode)))
    return
  }
  const dir = process.env.DIR ?? (await mkdtemp(join(tmpdir(), 'strata-recovery-')))
  try {
    if (!existsSync(join(dir, 'series.db'))) {
      await mkdir(dir, { recursive: true })
      const t = performance.now()
      await build(dir)
      console.log(`built ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    }
    console.log(
      `${SERIES} series, ${UNSEALED_S} s of 1 s points unsealed (window ${WINDOW_MS / 3.6e6} h), ` +
        `${SEALED_DAYS} sealed days at ${SEALED_STEP_S} s; median of ${RUNS} restarts (new processes)`,
    )
    const scans = []
    const opens = []
    for (let i = 0; i < RUNS; i++) {
      scans.push(spawnChild(dir, 'scan'))
      opens.push(spawnChild(dir, 'open'))
    }
    const m = (runs: Record<string, number>[], k: string) => median(runs.map((r) => r[k] as number))
    const row = (label: string, ms: number) =>
      console.log(`  ${label.padEnd(40)} ${ms.toFixed(1).padStart(8)} ms`)
    const storageMs = m(scans, 'storageMs')
    const walOpenMs = m(scans, 'walOpenMs')
    const walScanMs = m(scans, 'walScanMs')
    const openMs = m(opens, 'openMs')
    row('storage open + load', storageMs)
    row('wal open (recover: headers, tail scan)', walOpenMs)
    row('wal read + decode (replayColumns)', walScanMs)
    row('  (same through replay(), object a point)', m(scans, 'walObjectsMs'))
    row('head insert etc. (open minus the above)', openMs - storageMs - walOpenMs - walScanMs)
    row('engine open (all)', openMs)
    row('first answer: latest(all series)', m(opens, 'latestMs'))
    row('open + first answer', median(opens.map((r) => (r.openMs as number) + (r.latestMs as number))))
    const first = opens[0] as Record<string, number>
    const replayed = first.replayed as number
    console.log(
      `  points replayed ${replayed.toLocaleString('en-US')} (log holds ${(scans[0]?.points ?? 0).toLocaleString('en-US')}); ` +
        `${(((replayed / openMs) * 1000) / 1e6).toFixed(1)}M points/s over the whole open; ` +
        `latest answered ${first.answered}/${SERIES}`,
    )
  } finally {
    if (process.env.DIR === undefined) await rm(dir, { recursive: true, force: true })
  }
}

await main()
