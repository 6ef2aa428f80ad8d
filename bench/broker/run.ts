// `npm run bench:broker`: Strata, Mosquitto and Aedes under the same load generator, each trial
// on a fresh broker pinned to core 0 with the generator on core 1, trials interleaved across
// brokers (A, B, C, A, B, C...) so that drift on a shared machine hits every broker alike.
// The specification of every scenario is issue 2, section 6; results go to docs/benchmarks.md.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { BROKERS, type BrokerName, type RunningBroker } from './brokers.js'
import { type Options, parseOptions } from './options.js'
import { GENERATOR_CORE, type GenWorker, spawnWorkers } from './pool.js'
import { canPin, installCleanup, pinProcess, waitForQuiet } from './proc.js'
import { fmt, renderTable, summarize, type TrialRecord } from './report.js'
import type { Scenario, Trial } from './scenarios/common.js'
import { selectScenarios } from './scenarios/index.js'

function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version }
  try {
    const help = execFileSync('/usr/sbin/mosquitto', ['-h'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    out.mosquitto = /version (\S+)/.exec(help)?.[1] ?? '?'
  } catch (err) {
    // mosquitto -h exits 3 after printing its usage.
    const stdout = String((err as { stdout?: string }).stdout ?? '')
    out.mosquitto = /version (\S+)/.exec(stdout)?.[1] ?? '?'
  }
  try {
    const url = new URL('../../node_modules/aedes/package.json', import.meta.url)
    out.aedes = (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version
  } catch {
    out.aedes = '?'
  }
  return out
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} exceeded its ${Math.round(ms / 1000)} s budget`)), ms)
  })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}

function budgetMs(opts: Options, sc: Scenario): number {
  if (sc.name.startsWith('idle')) return opts.quick ? 60_000 : 240_000
  return 70_000 + opts.warmupMs + opts.durationMs + opts.drainMs
}

async function runTrial(
  opts: Options,
  sc: Scenario,
  name: BrokerName,
  repeat: number,
  skip: Map<BrokerName, string>,
): Promise<TrialRecord> {
  const record: TrialRecord = { scenario: sc.name, broker: name, repeat, metrics: {}, notes: [] }
  let broker: RunningBroker
  try {
    broker = await BROKERS[name].start()
  } catch (err) {
    // A broker that cannot start once will not start on the next trial either.
    skip.set(name, (err as Error).message)
    record.error = (err as Error).message
    return record
  }
  const workers: GenWorker[] = []
  const trial: Trial = {
    broker,
    target: { host: '127.0.0.1', port: broker.port, level: opts.level },
    opts,
    tag: `${name.slice(0, 2)}${repeat}${Date.now().toString(36)}`,
    workers(n) {
      const w = spawnWorkers(n)
      workers.push(...w)
      return w
    },
  }
  try {
    const result = await withTimeout(sc.run(trial), budgetMs(opts, sc), `${sc.name} on ${name}`)
    record.metrics = result.metrics
    record.notes = result.notes
    if (!broker.alive()) record.notes.unshift(`${name} exited during the trial`)
  } catch (err) {
    record.error = (err as Error).message
    if (!broker.alive()) record.error += ` (${name} exited: ${broker.output().slice(-300)})`
  } finally {
    await Promise.all(workers.map((w) => w.kill()))
    await broker.stop()
  }
  return record
}

async function main(): Promise<void> {
  installCleanup()
  const opts = parseOptions(process.argv.slice(2))
  if (!opts) return
  // The parent only gates and samples, but it too stays off the broker's core.
  pinProcess(process.pid, GENERATOR_CORE)
  const v = versions()
  const cpus = os.cpus()
  console.log(`broker benchmark, ${new Date().toISOString()}`)
  console.log(
    `machine: ${cpus.length} x ${cpus[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ` +
      `node ${v.node}, mosquitto ${v.mosquitto}, aedes ${v.aedes}; MQTT level ${opts.level}`,
  )
  console.log(
    canPin
      ? `brokers pinned to core 0, generator (${opts.workers} workers) to core ${GENERATOR_CORE}`
      : 'taskset not found: nothing is pinned',
  )

  const skip = new Map<BrokerName, string>()
  for (const name of opts.brokers) {
    const why = BROKERS[name].unavailable()
    if (why) skip.set(name, why)
    else if (BROKERS[name].maxLevel < opts.level) skip.set(name, `does not speak MQTT level ${opts.level}`)
  }
  for (const [name, why] of skip) console.log(`skipping ${name}: ${why}`)

  const scenarios = selectScenarios(opts)
  const records: TrialRecord[] = []
  const started = performance.now()
  for (const sc of scenarios) {
    for (let r = 1; r <= opts.repeat; r++) {
      for (const name of opts.brokers) {
        if (skip.has(name)) continue
        if (opts.quietWaitMs > 0) {
          const load = await waitForQuiet(opts.quietWaitMs)
          if (load >= 25)
            console.log(`    (machine still busy: other processes at ${load.toFixed(0)}% of a core)`)
        }
        const rec = await runTrial(opts, sc, name, r, skip)
        records.push(rec)
        const head = `[${sc.name} ${r}/${opts.repeat}] ${name.padEnd(9)}`
        if (rec.error) {
          console.log(`${head} FAILED: ${rec.error}`)
          if (skip.has(name)) console.log(`skipping ${name} from now on`)
        } else {
          const m = Object.entries(rec.metrics).map(([k, x]) => `${k} ${fmt(x, k)}`)
          console.log(`${head} ${m.join(', ')}`)
        }
        for (const n of rec.notes) console.log(`    note: ${n}`)
      }
    }
  }

  const brokersRun = opts.brokers.filter((b) => records.some((r) => r.broker === b && !r.error))
  const rows = summarize(records, scenarios, brokersRun)
  console.log(
    `\nMedians of ${opts.repeat} run(s) per broker (${((performance.now() - started) / 1000).toFixed(0)} s):`,
  )
  console.log('msgs/s: messages received by subscribers per second (fan-out: deliveries, all subscribers)')
  console.log('gen CPU %: the generator workers together, % of one core (they share core 1)\n')
  console.log(renderTable(rows))
  for (const [name, why] of skip) console.log(`\n${name} was skipped: ${why.split('\n')[0]}`)
  if (opts.json) {
    writeFileSync(
      opts.json,
      JSON.stringify({ date: new Date().toISOString(), versions: v, opts, records, rows }, null, 2),
    )
    console.log(`\nwrote ${opts.json}`)
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  },
)
