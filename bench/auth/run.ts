// `npm run bench:auth`: what authentication and ACLs cost, Strata beside Mosquitto in the same
// run. Brokers are pinned to core 0 and the generator to core 1 (bench/broker's helpers), a
// fresh broker per trial, trials interleaved across cases, medians and ratios at the end.
// Sections: connection rate by login method, the ACL hook in process (ns per PUBLISH), and
// QoS 0 publish throughput with and without each broker's ACL. Results: docs/benchmarks.md.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { GENERATOR_CORE } from '../broker/pool.js'
import { canPin, installCleanup, pinProcess, trackDir, waitForQuiet } from '../broker/proc.js'
import { fmt } from '../broker/report.js'
import { aclMicro, type MicroRow } from './acl-micro.js'
import {
  CONNECT_CASES,
  type ConnectTrial,
  connectTables,
  describeConnectTrial,
  runConnectTrial,
} from './connect.js'
import { prepareFixture } from './fixture.js'
import { type Options, parseOptions } from './options.js'
import {
  describePublishTrial,
  PUBLISH_CASES,
  type PublishTrial,
  publishTables,
  runPublishTrial,
} from './publish.js'
import { MOSQUITTO } from './servers.js'
import { markdownTable } from './table.js'

function mosquittoVersion(): string {
  try {
    return /version (\S+)/.exec(execFileSync(MOSQUITTO, ['-h'], { encoding: 'utf8' }))?.[1] ?? '?'
  } catch (err) {
    // mosquitto -h exits 3 after printing its usage.
    return /version (\S+)/.exec(String((err as { stdout?: string }).stdout ?? ''))?.[1] ?? '?'
  }
}

async function quiet(opts: Options): Promise<void> {
  if (opts.quietWaitMs <= 0) return
  const load = await waitForQuiet(opts.quietWaitMs)
  if (load >= 25) console.log(`    (machine still busy: other processes at ${load.toFixed(0)}% of a core)`)
}

/** Runs every case once per trial, cases interleaved (A, B, C, A, B, C...). */
async function interleaved<C extends { name: string }, R>(
  opts: Options,
  cases: C[],
  run: (c: C, trial: number) => Promise<R>,
  describe: (r: R) => string,
): Promise<R[]> {
  const out: R[] = []
  for (let trial = 1; trial <= opts.trials; trial++) {
    for (const c of cases) {
      await quiet(opts)
      const r = await run(c, trial)
      out.push(r)
      console.log(`[${trial}/${opts.trials}] ${c.name.padEnd(36)} ${describe(r)}`)
    }
  }
  return out
}

function microTable(rows: MicroRow[], calls: number): string {
  const base = rows[0]?.nsPerCall ?? Number.NaN
  return markdownTable(
    ['authorizePublish', 'ns/call', 'over baseline', 'M calls/s', 'runs (ns)'],
    rows.map((r, i) => [
      r.name,
      r.nsPerCall.toFixed(1),
      i === 0 ? '' : (r.nsPerCall - base).toFixed(1),
      fmt(1e3 / r.nsPerCall),
      r.runs.map((x) => x.toFixed(1)).join(' / '),
    ]),
  ).concat(`\n\n(${fmt(calls)} calls per run, median of ${rows[0]?.runs.length ?? 0} runs)`)
}

async function main(): Promise<void> {
  installCleanup()
  const opts = parseOptions(process.argv.slice(2))
  if (!opts) return
  const started = performance.now()
  const cpus = os.cpus()
  console.log(`auth benchmark, ${new Date().toISOString()}`)
  console.log(
    `machine: ${cpus.length} x ${cpus[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ` +
      `node ${process.version}, mosquitto ${mosquittoVersion()}; MQTT 3.1.1`,
  )
  console.log(
    `${fmt(opts.devices)} devices registered; ${opts.clients} clients per connect round at concurrency ` +
      `${opts.concurrency}; ${opts.publishers} publishers; ${opts.trials} trial(s) per case`,
  )

  // Setup uses both cores (scrypt and signing run on the thread pool); then the parent moves
  // off the broker's core, as bench/broker's does.
  const work = trackDir(mkdtempSync(join(os.tmpdir(), 'strata-bench-auth-')))
  // Connect trials use clients [0, clients) and warm up on the next warmupClients; publishers
  // are [0, publishers). Only these get credentials (a token is one scrypt to issue).
  const connecting = opts.sections.includes('connect') ? opts.clients + opts.warmupClients : 0
  const publishing = opts.sections.includes('publish') ? opts.publishers : 0
  const fx = await prepareFixture(work, {
    devices: opts.devices,
    tokens: Math.max(connecting, publishing, 2),
    certs: connecting,
  })
  console.log(
    `setup: ${Object.entries(fx.timings)
      .map(([k, s]) => `${k} ${s.toFixed(1)} s`)
      .join(', ')}`,
  )
  pinProcess(process.pid, GENERATOR_CORE)
  console.log(
    canPin
      ? `brokers pinned to core 0; generator and this process to core ${GENERATOR_CORE}`
      : 'taskset not found: nothing is pinned',
  )

  const report: string[] = []
  const json: Record<string, unknown> = { date: new Date().toISOString(), opts }

  if (opts.sections.includes('acl')) {
    console.log('\n## ACL hook in process')
    const rows = await aclMicro(fx, opts.calls, opts.rounds)
    json.acl = rows
    const t = microTable(rows, opts.calls)
    console.log(t)
    report.push(`### authorizePublish in process (${fmt(opts.devices)} devices registered)\n\n${t}`)
  }

  if (opts.sections.includes('connect')) {
    console.log('\n## Connection rate')
    const trials: ConnectTrial[] = await interleaved(
      opts,
      CONNECT_CASES,
      (c, trial) => runConnectTrial(c, trial, fx, opts),
      describeConnectTrial,
    )
    json.connect = trials
    report.push(
      `### Connection rate (${opts.clients} clients, concurrency ${opts.concurrency}, medians of ${opts.trials})\n\n${connectTables(trials)}`,
    )
  }

  if (opts.sections.includes('publish')) {
    console.log('\n## QoS 0 publish throughput with and without ACL')
    const trials: PublishTrial[] = await interleaved(
      opts,
      PUBLISH_CASES,
      (c, trial) => runPublishTrial(c, trial, fx, opts),
      describePublishTrial,
    )
    for (const t of trials) for (const n of t.notes) console.log(`    note (${t.name}): ${n}`)
    json.publish = trials
    report.push(
      `### QoS 0 publish, ${opts.publishers} publishers into their own namespace, 1 subscriber ` +
        `(${opts.durationMs / 1000} s windows at ${fmt(opts.rate)} msgs/s and unpaced, medians of ${opts.trials})\n\n${publishTables(trials, opts.rate)}`,
    )
  }

  console.log(`\n# Results (${((performance.now() - started) / 1000).toFixed(0)} s)\n`)
  console.log(report.join('\n\n'))
  console.log(
    '\nbroker µs: CPU time of the broker process per connect or message (user + system, all threads);' +
      '\ngen µs / gen CPU %: the generator process (core 1). Ratios are Strata / Mosquitto medians.',
  )
  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify(json, null, 2))
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
