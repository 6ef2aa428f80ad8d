// The durability test (issue 2, section 3 "persistence" and section 5): the
// broker process is killed with SIGKILL under QoS 1 load; after a restart on
// the same data dir, every message whose PUBACK reached the publisher arrives
// at the subscriber's persistent session, and retained messages are still there.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt'
import { type StrataProcess, startStrata, stopStrata, tempDir } from '../helpers/strata-process.js'
import { port, prng, waitUntil } from './lib.js'

const ROUNDS = 3
const SEED = 0x5eed_0009
const TOPIC = 'it/kill9/data'
const RETAINED = 'it/kill9/retained'
/** Outstanding (unacknowledged) QoS 1 publishes: "as fast as acks allow". */
const WINDOW = 32

interface Session {
  client: MqttClient
  connack: Promise<IConnackPacket>
  ids: Set<number>
  retained: string[]
}

/** Connects with handlers attached before CONNACK, so no early PUBLISH is missed. */
function open(url: string, options: IClientOptions): Session {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options })
  const ids = new Set<number>()
  const retained: string[] = []
  client.on('message', (topic, payload) => {
    if (topic === TOPIC) ids.add(Number(payload.toString()))
    else if (topic === RETAINED) retained.push(payload.toString())
  })
  const connack = new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve)
    client.once('error', reject)
  })
  return { client, connack, ids, retained }
}

const persistent = (clientId: string): IClientOptions => ({
  protocolVersion: 5,
  clientId,
  clean: false,
  properties: { sessionExpiryInterval: 3_600 },
})

/**
 * Publishes numbered QoS 1 messages with at most WINDOW outstanding, records
 * every id whose PUBACK arrived, and SIGKILLs the broker once `killAfter`
 * acknowledgements have arrived (with up to WINDOW still in flight).
 */
function publishUntilKilled(pub: MqttClient, proc: StrataProcess, killAfter: number): Promise<Set<number>> {
  const acked = new Set<number>()
  return new Promise((resolve) => {
    let next = 0
    let outstanding = 0
    let killed = false
    const pump = (): void => {
      while (!killed && outstanding < WINDOW) {
        const id = next++
        outstanding++
        pub.publish(TOPIC, String(id), { qos: 1 }, (err) => {
          outstanding--
          if (err || killed) return
          acked.add(id)
          if (acked.size >= killAfter) {
            killed = true
            proc.child.kill('SIGKILL')
            return
          }
          pump()
        })
      }
    }
    pub.once('close', () => {
      killed = true
      resolve(acked)
    })
    pump()
  })
}

describe('SIGKILL under QoS 1 load, then restart on the same data dir', { timeout: 120_000 }, () => {
  const random = prng(SEED)
  for (let round = 1; round <= ROUNDS; round++) {
    // Drawn at definition time so each round's moment depends only on SEED.
    const killAfter = 200 + Math.floor(random() * 2_300)

    // [MQTT-4.5.0-1] an accepted message joins the session state of every
    // matching subscriber; [MQTT-3.1.2-5] / 3.1.1 [MQTT-3.1.2-4] a resumed
    // session delivers it; [MQTT-3.2.2-2] Session Present on resume.
    test(`round ${round} (seed ${SEED.toString(16)}, kill after ${killAfter} PUBACKs): every acknowledged message and the retained one survive`, async () => {
      const dir = await tempDir('strata-kill9-')
      const args = ['--allow-anonymous']
      let proc = await startStrata(args, dir)
      const clientId = `kill9-sub-${round}`
      let restarted: StrataProcess | undefined
      try {
        const url = (p: StrataProcess): string => `mqtt://127.0.0.1:${port(p, 'MQTT')}`
        const first = open(url(proc), persistent(clientId))
        await first.connack
        await first.client.subscribeAsync(TOPIC, { qos: 1 })
        await first.client.endAsync()

        const pub = mqtt.connect(url(proc), {
          protocolVersion: 5,
          clientId: `kill9-pub-${round}`,
          reconnectPeriod: 0,
        })
        pub.on('error', () => {})
        await new Promise<void>((resolve) => pub.once('connect', () => resolve()))
        await pub.publishAsync(RETAINED, `retained-${round}`, { qos: 1, retain: true })

        const acked = await publishUntilKilled(pub, proc, killAfter)
        assert.equal(await proc.exited, 'SIGKILL')
        pub.end(true)
        assert.ok(acked.size >= killAfter, `${acked.size} acknowledged before the kill`)

        restarted = await startStrata(args, dir)
        proc = restarted
        const again = open(url(restarted), persistent(clientId))
        const connack = await again.connack
        assert.equal(connack.sessionPresent, true, 'the persistent session survived the kill')
        try {
          await waitUntil(
            () => [...acked].every((id) => again.ids.has(id)),
            'every acknowledged message',
            20_000,
          ).catch((err: Error) => {
            const missing = [...acked].filter((id) => !again.ids.has(id))
            throw new Error(
              `${err.message}: ${missing.length} of ${acked.size} acknowledged ids missing after restart, ` +
                `e.g. ${missing.slice(0, 20).join(', ')} (received ${again.ids.size} distinct)`,
            )
          })
        } finally {
          await again.client.endAsync()
        }

        const reader = open(url(restarted), { protocolVersion: 5, clean: true })
        await reader.connack
        await reader.client.subscribeAsync(RETAINED, { qos: 1 })
        await waitUntil(() => reader.retained.length > 0, 'the retained message after restart', 5_000)
        assert.deepEqual(reader.retained, [`retained-${round}`])
        await reader.client.endAsync()
        assert.equal(await stopStrata(restarted), 0)
      } finally {
        await stopStrata(proc, 'SIGKILL')
      }
    })
  }
})
