// Command-line options of `npm run bench:tsdb`, with the full and --quick profiles.
import { parseArgs } from 'node:util'
import { ENGINE_NAMES, type EngineName } from './engine.js'

export interface Options {
  quick: boolean
  engines: EngineName[]
  devices: number
  minutes: number
  /** Seconds of data per ingest batch (all series over that window). */
  batchSeconds: number
  /** Measured runs of each query per engine, interleaved across engines (the tables show medians). */
  runs: number
  /** The bit-exact check reads back every metric of the first N devices. */
  checkDevices: number
  perKind: boolean
  recovery: boolean
  seed: number
  /** Before each engine's ingest, wait up to this long for the rest of the machine to go quiet. */
  quietWaitMs: number
  json: string | null
}

const HELP = `Usage: npm run bench:tsdb -- [options]

Compares time-series engines on the same generated data in the same run (issue 4): bytes per
point on disk (overall and per signal kind), single-writer ingest rate, 1-minute averages over
1 and 100 series, the latest value of 1,000 series, recovery after kill -9, and how many values
read back bit-exact. Servers and embedded engines run pinned to core 0, the harness to core 1.

  --quick               10 devices x 10 metrics x 10 min (60,000 points): about a minute
  --engines LIST        comma-separated: ${ENGINE_NAMES.join(',')} (default: all)
  --devices N           devices, 10 metrics each (default 100, quick 10)
  --minutes N           minutes of 1-second data (default 180, quick 10)
  --batch-seconds N     seconds of data per ingest batch, all series (default 10)
  --runs N              measured runs per query, interleaved across engines (default 7, quick 5)
  --check-devices N     bit-exact check: every metric of the first N devices (default 10)
  --no-per-kind         skip the per-kind sizes (a separate instance per kind and engine)
  --no-recovery         skip the kill -9 recovery test
  --seed N              data seed (default 1)
  --quiet-wait S        before each ingest, wait up to S seconds until other processes use under
                        25% of a core (default 3, quick 0): the machine may be shared
  --json FILE           also write every figure as JSON
  -h, --help

Peers (an engine that is missing is skipped with a message):
  victoriametrics  apt-get install -y victoria-metrics   (Debian 12: 1.79)
  influxdb         apt-get install -y influxdb           (Debian 12: 1.6)
  sqlite           better-sqlite3@12.11.1                (npm, in bench/package.json)
  duckdb           @duckdb/node-api@1.5.6-r.1            (npm, in bench/package.json)
  strata           TimeSeriesEngine from @strata/tsdb, fsync on (npm run build first;
                   BENCH_TSDB_MODULE=<dist/index.js> loads another build, for both Strata slots)
  strata-codec     encodeChunk/decodeChunk from @strata/tsdb (npm run build first)
The servers' packages do not start them: this benchmark starts each on a free loopback port
with its data in a temporary folder, and removes both on exit.
`

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} wants a positive integer, got "${value}"`)
  return n
}

export function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      engines: { type: 'string' },
      devices: { type: 'string' },
      minutes: { type: 'string' },
      'batch-seconds': { type: 'string' },
      runs: { type: 'string' },
      'check-devices': { type: 'string' },
      'no-per-kind': { type: 'boolean', default: false },
      'no-recovery': { type: 'boolean', default: false },
      seed: { type: 'string' },
      'quiet-wait': { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(HELP)
    return null
  }
  const quick = values.quick === true
  let engines = [...ENGINE_NAMES]
  if (values.engines) {
    const wanted = values.engines.split(',').map((s) => s.trim())
    for (const e of wanted) {
      if (!(ENGINE_NAMES as readonly string[]).includes(e))
        throw new Error(`unknown engine "${e}" (one of ${ENGINE_NAMES.join(', ')})`)
    }
    engines = ENGINE_NAMES.filter((e) => wanted.includes(e))
  }
  const devices = positive(values.devices, 'devices', quick ? 10 : 100)
  const quiet = values['quiet-wait']
  return {
    quick,
    engines,
    devices,
    minutes: positive(values.minutes, 'minutes', quick ? 10 : 180),
    batchSeconds: positive(values['batch-seconds'], 'batch-seconds', 10),
    runs: positive(values.runs, 'runs', quick ? 5 : 7),
    checkDevices: Math.min(devices, positive(values['check-devices'], 'check-devices', 10)),
    perKind: !values['no-per-kind'],
    recovery: !values['no-recovery'],
    seed: positive(values.seed, 'seed', 1),
    quietWaitMs: quiet === undefined ? (quick ? 0 : 3000) : Number(quiet) * 1000,
    json: values.json ?? null,
  }
}
