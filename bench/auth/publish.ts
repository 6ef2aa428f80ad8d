// ACL cost end to end: `publishers` connected clients publish QoS 0 into `devices/{id}/events`
// (each its own device's namespace; not `telemetry`, which the platform decodes and stores, a
// different cost) and one subscriber reads `devices/+/events`, with the
// same load against each broker with and without its per-PUBLISH ACL. The figure that matters
// is each broker relative to itself: what its ACL costs it.
import { machineCpu } from '../broker/proc.js'
import { fmt, median } from '../broker/report.js'
import { deviceId, type Fixture } from './fixture.js'
import { Generator } from './gen-client.js'
import type { Credential, Target } from './messages.js'
import type { Options } from './options.js'
import { type RunningServer, type ServerSpec, startServer } from './servers.js'
import { markdownTable, med, preciseCpuSeconds, ratio } from './table.js'

export interface PublishCase {
  name: string
  server: ServerSpec
  /** Publisher i publishes to `devices/dev-i/events` whoever it logs in as. */
  publisher(fx: Fixture, i: number): Credential
}

const asDevice = (fx: Fixture, i: number): Credential => ({
  clientId: deviceId(i),
  username: deviceId(i),
  password: fx.tokens[i] as string,
})

export const PUBLISH_CASES: PublishCase[] = [
  {
    // DeviceAcl.canPublish on every PUBLISH: a startsWith on the device's namespace.
    name: 'strata, device tokens (device ACL)',
    server: { broker: 'strata', tls: false, allowAnonymous: false },
    publisher: asDevice,
  },
  {
    // A password-file user may publish anywhere outside `$`: one startsWith('$').
    name: 'strata, password-file user',
    server: { broker: 'strata', tls: false, allowAnonymous: false },
    publisher: (fx, i) => ({ clientId: `pub-${i}`, ...fx.publisher }),
  },
  {
    name: 'mosquitto, acl_file pattern',
    server: { broker: 'mosquitto', tls: false, allowAnonymous: false, passwordFile: true, aclFile: true },
    publisher: asDevice,
  },
  {
    name: 'mosquitto, no acl_file',
    server: { broker: 'mosquitto', tls: false, allowAnonymous: false, passwordFile: true },
    publisher: asDevice,
  },
]

export interface WindowMetrics {
  msgsPerSecond: number
  /** Broker CPU per message received by the subscriber, µs. */
  brokerUsPerMsg: number
  brokerCpu: number
  generatorCpu: number
  /** Everything else on the machine (other jobs on a shared VM), % of one core: high = suspect. */
  otherCpu: number
}

export interface PublishTrial {
  name: string
  trial: number
  /** At a fixed offered rate (the same for every case), then as fast as the window allows. */
  paced?: WindowMetrics
  max?: WindowMetrics
  notes: string[]
  error?: string
}

/** One measured window: the broker's CPU is read when the generator starts counting and at the end. */
async function measureWindow(
  gen: Generator,
  server: RunningServer,
  opts: Options,
  rate: number,
): Promise<WindowMetrics> {
  let b0 = Number.NaN
  let m0 = machineCpu()
  const done = await gen.ask(
    { type: 'publish-window', warmupMs: opts.warmupMs, durationMs: opts.durationMs, rate },
    'publish-done',
    opts.warmupMs + opts.durationMs + 30_000,
    () => {
      b0 = preciseCpuSeconds(server.pid)
      m0 = machineCpu()
    },
  )
  const brokerCpu = preciseCpuSeconds(server.pid) - b0
  const machine = machineCpu().busy - m0.busy
  for (const e of done.errors) if (!gen.notes.includes(e)) gen.notes.push(e)
  return {
    msgsPerSecond: done.received / done.seconds,
    brokerUsPerMsg: done.received > 0 ? (brokerCpu / done.received) * 1e6 : Number.NaN,
    brokerCpu: (brokerCpu / done.seconds) * 100,
    generatorCpu: (done.cpu / done.seconds) * 100,
    otherCpu: Math.max(0, ((machine - brokerCpu - done.cpu) / done.seconds) * 100),
  }
}

export async function runPublishTrial(
  c: PublishCase,
  trial: number,
  fx: Fixture,
  opts: Options,
): Promise<PublishTrial> {
  const record: PublishTrial = { name: c.name, trial, notes: [] }
  let server: RunningServer
  try {
    server = await startServer(c.server, fx)
  } catch (err) {
    return { ...record, error: (err as Error).message }
  }
  const gen = Generator.start()
  try {
    const target: Target = { host: '127.0.0.1', port: server.port }
    const publishers = Array.from({ length: opts.publishers }, (_, i) => c.publisher(fx, i))
    await gen.ask(
      {
        type: 'publish-setup',
        target,
        subscriber: { clientId: 'bench-sub', ...fx.subscriber },
        filter: 'devices/+/events',
        publishers,
        topics: publishers.map((_, i) => `devices/${deviceId(i)}/events`),
        payloadSize: opts.payloadSize,
        window: opts.window,
      },
      'publish-ready',
      // Strata's first connect of each publisher is one scrypt on the broker's core.
      60_000 + opts.publishers * 100,
    )
    record.paced = await measureWindow(gen, server, opts, opts.rate)
    record.max = await measureWindow(gen, server, opts, 0)
    record.notes = gen.notes
    if (!server.alive()) record.error = `broker exited: ${server.output().slice(-300)}`
  } catch (err) {
    record.error = (err as Error).message
  } finally {
    await gen.kill()
    await server.stop()
  }
  return record
}

export function describePublishTrial(t: PublishTrial): string {
  const w = (label: string, m: WindowMetrics | undefined) =>
    m
      ? `${label} ${Math.round(m.msgsPerSecond)} msgs/s, broker ${m.brokerUsPerMsg.toFixed(2)} µs/msg ` +
        `(broker ${m.brokerCpu.toFixed(0)}%, gen ${m.generatorCpu.toFixed(0)}%, others ${m.otherCpu.toFixed(0)}%)`
      : ''
  return [w('paced', t.paced), w('max', t.max), t.error ? `FAILED: ${t.error}` : '']
    .filter(Boolean)
    .join('; ')
}

export function publishTables(trials: PublishTrial[], rate: number): string {
  const pick = (name: string, window: 'paced' | 'max', key: keyof WindowMetrics) =>
    trials.filter((t) => t.name === name && !t.error).map((t) => t[window]?.[key] ?? Number.NaN)
  const table = markdownTable(
    [
      'case',
      'max msgs/s',
      'broker µs/msg, max',
      'broker CPU %, max',
      'gen CPU %, max',
      `msgs/s, paced at ${fmt(rate)}`,
      'broker µs/msg, paced',
      'other CPU %',
    ],
    PUBLISH_CASES.map((c) => [
      c.name,
      med(pick(c.name, 'max', 'msgsPerSecond')),
      med(pick(c.name, 'max', 'brokerUsPerMsg')),
      med(pick(c.name, 'max', 'brokerCpu')),
      med(pick(c.name, 'max', 'generatorCpu')),
      med(pick(c.name, 'paced', 'msgsPerSecond')),
      med(pick(c.name, 'paced', 'brokerUsPerMsg')),
      med([...pick(c.name, 'max', 'otherCpu'), ...pick(c.name, 'paced', 'otherCpu')]),
    ]),
  )
  const m = (i: number, window: 'paced' | 'max', key: keyof WindowMetrics) =>
    median(pick((PUBLISH_CASES[i] as PublishCase).name, window, key))
  const pairs: [string, number, number][] = [
    ['Strata: device ACL / password-file user', 0, 1],
    ['Mosquitto: acl_file / no acl_file', 2, 3],
    ['Strata device ACL / Mosquitto acl_file', 0, 2],
  ]
  const ratios = markdownTable(
    ['comparison', 'max msgs/s', 'broker µs/msg, max', 'broker µs/msg, paced'],
    pairs.map(([label, a, b]) => [
      label,
      ratio(m(a, 'max', 'msgsPerSecond'), m(b, 'max', 'msgsPerSecond')),
      ratio(m(a, 'max', 'brokerUsPerMsg'), m(b, 'max', 'brokerUsPerMsg')),
      ratio(m(a, 'paced', 'brokerUsPerMsg'), m(b, 'paced', 'brokerUsPerMsg')),
    ]),
  )
  return `${table}\n\n${ratios}`
}
