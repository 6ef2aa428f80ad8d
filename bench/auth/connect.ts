// Connection rate: distinct clients doing CONNECT, CONNACK, DISCONNECT, `concurrency` at a time,
// against a fresh broker per trial. After an uncounted warm-up with other clients, three rounds
// over the same clients: the first connect of each (Strata's token check is then one scrypt per
// device), the second (Strata's verified-credential cache answers), and a third with MQTT.js
// instead of raw sockets, to show what a client library adds on the generator's side.
import { machineCpu } from '../broker/proc.js'
import { median } from '../broker/report.js'
import { deviceId, type Fixture } from './fixture.js'
import { Generator } from './gen-client.js'
import type { ClientKind, Credential, Target } from './messages.js'
import type { Options } from './options.js'
import { type RunningServer, type ServerSpec, startServer } from './servers.js'
import { markdownTable, med, preciseCpuSeconds, ratio } from './table.js'

export interface ConnectCase {
  name: string
  server: ServerSpec
  /** Clients [from, from + count): devices dev-{i} with their token or certificate, or anonymous ids. */
  credentials(fx: Fixture, from: number, count: number): Credential[]
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, k) => from + k)
const anonymous = (_fx: Fixture, from: number, count: number): Credential[] =>
  range(from, count).map((i) => ({ clientId: `anon-${i}` }))
const byToken = (fx: Fixture, from: number, count: number): Credential[] =>
  range(from, count).map((i) => ({
    clientId: deviceId(i),
    username: deviceId(i),
    password: fx.tokens[i] as string,
  }))
const byCertificate = (fx: Fixture, from: number, count: number): Credential[] =>
  range(from, count).map((i) => ({
    clientId: deviceId(i),
    ...(fx.certs[i] as Fixture['certs'][number]),
  }))

export const CONNECT_CASES: ConnectCase[] = [
  {
    name: 'strata anonymous',
    server: { broker: 'strata', tls: false, allowAnonymous: true },
    credentials: anonymous,
  },
  {
    name: 'strata token',
    server: { broker: 'strata', tls: false, allowAnonymous: false },
    credentials: byToken,
  },
  {
    name: 'strata mTLS',
    server: { broker: 'strata', tls: true, allowAnonymous: false },
    credentials: byCertificate,
  },
  {
    name: 'mosquitto anonymous',
    server: { broker: 'mosquitto', tls: false, allowAnonymous: true },
    credentials: anonymous,
  },
  {
    name: 'mosquitto password_file',
    server: { broker: 'mosquitto', tls: false, allowAnonymous: false, passwordFile: true },
    credentials: byToken,
  },
  {
    name: 'mosquitto mTLS',
    server: { broker: 'mosquitto', tls: true, allowAnonymous: false },
    credentials: byCertificate,
  },
]

const MQTTJS_CLIENTS = 300

const ROUNDS: { name: string; client: ClientKind }[] = [
  { name: 'first', client: 'raw' },
  { name: 'second', client: 'raw' },
  { name: 'mqtt.js', client: 'mqtt.js' },
]

export interface RoundResult {
  connectsPerSecond: number
  /** Broker CPU per accepted connect, µs (its whole process, all threads). */
  brokerUs: number
  generatorUs: number
  /** Everything else on the machine during the round, % of one core: high = suspect. */
  otherCpu: number
  failed: number
  errors: string[]
}

export interface ConnectTrial {
  name: string
  trial: number
  rounds: Record<string, RoundResult>
  error?: string
}

export async function runConnectTrial(
  c: ConnectCase,
  trial: number,
  fx: Fixture,
  opts: Options,
): Promise<ConnectTrial> {
  const record: ConnectTrial = { name: c.name, trial, rounds: {} }
  let server: RunningServer
  try {
    server = await startServer(c.server, fx)
  } catch (err) {
    return { ...record, error: (err as Error).message }
  }
  const gen = Generator.start()
  try {
    const target: Target = {
      host: '127.0.0.1',
      port: server.port,
      ...(c.server.tls ? { serverCaPem: fx.server.caPem } : {}),
    }
    // Warm-up, not counted: rounds over other clients of the same kind until warmupConnects (or
    // 6 s for the slow TLS cases), so that the rounds below find the broker's code warm: V8 needs
    // 3,000-4,000 connects to bring Strata's path to its steady cost (a broker runs for days),
    // and round 1's cost is then the credential's, not the process's.
    const warmup = c.credentials(fx, opts.clients, opts.warmupClients)
    const warmUntil = performance.now() + 6000
    for (let done = 0; done < opts.warmupConnects && performance.now() < warmUntil; done += warmup.length) {
      const reply = await gen.ask(
        { type: 'connect-round', target, credentials: warmup, concurrency: opts.concurrency, client: 'raw' },
        'connect-done',
        60_000 + opts.warmupClients * 100,
      )
      if (reply.failed > 0) throw new Error(`warm-up: ${reply.failed} connects failed: ${reply.errors[0]}`)
    }
    const credentials = c.credentials(fx, 0, opts.clients)
    for (const round of ROUNDS) {
      // MQTT.js only shows what a client library costs the generator: a few hundred suffice.
      const clients = round.client === 'raw' ? credentials : credentials.slice(0, MQTTJS_CLIENTS)
      let b0 = Number.NaN
      let m0 = machineCpu()
      // Budget: a cold token round is one scrypt (~40 ms of the broker's core) per client.
      const reply = await gen.ask(
        {
          type: 'connect-round',
          target,
          credentials: clients,
          concurrency: opts.concurrency,
          client: round.client,
        },
        'connect-done',
        60_000 + opts.clients * 100,
        () => {
          b0 = preciseCpuSeconds(server.pid)
          m0 = machineCpu()
        },
      )
      const brokerCpu = preciseCpuSeconds(server.pid) - b0
      const machine = machineCpu().busy - m0.busy
      record.rounds[round.name] = {
        connectsPerSecond: reply.ok / reply.seconds,
        brokerUs: reply.ok > 0 ? (brokerCpu / reply.ok) * 1e6 : Number.NaN,
        generatorUs: reply.ok > 0 ? (reply.cpu / reply.ok) * 1e6 : Number.NaN,
        otherCpu: Math.max(0, ((machine - brokerCpu - reply.cpu) / reply.seconds) * 100),
        failed: reply.failed,
        errors: reply.errors,
      }
    }
    if (!server.alive()) record.error = `broker exited: ${server.output().slice(-300)}`
  } catch (err) {
    record.error = (err as Error).message
  } finally {
    await gen.kill()
    await server.stop()
  }
  return record
}

export function describeConnectTrial(t: ConnectTrial): string {
  const rounds = Object.entries(t.rounds).map(
    ([name, r]) =>
      `${name} ${Math.round(r.connectsPerSecond)}/s (broker ${Math.round(r.brokerUs)} µs, ` +
      `others ${r.otherCpu.toFixed(0)}%` +
      `${r.failed ? `, ${r.failed} failed: ${r.errors[0]}` : ''})`,
  )
  return `${rounds.join(', ')}${t.error ? ` FAILED: ${t.error}` : ''}`
}

const pick = (trials: ConnectTrial[], name: string, round: string, key: keyof RoundResult): number[] =>
  trials
    .filter((t) => t.name === name && t.rounds[round] && !t.rounds[round]?.failed)
    .map((t) => t.rounds[round]?.[key] as number)

export function connectTables(trials: ConnectTrial[]): string {
  const body = CONNECT_CASES.map((c) => [
    c.name,
    med(pick(trials, c.name, 'first', 'connectsPerSecond')),
    med(pick(trials, c.name, 'second', 'connectsPerSecond')),
    med(pick(trials, c.name, 'first', 'brokerUs')),
    med(pick(trials, c.name, 'second', 'brokerUs')),
    med(pick(trials, c.name, 'mqtt.js', 'connectsPerSecond')),
    med(pick(trials, c.name, 'second', 'generatorUs')),
    med(pick(trials, c.name, 'mqtt.js', 'generatorUs')),
  ])
  const rates = markdownTable(
    [
      'case',
      '1st connect/s',
      '2nd connect/s',
      'broker µs, 1st',
      'broker µs, 2nd',
      'mqtt.js connect/s',
      'gen µs, raw',
      'gen µs, mqtt.js',
    ],
    body,
  )
  const m = (name: string, round: string, key: keyof RoundResult) => median(pick(trials, name, round, key))
  const pairs: [string, string, string][] = [
    ['anonymous', 'strata anonymous', 'mosquitto anonymous'],
    ['token / password_file', 'strata token', 'mosquitto password_file'],
    ['mTLS', 'strata mTLS', 'mosquitto mTLS'],
  ]
  const ratios = markdownTable(
    ['Strata / Mosquitto', '1st connect/s', '2nd connect/s', 'broker µs, 1st', 'broker µs, 2nd'],
    pairs.map(([label, s, q]) => [
      label,
      ratio(m(s, 'first', 'connectsPerSecond'), m(q, 'first', 'connectsPerSecond')),
      ratio(m(s, 'second', 'connectsPerSecond'), m(q, 'second', 'connectsPerSecond')),
      ratio(m(s, 'first', 'brokerUs'), m(q, 'first', 'brokerUs')),
      ratio(m(s, 'second', 'brokerUs'), m(q, 'second', 'brokerUs')),
    ]),
  )
  return `${rates}\n\n${ratios}`
}
