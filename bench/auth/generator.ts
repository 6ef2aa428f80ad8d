// The auth benchmark's load generator: a process forked by the parent and pinned to the
// generator core. It runs what the parent asks over IPC: rounds of CONNECT, CONNACK,
// DISCONNECT (raw sockets or MQTT.js, to show what the client library costs), or QoS 0
// publishers gated by a window of messages in flight, with one subscriber counting them.
// MQTT 3.1.1 throughout: https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html
import net from 'node:net'
import tls, { type SecureContext } from 'node:tls'
import mqtt from 'mqtt'
import mqttPacket from 'mqtt-packet'
import { CONNACK, DISCONNECT, PUBLISH, publish } from '../broker/wire.js'
import { Conn } from '../broker/worker/client.js'
import type { Credential, FromGenerator, Target, ToGenerator } from './messages.js'

const TIMEOUT_MS = 15_000

const send = (msg: FromGenerator) => {
  if (process.connected) process.send?.(msg, undefined, undefined, () => {})
}

const errors: string[] = []
const noteError = (message: string) => {
  if (errors.length < 5 && !errors.includes(message)) errors.push(message)
}

/** CONNECT with credentials (section 3.1), encoded once before any timing starts. */
function connectPacket(c: Credential): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepalive: 0,
    clientId: c.clientId,
    ...(c.username === undefined ? {} : { username: c.username }),
    ...(c.password === undefined ? {} : { password: Buffer.from(c.password) }),
  })
}

// One TLS context per client certificate, built before the timed part and kept across rounds:
// building one parses the key and the CA, which is the client's cost, not the broker's.
const contexts = new Map<string, SecureContext>()
function contextFor(target: Target, c: Credential): SecureContext | undefined {
  if (target.serverCaPem === undefined) return undefined
  let ctx = contexts.get(c.clientId)
  if (!ctx) {
    ctx = tls.createSecureContext({
      ca: target.serverCaPem,
      ...(c.certPem === undefined ? {} : { cert: c.certPem, key: c.keyPem }),
    })
    contexts.set(c.clientId, ctx)
  }
  return ctx
}

interface Prepared {
  clientId: string
  connect: Buffer
  ctx: SecureContext | undefined
}

const prepare = (target: Target, c: Credential): Prepared => ({
  clientId: c.clientId,
  connect: connectPacket(c),
  ctx: contextFor(target, c),
})

/** Opens a TCP or TLS connection, sends CONNECT and resolves on a successful CONNACK. */
function open(target: Target, p: Prepared): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = p.ctx
      ? tls.connect({ host: target.host, port: target.port, secureContext: p.ctx })
      : net.connect({ host: target.host, port: target.port })
    socket.setNoDelay(true)
    const conn = new Conn(socket)
    const fail = (err: Error) => {
      clearTimeout(timer)
      socket.destroy()
      reject(err)
    }
    const timer = setTimeout(() => fail(new Error(`no CONNACK within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)
    socket.once('error', fail)
    conn.expect(CONNACK).then((body) => {
      // [flags, return code]; 0 = accepted (section 3.2.2.3).
      const code = body[1] as number
      if (code !== 0) return fail(new Error(`CONNACK refused ${p.clientId} with 0x${code.toString(16)}`))
      clearTimeout(timer)
      socket.off('error', fail)
      socket.on('error', () => {})
      resolve(conn)
    }, fail)
    socket.once(p.ctx ? 'secureConnect' : 'connect', () => socket.write(p.connect))
  })
}

/** DISCONNECT, then wait until the broker has closed the connection [MQTT-3.14.4-1]. */
function close(conn: Conn): Promise<void> {
  return new Promise((resolve) => {
    const s = conn.socket
    const timer = setTimeout(() => {
      s.destroy()
      resolve()
    }, TIMEOUT_MS)
    s.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
    s.end(DISCONNECT)
  })
}

/** Runs `task(i)` for i in [0, count), at most `concurrency` at a time; returns the failures. */
async function lanes(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0
  let failed = 0
  const lane = async () => {
    while (next < count) {
      const i = next++
      try {
        await task(i)
      } catch (err) {
        failed++
        noteError((err as Error).message)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane))
  return failed
}

async function connectRound(msg: Extract<ToGenerator, { type: 'connect-round' }>): Promise<void> {
  const { target } = msg
  errors.length = 0
  const prepared = msg.credentials.map((c) => prepare(target, c))
  const url = `${target.serverCaPem === undefined ? 'mqtt' : 'mqtts'}://${target.host}:${target.port}`
  const viaMqttJs = async (i: number) => {
    const c = msg.credentials[i] as Credential
    const client = await mqtt.connectAsync(
      url,
      {
        clientId: c.clientId,
        ...(c.username === undefined ? {} : { username: c.username }),
        ...(c.password === undefined ? {} : { password: c.password }),
        protocolVersion: 4,
        clean: true,
        keepalive: 0,
        reconnectPeriod: 0,
        connectTimeout: TIMEOUT_MS,
        ...(target.serverCaPem === undefined
          ? {}
          : { secureContext: (prepared[i] as Prepared).ctx, rejectUnauthorized: true }),
      },
      false,
    )
    await client.endAsync()
  }
  const viaRaw = async (i: number) => close(await open(target, prepared[i] as Prepared))
  send({ type: 'started' })
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const failed = await lanes(prepared.length, msg.concurrency, msg.client === 'raw' ? viaRaw : viaMqttJs)
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  send({
    type: 'connect-done',
    ok: prepared.length - failed,
    failed,
    seconds,
    cpu: (cpu.user + cpu.system) / 1e6,
    errors: [...errors],
  })
}

// ---- QoS 0 publishers, gated by a window of messages in flight ----------------------------

interface Pub {
  conn: Conn
  /** `batch` copies of the publisher's PUBLISH: a batch is one write of a slice. */
  batchBytes: Buffer
  packetLength: number
  blocked: boolean
}

let load: { pubs: Pub[]; sub: Conn; window: number; batch: number } | null = null
let sent = 0
let received = 0
let running = false
/** Paced windows: messages the rate allows so far (Infinity when unpaced). */
let paceLimit = Number.POSITIVE_INFINITY
/** Most packets per publisher write in this window. */
let batchNow = 1

async function publishSetup(msg: Extract<ToGenerator, { type: 'publish-setup' }>): Promise<void> {
  const { target } = msg
  const sub = await open(target, prepare(target, msg.subscriber))
  await sub.subscribe(msg.filter, 0, 4)
  sub.handler = (first) => {
    if (first >> 4 === PUBLISH) received++
  }
  sub.afterChunk = schedule
  const batch = Math.max(1, Math.min(64, Math.floor(msg.window / msg.publishers.length)))
  const pubs: Pub[] = []
  const failed = await lanes(msg.publishers.length, 50, async (i) => {
    const conn = await open(target, prepare(target, msg.publishers[i] as Credential))
    const one = publish(msg.topics[i] as string, msg.payloadSize, 0, 4).bytes
    pubs.push({
      conn,
      batchBytes: Buffer.concat(Array.from({ length: batch }, () => one)),
      packetLength: one.length,
      blocked: false,
    })
    // A broker that refuses a PUBLISH closes the connection in 3.1.1 [MQTT-3.3.5-2]: say so.
    conn.socket.once('close', () => noteError(`publisher ${msg.publishers[i]?.clientId} disconnected`))
  })
  if (failed > 0) throw new Error(`${failed} publishers could not connect: ${errors.join('; ')}`)
  load = { pubs, sub, window: msg.window, batch }
  send({ type: 'publish-ready', publishers: pubs.length })
}

let scheduled = false
let cursor = 0
function schedule(): void {
  if (scheduled || !running) return
  scheduled = true
  setImmediate(pump)
}

/** One pass gives each unblocked socket at most one write of up to `batchNow` packets. */
function pump(): void {
  scheduled = false
  if (!running || !load) return
  const { pubs } = load
  let avail = Math.min(load.window - (sent - received), paceLimit - sent)
  let writable = 0
  for (let k = 0; k < pubs.length && avail > 0; k++) {
    const p = pubs[cursor] as Pub
    cursor = cursor + 1 === pubs.length ? 0 : cursor + 1
    if (p.blocked) continue
    const m = Math.min(avail, batchNow)
    const ok = p.conn.socket.write(p.batchBytes.subarray(0, m * p.packetLength))
    sent += m
    avail -= m
    if (ok) writable++
    else {
      p.blocked = true
      p.conn.socket.once('drain', () => {
        p.blocked = false
        schedule()
      })
    }
  }
  if (avail > 0 && writable > 0) schedule()
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

const PACE_TICK_MS = 5

async function publishWindow(msg: Extract<ToGenerator, { type: 'publish-window' }>): Promise<void> {
  if (!load) throw new Error('publish-window before publish-setup')
  let pacer: NodeJS.Timeout | undefined
  if (msg.rate > 0) {
    // Small writes spread over every publisher, as devices sending on their own would.
    batchNow = Math.max(
      1,
      Math.min(load.batch, Math.ceil((msg.rate * PACE_TICK_MS) / 1000 / load.pubs.length)),
    )
    const sent0 = sent
    const t0 = performance.now()
    paceLimit = sent0
    pacer = setInterval(() => {
      paceLimit = sent0 + Math.floor((msg.rate * (performance.now() - t0)) / 1000)
      schedule()
    }, PACE_TICK_MS)
  } else {
    batchNow = load.batch
    paceLimit = Number.POSITIVE_INFINITY
  }
  running = true
  schedule()
  await sleep(msg.warmupMs)
  const r0 = received
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  send({ type: 'started' })
  await sleep(msg.durationMs)
  const r1 = received
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  running = false
  clearInterval(pacer)
  send({
    type: 'publish-done',
    received: r1 - r0,
    seconds,
    cpu: (cpu.user + cpu.system) / 1e6,
    errors: [...errors],
  })
  // What is in flight drains before the next window's warm-up ends.
}

process.on('message', (msg: ToGenerator) => {
  const job =
    msg.type === 'connect-round'
      ? connectRound(msg)
      : msg.type === 'publish-setup'
        ? publishSetup(msg)
        : publishWindow(msg)
  job.catch((err: Error) => send({ type: 'failed', message: err.message }))
})
// The parent owns this process: if it goes away, stop at once.
process.on('disconnect', () => process.exit(0))
