// `npm run bench:tsdb`: time-series engines on the same generated data, in the same run
// (issue 4). Every engine runs pinned to core 0 (servers as they are, embedded libraries in a
// host process), the harness on core 1. Phases: load (ingest, flush, size) engine by engine;
// queries interleaved across engines (A, B, C, A, B, C...) so that drift hits all alike; the
// bit-exact read-back; kill -9 recovery; then per-kind sizes from one instance per kind.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { preciseCpuSeconds } from '../auth/table.js'
import { GENERATOR_CORE } from '../broker/pool.js'
import { canPin, installCleanup, pinProcess, removeDir, trackDir, waitForQuiet } from '../broker/proc.js'
import { fmt, median } from '../broker/report.js'
import {
  type BatchSource,
  type DataSpec,
  deviceName,
  endMs,
  expectedMinuteAverages,
  isJittered,
  KINDS,
  type Kind,
  METRICS,
  metricOf,
  seriesData,
  seriesId,
  seriesOfKind,
} from './data.js'
import { ENGINE_NAMES, type Engine, type EngineName, Unsupported } from './engine.js'
import { type EmbeddedName, probeEmbedded } from './engines/embedded.js'
import { type Options, parseOptions } from './options.js'
import { RemoteEngine } from './remote.js'
import {
  bitExactTable,
  type EngineResult,
  emptyResult,
  perKindTable,
  ratioTable,
  summaryTable,
} from './report.js'
import { InfluxDB, influxUnavailable } from './servers/influx.js'
import { VictoriaMetrics, vmUnavailable } from './servers/victoria.js'

/** The data starts at a whole hour, far from a month boundary (VM partitions by month). */
const START_MS = Date.UTC(2024, 2, 4, 6, 0, 0)

function makeEngine(name: EngineName, spec: DataSpec): Engine {
  switch (name) {
    case 'victoriametrics':
      return new VictoriaMetrics(spec)
    case 'influxdb':
      return new InfluxDB(spec)
    default:
      return new RemoteEngine(name, spec, name !== 'strata-codec')
  }
}

function dpkgVersion(pkg: string): string {
  try {
    return (
      // dpkg's format string, not a template literal.
      execFileSync('dpkg-query', ['-W', '-f', '$' + '{Version}', pkg], { encoding: 'utf8' }).split('+')[0] ??
      '?'
    )
  } catch {
    return '?'
  }
}

async function availability(name: EngineName): Promise<{ unavailable: string | null; version: string }> {
  if (name === 'victoriametrics')
    return { unavailable: vmUnavailable(), version: dpkgVersion('victoria-metrics') }
  if (name === 'influxdb') return { unavailable: influxUnavailable(), version: dpkgVersion('influxdb') }
  return probeEmbedded(name as EmbeddedName)
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''
const ms = (t0: number) => performance.now() - t0
const count = (n: number) => n.toLocaleString('en-US')

/** Waits (bounded) for a quiet machine; notes it on the result when it stayed busy. */
async function quiet(opts: Options, result: EngineResult, phase: string): Promise<void> {
  if (opts.quietWaitMs <= 0) return
  const load = await waitForQuiet(opts.quietWaitMs)
  if (load >= 25) {
    const note = `machine busy before ${phase}: other processes at ${load.toFixed(0)}% of a core`
    console.log(`    (${note})`)
    result.notes.push(note)
  }
}

/** Series in metric-major order (all devices' temperature first): the query and latest sets. */
function metricMajor(spec: DataSpec): number[] {
  const out: number[] = []
  for (let m = 0; m < METRICS.length; m++) for (let d = 0; d < spec.devices; d++) out.push(seriesId(d, m))
  return out
}

/** Counts values read back identical: same timestamp, same float64 (Object.is). */
function compareSeries(
  expected: { ts: Float64Array; values: Float64Array },
  got: { ts: Float64Array; values: Float64Array },
): number {
  let i = 0
  let j = 0
  let identical = 0
  while (i < expected.ts.length && j < got.ts.length) {
    const a = expected.ts[i] as number
    const b = got.ts[j] as number
    if (a === b) {
      if (Object.is(expected.values[i], got.values[j])) identical++
      i++
      j++
    } else if (a < b) i++
    else j++
  }
  return identical
}

interface Live {
  engine: Engine
  result: EngineResult
  dir: string
}

async function load(
  name: EngineName,
  engine: Engine,
  result: EngineResult,
  dir: string,
  source: BatchSource,
) {
  await engine.start(dir)
  const pid = engine.pid()
  const cpu0 = pid === null ? Number.NaN : preciseCpuSeconds(pid)
  const harness0 = process.cpuUsage()
  const t0 = performance.now()
  const stats = await engine.ingest(source)
  const wall = ms(t0)
  const h = process.cpuUsage(harness0)
  result.points = stats.points
  // Generation done in turn with the writes is taken off the wall time and off the CPU of the
  // process that did it; overlapped with the engine's work (servers), it stays in the wall time.
  const genS = stats.genMs / 1000
  const busyS = stats.genSerial ? wall / 1000 - genS : wall / 1000
  result.ingestPps = stats.points / busyS
  const engineS = (pid === null ? Number.NaN : preciseCpuSeconds(pid) - cpu0) - (stats.genSerial ? genS : 0)
  const harnessS = (h.user + h.system) / 1e6 - (stats.genSerial ? 0 : genS)
  result.ingestCpu = { engine: (100 * engineS) / busyS, harness: (100 * harnessS) / busyS }
  const t1 = performance.now()
  await engine.flushForSize()
  result.flushS = ms(t1) / 1000
  result.sizeBytes = await engine.sizeOnDisk()
  console.log(
    `[load] ${name.padEnd(15)} ${fmt(stats.points)} points in ${busyS.toFixed(2)} s ` +
      `(${genS.toFixed(2)} s generating, ${stats.genSerial ? 'not counted' : 'overlapped'}) = ${fmt(result.ingestPps)} points/s ` +
      `(CPU: engine ${result.ingestCpu.engine.toFixed(0)}%, harness ${result.ingestCpu.harness.toFixed(0)}%); ` +
      `flush ${result.flushS.toFixed(1)} s; ${fmt(result.sizeBytes)} bytes = ` +
      `${(result.sizeBytes / stats.points).toFixed(3)} bytes/point`,
  )
}

/** One timed call; Unsupported gives NaN (and a note once), other errors propagate. */
async function timed(result: EngineResult, what: string, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  try {
    await fn()
    return ms(t0)
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err
    const note = `${what}: ${errText(err)}`
    if (!result.notes.includes(note)) result.notes.push(note)
    return Number.NaN
  }
}

async function queries(opts: Options, spec: DataSpec, live: Live[], many: number[], latestSet: number[]) {
  const from = spec.startMs
  const to = endMs(spec)
  const q1Series = (run: number) => seriesId((run * 7) % spec.devices, 0)
  // The first round warms caches and checks the answers; it is not counted.
  for (let run = 0; run <= opts.runs; run++) {
    for (const l of live) {
      if (l.result.error) continue
      const r = l.result
      try {
        let single: Awaited<ReturnType<Engine['queryRange1mAvg']>> | undefined
        let multi: Awaited<ReturnType<Engine['queryRange1mAvgMany']>> | undefined
        let last: Float64Array | undefined
        const a = await timed(r, 'queries', async () => {
          single = await l.engine.queryRange1mAvg(q1Series(run), from, to)
        })
        const b = await timed(r, 'queries', async () => {
          multi = await l.engine.queryRange1mAvgMany(many, from, to)
        })
        const c = await timed(r, 'latest', async () => {
          last = await l.engine.latest(latestSet)
        })
        if (run === 0) {
          checkAnswers(l, spec, q1Series(run), single, multi, last, latestSet)
          continue
        }
        r.runs.q1.push(a)
        r.runs.qMany.push(b)
        r.runs.latest.push(c)
      } catch (err) {
        r.error = `queries: ${errText(err)}`
        console.log(`[query] ${l.engine.name}: FAILED ${r.error}`)
      }
    }
  }
  for (const l of live) {
    if (l.result.error) continue
    const m = (xs: number[]) => fmt(median(xs))
    console.log(
      `[query] ${l.engine.name.padEnd(15)} 1 series ${m(l.result.runs.q1)} ms, ${many.length} series ` +
        `${m(l.result.runs.qMany)} ms, latest of ${latestSet.length} ${m(l.result.runs.latest)} ms`,
    )
  }
}

/** Sanity checks of the warm-up answers, so that a broken adapter cannot post good-looking times. */
function checkAnswers(
  l: Live,
  spec: DataSpec,
  id: number,
  single: { t: Float64Array; avg: Float64Array } | undefined,
  multi: { t: Float64Array }[] | undefined,
  last: Float64Array | undefined,
  latestSet: number[],
) {
  const notes: string[] = []
  if (single) {
    const expected = expectedMinuteAverages(seriesData(spec, id), spec.startMs, endMs(spec))
    let close = 0
    for (let i = 0; i < single.t.length; i++) {
      const e = expected.get(single.t[i] as number)
      if (e !== undefined && Math.abs(e - (single.avg[i] as number)) <= 1e-9 * Math.max(1, Math.abs(e)))
        close++
    }
    notes.push(
      `1 series: ${single.t.length} buckets (expected ${expected.size}), ${close} equal to the data's own averages`,
    )
  }
  if (multi) notes.push(`${multi.length} series: ${multi.reduce((a, s) => a + s.t.length, 0)} buckets`)
  if (last) {
    let equal = 0
    let present = 0
    latestSet.forEach((id, i) => {
      const v = last?.[i] as number
      if (Number.isNaN(v)) return
      present++
      const d = seriesData(spec, id)
      if (Object.is(d.values[d.values.length - 1], v)) equal++
    })
    notes.push(
      `latest: ${present}/${latestSet.length} answered, ${equal} identical to the last value written`,
    )
  }
  if (notes.length) console.log(`[check] ${l.engine.name.padEnd(15)} ${notes.join('; ')}`)
}

async function bitExact(spec: DataSpec, opts: Options, live: Live[]) {
  for (let d = 0; d < opts.checkDevices; d++) {
    for (let m = 0; m < METRICS.length; m++) {
      const id = seriesId(d, m)
      const kind = metricOf(id).kind
      const expected = seriesData(spec, id)
      for (const l of live) {
        if (l.result.error) continue
        try {
          const got = await l.engine.readBack(id)
          const slot = l.result.bitExact[kind] ?? { identical: 0, total: 0 }
          l.result.bitExact[kind] = slot
          slot.identical += compareSeries(expected, got)
          slot.total += expected.ts.length
        } catch (err) {
          if (!(err instanceof Unsupported)) l.result.notes.push(`read-back failed: ${errText(err)}`)
        }
      }
    }
  }
  for (const l of live) {
    const parts = KINDS.flatMap((k) => {
      const x = l.result.bitExact[k]
      return x ? [`${k} ${((100 * x.identical) / x.total).toFixed(1)}%`] : []
    })
    if (parts.length) console.log(`[exact] ${l.engine.name.padEnd(15)} ${parts.join(', ')}`)
  }
}

/** One instance per kind and engine (data: that kind's series only); kinds share the flush wait. */
async function perKind(opts: Options, spec: DataSpec, work: string, name: EngineName, result: EngineResult) {
  const instances: { kind: Kind; engine: Engine; dir: string; points: number }[] = []
  try {
    for (const kind of KINDS) {
      const dir = join(work, `${name}-${kind}`)
      mkdirSync(dir, { recursive: true })
      const engine = makeEngine(name, spec)
      instances.push({ kind, engine, dir, points: 0 })
      await engine.start(dir)
    }
    for (const inst of instances) {
      const series = seriesOfKind(spec, inst.kind)
      inst.points = (await inst.engine.ingest({ spec, series, batchSeconds: opts.batchSeconds })).points
    }
    await Promise.all(instances.map((i) => i.engine.flushForSize()))
    for (const inst of instances) result.perKind[inst.kind] = (await inst.engine.sizeOnDisk()) / inst.points
    console.log(
      `[kind] ${name.padEnd(16)} ${KINDS.map((k) => `${k} ${(result.perKind[k] ?? Number.NaN).toFixed(3)}`).join(', ')} bytes/point`,
    )
  } catch (err) {
    result.notes.push(`per-kind sizes failed: ${errText(err)}`)
    console.log(`[kind] ${name}: FAILED ${errText(err)}`)
  } finally {
    await Promise.all(instances.map((i) => i.engine.stop().catch(() => {})))
    for (const i of instances) removeDir(i.dir)
  }
}

async function main(): Promise<void> {
  installCleanup()
  const opts = parseOptions(process.argv.slice(2))
  if (!opts) return
  pinProcess(process.pid, GENERATOR_CORE)
  const spec: DataSpec = {
    devices: opts.devices,
    seconds: opts.minutes * 60,
    startMs: START_MS,
    seed: opts.seed,
  }
  const total = spec.devices * METRICS.length
  const all = metricMajor(spec)
  const many = all.slice(0, Math.min(100, total))
  const latestSet = all.slice(0, Math.min(1000, total))
  const started = performance.now()
  const jittered = Array.from({ length: spec.devices }, (_, d) => d).filter(isJittered)

  const cpus = os.cpus()
  console.log(`time-series benchmark, ${new Date().toISOString()}`)
  console.log(
    `machine: ${cpus.length} x ${cpus[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; node ${process.version}`,
  )
  console.log(
    `data: ${spec.devices} devices x ${METRICS.length} metrics x ${opts.minutes} min at 1 s = ${fmt(total * spec.seconds)} ` +
      `nominal points (seed ${spec.seed}; ${jittered.length} devices jittered ±50 ms with gaps: ` +
      `${jittered.slice(0, 4).map(deviceName).join(', ')}${jittered.length > 4 ? '...' : ''}); ` +
      `batches of ${opts.batchSeconds} s (${fmt(total * opts.batchSeconds)} points)`,
  )
  console.log(
    canPin
      ? `engines pinned to core 0 (servers, and embedded engines in a host process); harness on core ${GENERATOR_CORE}`
      : 'taskset not found: nothing is pinned',
  )

  const results: EngineResult[] = []
  const live: Live[] = []
  const work = trackDir(mkdtempSync(join(os.tmpdir(), 'strata-bench-tsdb-')))
  for (const name of opts.engines) {
    const a = await availability(name)
    const result = emptyResult(name, a.version)
    results.push(result)
    if (a.unavailable) {
      result.error = a.unavailable
      console.log(`skipping ${name}: ${a.unavailable}`)
      continue
    }
    live.push({ engine: makeEngine(name, spec), result, dir: join(work, name) })
  }
  console.log(
    `engines: ${live.map((l) => (l.result.version ? `${l.engine.name} (${l.result.version})` : l.engine.name)).join(', ')}\n`,
  )

  const source: BatchSource = {
    spec,
    series: Array.from({ length: total }, (_, i) => i),
    batchSeconds: opts.batchSeconds,
  }
  for (const l of live) {
    await quiet(opts, l.result, 'ingest')
    mkdirSync(l.dir, { recursive: true })
    try {
      await load(l.engine.name, l.engine, l.result, l.dir, source)
    } catch (err) {
      l.result.error = `load: ${errText(err)}`
      console.log(`[load] ${l.engine.name}: FAILED ${errText(err)}`)
      await l.engine.stop().catch(() => {})
    }
  }

  await queries(opts, spec, live, many, latestSet)
  await bitExact(spec, opts, live)

  if (opts.recovery) {
    for (const l of live) {
      if (l.result.error) continue
      try {
        const r = await l.engine.killAndRecover(latestSet)
        l.result.recoveryMs = r.ms
        l.result.recoveryAcked = r.acked
        l.result.notes.push(`recovery: ${r.note}`)
        if (r.acked.found < r.acked.points)
          l.result.notes.push(
            `recovery: ${count(r.acked.points - r.acked.found)} of ${count(r.acked.points)} acknowledged points missing after the restart`,
          )
        console.log(
          `[recover] ${l.engine.name.padEnd(13)} ${r.ms.toFixed(0)} ms (${r.answered}/${latestSet.length} series); ` +
            `acknowledged points back: ${count(r.acked.found)}/${count(r.acked.points)}`,
        )
      } catch (err) {
        if (err instanceof Unsupported) l.result.notes.push(`recovery: ${errText(err)}`)
        else {
          l.result.notes.push(`recovery failed: ${errText(err)}`)
          console.log(`[recover] ${l.engine.name}: FAILED ${errText(err)}`)
        }
      }
    }
  }
  for (const l of live) {
    await l.engine.stop().catch((err: unknown) => l.result.notes.push(`stop: ${errText(err)}`))
    removeDir(l.dir)
  }

  if (opts.perKind) {
    for (const l of live) {
      if (l.result.error) continue
      await quiet(opts, l.result, 'per-kind ingest')
      await perKind(opts, spec, work, l.engine.name, l.result)
    }
  }

  const shape = { manySeries: many.length, latestSeries: latestSet.length }
  const secs = (ms(started) / 1000).toFixed(0)
  console.log(`\n# Results (${secs} s)\n`)
  console.log(
    `${fmt(results.find((r) => r.points)?.points ?? 0)} points (${spec.devices} devices x ${METRICS.length} metrics x ` +
      `${opts.minutes} min); queries: medians of ${opts.runs} runs, interleaved across engines\n`,
  )
  console.log(summaryTable(results, shape))
  console.log('\nBytes per point by signal kind (each kind in its own instance of the engine):\n')
  console.log(perKindTable(results))
  console.log(`\nBit-exact read-back (every metric of the first ${opts.checkDevices} devices):\n`)
  console.log(bitExactTable(results))
  console.log(
    "\nRatios: the engine's figure / the peer's (bytes and ms: lower is better; points/s and %: higher):\n",
  )
  console.log(ratioTable(results, shape))
  console.log(
    '\nbytes/point: VictoriaMetrics: its storage folder (data parts + indexdb) after force_flush and force_merge;' +
      '\n  InfluxDB: the .tsm files once snapshotted and fully compacted; SQLite: the file after a WAL checkpoint;' +
      '\n  DuckDB: the file after CHECKPOINT; strata: every file of its directory after flush() (chunk and' +
      '\n  series files with their SQLite -wal/-shm, the log); strata-codec: the encoded chunks (one per series' +
      '\n  and hour), no index.' +
      '\ningest: one writer. Embedded engines: batches in turn, generation time not counted. Servers: one' +
      '\n  HTTP request in flight (VictoriaMetrics JSON lines, InfluxDB line protocol), the next one generated' +
      '\n  and formatted on the harness core meanwhile. CPU %: of one core during the timed ingest, the' +
      '\n  engine process (server or host) / the harness; near 100 marks the side that limited the rate.' +
      '\nqueries: wall time seen by the harness, including HTTP (servers) or IPC (embedded engines, ~0.1 ms).' +
      '\nrecovery: servers from respawn to the first full answer; embedded engines open + first answer in the' +
      '\n  restarted process. Killed while a writer was sending scratch batches; "acked kept": the points' +
      '\n  whose write was acknowledged to that writer before the kill, read back after the restart.',
  )
  for (const r of results) {
    if (r.error) console.log(`\n${r.name}: ${r.error}`)
    for (const n of r.notes) console.log(`${r.name}: ${n}`)
  }
  if (opts.json) {
    writeFileSync(
      opts.json,
      JSON.stringify({ date: new Date().toISOString(), opts, spec, engines: ENGINE_NAMES, results }, null, 2),
    )
    console.log(`\nwrote ${opts.json}`)
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err)
    process.exit(1)
  },
)
