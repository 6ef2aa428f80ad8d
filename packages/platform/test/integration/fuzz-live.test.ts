// Random and mutated bytes against a live `strata up` (issue 2, section 4):
// malformed input closes only that connection, with DISCONNECT 0x81/0x82 for
// MQTT 5 [MQTT-4.13.1-1]; the broker never crashes, never leaks connections,
// and answers correctly afterwards.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { connect as netConnect, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { generate, type Packet, parser } from 'mqtt-packet'
import { type StrataProcess, startStrata, stopStrata, tempDir } from '../helpers/strata-process.js'
import { alive, collect, connect, exchange, port, prng, rssKiB, sleep, waitUntil } from './lib.js'

const SEED = 0xf022_0002
const CONNECTIONS = 5_000
const BUDGET_MS = 20_000
const PARALLEL = 16

type Rng = () => number
const int = (r: Rng, n: number): number => Math.floor(r() * n)
const pick = <T>(r: Rng, items: readonly T[]): T => items[int(r, items.length)] as T
const bytes = (r: Rng, n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(r, 256)))

function connectPacket(r: Rng, protocolVersion: 4 | 5): Buffer {
  const packet: Packet = {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion,
    clientId: `fuzz-${int(r, 1e9)}`,
    clean: r() < 0.8,
    keepalive: int(r, 120),
    ...(r() < 0.3
      ? { will: { topic: 'fuzz/will', payload: bytes(r, int(r, 16)), qos: 0, retain: false } }
      : {}),
    ...(protocolVersion === 5 && r() < 0.5
      ? { properties: { sessionExpiryInterval: int(r, 5), receiveMaximum: 1 + int(r, 100) } }
      : {}),
  }
  return generate(packet, { protocolVersion })
}

function validPacket(r: Rng, protocolVersion: 4 | 5): Buffer {
  const topic = pick(r, ['fuzz/a', 'fuzz/b/c', 'fuzz/+/x', '#', 'fuzz/ü'])
  const qos = int(r, 3) as 0 | 1 | 2
  const messageId = 1 + int(r, 65_000)
  const packets: Packet[] = [
    {
      cmd: 'publish',
      topic: topic.replace(/[+#]/g, 'p'),
      payload: bytes(r, int(r, 64)),
      qos,
      retain: false,
      dup: false,
      ...(qos > 0 ? { messageId } : {}),
      ...(protocolVersion === 5 && r() < 0.5
        ? { properties: { userProperties: { k: 'v' }, contentType: 'x/y', messageExpiryInterval: 5 } }
        : {}),
    },
    { cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] },
    { cmd: 'unsubscribe', messageId, unsubscriptions: [topic] },
    { cmd: 'pingreq' },
    { cmd: 'puback', messageId },
    { cmd: 'pubrel', messageId },
    { cmd: 'disconnect' },
  ]
  return generate(pick(r, packets), { protocolVersion })
}

function flipBits(r: Rng, buf: Buffer): Buffer {
  const out = Buffer.from(buf)
  const flips = 1 + int(r, 4)
  for (let i = 0; i < flips && out.length > 0; i++) {
    const at = int(r, out.length)
    out[at] = (out[at] ?? 0) ^ (1 << int(r, 8))
  }
  return out
}

/** One fuzz case: the chunks written on one connection. */
function fuzzCase(r: Rng): Buffer[] {
  const v = pick(r, [4, 5] as const)
  const connect = connectPacket(r, v)
  switch (int(r, 9)) {
    case 0: // pure noise
      return [bytes(r, int(r, 200))]
    case 1: // a mutated CONNECT
      return [flipBits(r, connect)]
    case 2: // valid CONNECT, then mutated packets
      return [connect, flipBits(r, validPacket(r, v)), flipBits(r, validPacket(r, v))]
    case 3: {
      // valid CONNECT, then a truncated packet
      const p = validPacket(r, v)
      return [connect, p.subarray(0, int(r, p.length))]
    }
    case 4: // bogus remaining length: five continuation bytes, or a huge one
      return [
        connect,
        Buffer.from(
          pick(r, [
            [0x30, 0xff, 0xff, 0xff, 0xff, 0x01],
            [0x82, 0xff, 0xff, 0xff, 0x7f],
          ]),
        ),
      ]
    case 5: // garbage right after CONNECT
      return [Buffer.concat([connect, bytes(r, 1 + int(r, 100))])]
    case 6: // a second CONNECT [MQTT-3.1.0-2]
      return [connect, validPacket(r, v), connectPacket(r, v)]
    case 7: {
      // reserved flags: SUBSCRIBE/UNSUBSCRIBE/PUBREL must have 0b0010, PINGREQ 0 [MQTT-2.2.2-1]
      const p = Buffer.from(validPacket(r, v))
      p[0] = ((p[0] ?? 0) & 0xf0) | int(r, 16)
      return [connect, p]
    }
    default: // a valid session, to keep the broker honest about real traffic
      return [connect, validPacket(r, v), validPacket(r, v)]
  }
}

/** Runs one connection: write the chunks, then close after the broker does or a short wait. */
function runCase(mqttPort: number, chunks: Buffer[], r: Rng): Promise<void> {
  return new Promise((resolve) => {
    const socket = netConnect(mqttPort, '127.0.0.1')
    const done = (): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve()
    }
    const timer = setTimeout(done, 50 + int(r, 100))
    socket.on('error', done)
    socket.on('close', done)
    socket.on('data', () => {})
    socket.once('connect', () => {
      for (const c of chunks) socket.write(c)
      if (r() < 0.3) socket.end()
    })
  })
}

/** A connection whose valid CONNECT got its CONNACK, ready for a malformed packet. */
async function openSession(mqttPort: number, clientId: string, protocolVersion: 4 | 5): Promise<Socket> {
  const socket = netConnect(mqttPort, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const decoder = parser({ protocolVersion })
  const connack = new Promise<Packet>((resolve) => decoder.once('packet', resolve))
  const feed = (d: Buffer): void => {
    decoder.parse(d)
  }
  socket.on('data', feed)
  socket.write(
    generate(
      { cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId, clean: true, keepalive: 30 },
      { protocolVersion },
    ),
  )
  const p = await connack
  socket.off('data', feed)
  assert.equal(p.cmd, 'connack')
  assert.equal(p.cmd === 'connack' ? (protocolVersion === 5 ? p.reasonCode : p.returnCode) : -1, 0)
  return socket
}

describe('fuzzing a live strata up', { timeout: 90_000 }, () => {
  let proc: StrataProcess
  let mqttPort: number
  let httpPort: number

  before(async () => {
    const dir = await tempDir('strata-fuzz-')
    const config = join(dir, 'fuzz.json')
    // Thousands of connections from 127.0.0.1 in seconds: lift the
    // per-address connection rate limit (it has its own tests), and let
    // incomplete CONNECTs time out quickly.
    await writeFile(
      config,
      JSON.stringify({ limits: { connectionRatePerAddress: 0, connectTimeoutMs: 1_000 } }),
    )
    proc = await startStrata(['--allow-anonymous', '--config', config], dir)
    mqttPort = port(proc, 'MQTT')
    httpPort = port(proc, 'HTTP (API)')
  })
  after(async () => {
    if (proc) await stopStrata(proc)
  })

  const MALFORMED_V5: Array<[name: string, bytes: Buffer, tag: string]> = [
    ['PUBLISH with QoS 3', Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]), '[MQTT-3.3.1-4]'],
    [
      'a second CONNECT',
      generate(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clientId: 'again',
          clean: true,
          keepalive: 30,
        },
        { protocolVersion: 5 },
      ),
      '[MQTT-3.1.0-2]',
    ],
    // SUBSCRIBE's fixed header flags must be 0b0010.
    [
      'SUBSCRIBE with reserved flags 0000',
      Buffer.from([0x80, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0x00]),
      '[MQTT-3.8.1-1]',
    ],
    [
      'PUBLISH with an invalid UTF-8 topic',
      Buffer.from([0x30, 0x05, 0x00, 0x02, 0xc3, 0x28, 0x00]),
      '[MQTT-1.5.4-1]',
    ],
    ['a 5-byte remaining length', Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), '[MQTT-1.5.5-1]'],
    // Remaining length 2 MiB: over the default 1 MiB Maximum Packet Size, refusable from the header alone.
    [
      'a PUBLISH larger than Maximum Packet Size',
      Buffer.from([0x30, 0x80, 0x80, 0x80, 0x01, 0x00, 0x01, 0x61]),
      '[MQTT-3.2.2-15]',
    ],
    [
      'a PUBLISH topic with U+0000',
      Buffer.from([0x30, 0x05, 0x00, 0x02, 0x61, 0x00, 0x00]),
      '[MQTT-1.5.4-2]',
    ],
  ]

  for (const [name, bad, tag] of MALFORMED_V5) {
    test(`MQTT 5, ${name}: DISCONNECT 0x81/0x82/0x95, then the connection closes ${tag} [MQTT-4.13.1-1]`, async () => {
      const socket = await openSession(mqttPort, `malformed-${name.replace(/\W+/g, '-')}`, 5)
      const outcome = await exchange(socket, [bad], { protocolVersion: 5, timeoutMs: 5_000 })
      assert.equal(outcome.closed, true, 'the broker closes the connection')
      const last = outcome.packets.at(-1)
      assert.equal(last?.cmd, 'disconnect', `got ${JSON.stringify(outcome.packets.map((p) => p.cmd))}`)
      const reason = last.cmd === 'disconnect' ? last.reasonCode : undefined
      assert.ok(
        reason === 0x81 || reason === 0x82 || reason === 0x95,
        `reason code 0x${reason?.toString(16)}`,
      )
    })
  }

  test('MQTT 3.1.1, PUBLISH with QoS 3: the connection is closed, nothing else sent [MQTT-3.3.1-4]', async () => {
    const socket = await openSession(mqttPort, 'v4-malformed', 4)
    const outcome = await exchange(socket, [Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])], {
      protocolVersion: 4,
      timeoutMs: 5_000,
    })
    assert.equal(outcome.closed, true)
    assert.deepEqual(
      outcome.packets.map((p) => p.cmd),
      [],
      'MQTT 3.1.1 has no server DISCONNECT: the connection is just closed',
    )
  })

  test(`${CONNECTIONS} seeded random/mutated connections (seed ${SEED.toString(16)}): still alive, answers, no leak`, async (t) => {
    const pid = proc.child.pid
    assert.ok(pid)
    // Warm up first so the baseline includes the JIT and buffers a normal client needs.
    const warm = await connect(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 5 })
    await warm.subscribeAsync('fuzz/#', { qos: 1 })
    await warm.publishAsync('fuzz/warm', 'x', { qos: 1 })
    await warm.endAsync()
    const rssBefore = await rssKiB(pid)

    const r = prng(SEED)
    const cases = Array.from({ length: CONNECTIONS }, () => fuzzCase(r))
    const started = Date.now()
    let next = 0
    let ran = 0
    const worker = async (w: number): Promise<void> => {
      const wr = prng(SEED + w + 1)
      while (next < cases.length && Date.now() - started < BUDGET_MS && alive(proc)) {
        const chunks = cases[next++] ?? []
        await runCase(mqttPort, chunks, wr)
        ran++
      }
    }
    await Promise.all(Array.from({ length: PARALLEL }, (_, w) => worker(w)))
    const elapsed = Date.now() - started
    assert.ok(alive(proc), `strata died during the fuzz after ${ran} connections: ${proc.stderr()}`)
    assert.ok(ran >= 500, `only ${ran} connections in ${elapsed} ms`)
    t.diagnostic(`fuzz: ${ran} connections in ${elapsed} ms`)

    // Still correct: a fresh client connects, subscribes and gets a message.
    const client = await connect(`mqtt://127.0.0.1:${mqttPort}`, {
      protocolVersion: 5,
      clientId: 'after-fuzz',
    })
    const got = collect(client)
    await client.subscribeAsync('after/fuzz', { qos: 1 })
    await client.publishAsync('after/fuzz', 'still here', { qos: 1 })
    await waitUntil(() => got.length === 1, 'the message after the fuzz')
    assert.equal(got[0]?.payload.toString(), 'still here')

    const health = await fetch(`http://127.0.0.1:${httpPort}/health`)
    assert.equal(health.status, 200)

    // No connection leaked: only our client is still counted.
    let stats = { clientsConnected: -1 }
    for (let i = 0; i < 75 && stats.clientsConnected !== 1; i++) {
      const res = await fetch(`http://127.0.0.1:${httpPort}/health`)
      stats = ((await res.json()) as { broker: { clientsConnected: number } }).broker
      if (stats.clientsConnected !== 1) await sleep(200)
    }
    assert.equal(stats.clientsConnected, 1, 'every fuzz connection was released')
    await client.endAsync()

    const rssAfter = await rssKiB(pid)
    t.diagnostic(`RSS ${rssBefore} KiB before, ${rssAfter} KiB after`)
    // Generous: a leak of even 100 bytes per connection plus buffers would not
    // trip it, but a retained socket/buffer per connection (tens of KiB) would.
    assert.ok(rssAfter - rssBefore < 256 * 1024, `RSS grew from ${rssBefore} KiB to ${rssAfter} KiB`)
  })
})
