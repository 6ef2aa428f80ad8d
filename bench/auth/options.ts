// Command-line options of `npm run bench:auth`, with the full and --quick profiles.
import { parseArgs } from 'node:util'

export const SECTIONS = ['connect', 'acl', 'publish'] as const
export type Section = (typeof SECTIONS)[number]

export interface Options {
  quick: boolean
  sections: Section[]
  /** Interleaved trials per case; the tables show medians. */
  trials: number
  /** Devices registered in Strata's registry. */
  devices: number
  /** Distinct clients per connect round (each has a token and a certificate). */
  clients: number
  /** Distinct clients of the uncounted warm-up before each connect trial's rounds, and its connects. */
  warmupClients: number
  warmupConnects: number
  /** Handshakes in flight at once. */
  concurrency: number
  /** Publishing devices in the end-to-end ACL test. */
  publishers: number
  /** Offered rate of the paced publish window, messages/s for all publishers together. */
  rate: number
  /** QoS 0 messages in flight (sent, not yet received) before publishers pause. */
  window: number
  payloadSize: number
  warmupMs: number
  durationMs: number
  /** Micro benchmark: calls per measurement and counted rounds. */
  calls: number
  rounds: number
  /** Before each trial, wait up to this long for the rest of the machine to go quiet. */
  quietWaitMs: number
  json: string | null
}

const HELP = `Usage: npm run bench:auth -- [options]

  --quick             fewer clients, one trial, short windows (about a minute)
  --trials N          trials per case, interleaved across cases (default 3, quick 1)
  --devices N         devices in Strata's registry (default 100000)
  --clients N         distinct clients per connect round (default 1000, quick 200)
  --concurrency N     handshakes in flight (default 50)
  --publishers N      publishing devices in the end-to-end ACL test (default 100)
  --window N          QoS 0 messages in flight before publishers pause (default 10000)
  --rate N            the paced publish window's offered load, msgs/s (default 40000)
  --duration S        measured seconds per publish window (default 3, quick 2)
  --calls N           ACL micro benchmark: calls per measurement (default 1000000)
  --rounds N          ACL micro benchmark: counted rounds (default 7, quick 3)
  --sections LIST     comma-separated: connect,acl,publish (default: all)
  --quiet-wait S      before each trial, wait up to S seconds until other processes use under
                      25% of a core (default 3, quick 0): the machine may be shared
  --json FILE         also write every trial and the medians as JSON
  -h, --help
`

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${value}`)
  return n
}

export function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      trials: { type: 'string' },
      devices: { type: 'string' },
      clients: { type: 'string' },
      concurrency: { type: 'string' },
      publishers: { type: 'string' },
      window: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      calls: { type: 'string' },
      rounds: { type: 'string' },
      sections: { type: 'string' },
      'quiet-wait': { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(HELP)
    return null
  }
  const quick = values.quick === true
  const sections = (values.sections ?? SECTIONS.join(',')).split(',').map((s) => s.trim())
  for (const s of sections)
    if (!(SECTIONS as readonly string[]).includes(s))
      throw new Error(`unknown section ${s} (known: ${SECTIONS.join(', ')})`)
  const clients = Math.floor(positive(values.clients, 'clients', quick ? 200 : 1000))
  const publishers = Math.floor(positive(values.publishers, 'publishers', 100))
  const devices = Math.floor(positive(values.devices, 'devices', 100_000))
  if (devices < Math.max(clients + 100, publishers))
    throw new Error('--devices must be at least --clients + 100 and --publishers')
  return {
    quick,
    sections: sections as Section[],
    trials: Math.floor(positive(values.trials, 'trials', quick ? 1 : 3)),
    devices,
    clients,
    warmupClients: 100,
    warmupConnects: quick ? 1000 : 4000,
    concurrency: Math.floor(positive(values.concurrency, 'concurrency', 50)),
    publishers,
    window: Math.floor(positive(values.window, 'window', 10_000)),
    rate: Math.floor(positive(values.rate, 'rate', 40_000)),
    payloadSize: 64,
    warmupMs: quick ? 500 : 1000,
    durationMs: positive(values.duration, 'duration', quick ? 2 : 3) * 1000,
    calls: Math.floor(positive(values.calls, 'calls', 1_000_000)),
    rounds: Math.floor(positive(values.rounds, 'rounds', quick ? 3 : 7)),
    quietWaitMs:
      values['quiet-wait'] === undefined ? (quick ? 0 : 3000) : Number(values['quiet-wait']) * 1000,
    json: values.json ?? null,
  }
}
