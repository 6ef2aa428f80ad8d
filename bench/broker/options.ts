// Command-line options of `npm run bench:broker`, with the full and --quick profiles.
import { parseArgs } from 'node:util'
import { BROKER_NAMES, type BrokerName } from './brokers.js'

export const SCENARIO_NAMES = ['fan-in', 'fan-out', 'qos1', 'latency', 'idle'] as const
export type ScenarioName = (typeof SCENARIO_NAMES)[number]

export interface Options {
  quick: boolean
  brokers: BrokerName[]
  scenarios: ScenarioName[]
  /** Measured seconds per trial, after the warm-up. */
  durationMs: number
  warmupMs: number
  /** Longest wait for in-flight messages after publishers stop. */
  drainMs: number
  repeat: number
  json: string | null
  /** MQTT protocol level: 4 (3.1.1) or 5. Brokers that do not speak it are skipped. */
  level: 4 | 5
  /** Generator worker processes for the throughput scenarios. */
  workers: number
  /** Messages sent but not yet received before QoS 0 publishers pause. */
  window: number
  /** Fan-out's window, in deliveries (one message to N subscribers is N deliveries). */
  fanOutWindow: number
  /** Most QoS 0 packets per publisher write; 0 = window / publishers, within 1..64. */
  batch: number
  fanInPublishers: number
  fanOutSubscribers: number
  qos1Publishers: number
  /** Unacknowledged QoS 1 messages per publisher. */
  qos1Window: number
  latencyPublishers: number
  latencyRate: number
  idleCounts: number[]
  payloadSize: number
  /** Before each trial, wait up to this long for the rest of the machine to go quiet. */
  quietWaitMs: number
}

const HELP = `Usage: npm run bench:broker -- [options]

  --quick                 small counts and short trials (whole run under a minute)
  --brokers LIST          comma-separated: ${BROKER_NAMES.join(',')} (default: all)
  --scenarios LIST        comma-separated: ${SCENARIO_NAMES.join(',')} (default: all)
  --duration S            measured seconds per trial (default 5, quick 1)
  --repeat N              trials per broker and scenario, interleaved (default 3, quick 1)
  --json FILE             also write every trial and the medians as JSON
  --mqtt 4|5              protocol level (default 4 = 3.1.1; 5 skips Aedes)
  --workers N             generator processes for fan-in/fan-out/qos1 (default 3)
  --window N              fan-in: QoS 0 messages in flight before publishers pause (default 10000)
  --fan-out-window N      fan-out: deliveries in flight before the publisher pauses (default 100000)
  --batch N               most QoS 0 packets per publisher write (default: window/publishers, 1..64)
  --qos1-window N         unacknowledged QoS 1 messages per publisher (default 10)
  --idle LIST             idle connection counts (default 10000,19000; quick 500,1000)
  --quiet-wait S          before each trial, wait up to S seconds until other processes use
                          under 25% of a core (default 60, quick 0): the machine may be shared
  -h, --help
`

function list<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] {
  if (!value) return [...allowed]
  const items = value.split(',').map((s) => s.trim())
  for (const s of items) {
    if (!(allowed as readonly string[]).includes(s))
      throw new Error(`unknown ${what} "${s}" (one of ${allowed.join(', ')})`)
  }
  return items as T[]
}

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} wants a positive number, got "${value}"`)
  return n
}

export function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      brokers: { type: 'string' },
      scenarios: { type: 'string' },
      duration: { type: 'string' },
      repeat: { type: 'string' },
      json: { type: 'string' },
      mqtt: { type: 'string' },
      workers: { type: 'string' },
      window: { type: 'string' },
      'fan-out-window': { type: 'string' },
      batch: { type: 'string' },
      'qos1-window': { type: 'string' },
      idle: { type: 'string' },
      'quiet-wait': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(HELP)
    return null
  }
  const quick = values.quick === true
  const level = int(values.mqtt, 4, 'mqtt')
  if (level !== 4 && level !== 5) throw new Error('--mqtt is 4 (3.1.1) or 5')
  const durationMs = int(values.duration, quick ? 1 : 5, 'duration') * 1000
  return {
    quick,
    brokers: list(values.brokers, BROKER_NAMES, 'broker'),
    scenarios: list(values.scenarios, SCENARIO_NAMES, 'scenario'),
    durationMs,
    warmupMs: quick ? 300 : 1000,
    drainMs: quick ? 2000 : 10_000,
    repeat: int(values.repeat, quick ? 1 : 3, 'repeat'),
    json: values.json ?? null,
    level,
    workers: Math.max(2, int(values.workers, 3, 'workers')),
    window: int(values.window, 10_000, 'window'),
    fanOutWindow: int(values['fan-out-window'], 100_000, 'fan-out-window'),
    batch: values.batch === undefined ? 0 : int(values.batch, 0, 'batch'),
    fanInPublishers: quick ? 100 : 1000,
    fanOutSubscribers: quick ? 100 : 1000,
    qos1Publishers: quick ? 100 : 1000,
    qos1Window: int(values['qos1-window'], 10, 'qos1-window'),
    latencyPublishers: 100,
    latencyRate: 10_000,
    idleCounts: values.idle
      ? values.idle.split(',').map((s) => int(s, 0, 'idle'))
      : quick
        ? [500, 1000]
        : [10_000, 19_000],
    payloadSize: 64,
    quietWaitMs:
      values['quiet-wait'] === undefined ? (quick ? 0 : 60_000) : Number(values['quiet-wait']) * 1000,
  }
}
