// Graceful shutdown of `strata up` (issue 2, section 2): SIGINT and SIGTERM
// stop accepting, send MQTT 5 clients DISCONNECT 0x8B (Server shutting down),
// close MQTT 3.1.1 clients, flush, and exit 0; what was queued for a
// persistent session is delivered after the restart.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt'
import { type StrataProcess, startStrata, stopStrata, tempDir } from '../helpers/strata-process.js'
import { connect, port, waitUntil } from './lib.js'

const ARGS = ['--allow-anonymous']

function url(proc: StrataProcess): string {
  return `mqtt://127.0.0.1:${port(proc, 'MQTT')}`
}

/** Connects with the message handler attached before CONNACK (queued messages follow it at once). */
function openCollecting(
  address: string,
  options: IClientOptions,
): { client: MqttClient; payloads: string[]; connack: Promise<IConnackPacket> } {
  const client = mqtt.connect(address, { reconnectPeriod: 0, connectTimeout: 5_000, ...options })
  const payloads: string[] = []
  client.on('message', (_topic, payload) => payloads.push(payload.toString()))
  const connack = new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve)
    client.once('error', reject)
  })
  return { client, payloads, connack }
}

describe('graceful shutdown', { timeout: 60_000 }, () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // MQTT 5.0 section 3.14.2.1: 0x8B Server shutting down.
    test(`${signal}: exit 0, MQTT 5 clients get DISCONNECT 0x8B, MQTT 3.1.1 clients are closed`, async () => {
      const proc = await startStrata(ARGS)
      try {
        const v5 = await connect(url(proc), { protocolVersion: 5, clientId: `v5-${signal}` })
        const v4 = await connect(url(proc), { protocolVersion: 4, clientId: `v4-${signal}` })
        v5.on('error', () => {})
        v4.on('error', () => {})
        const disconnect = new Promise<number | undefined>((resolve) =>
          v5.once('disconnect', (packet) => resolve(packet.reasonCode)),
        )
        const v5Closed = new Promise<void>((resolve) => v5.once('close', () => resolve()))
        const v4Closed = new Promise<void>((resolve) => v4.once('close', () => resolve()))

        const code = await stopStrata(proc, signal)
        assert.equal(code, 0, `exit code after ${signal}: ${proc.stderr()}`)
        assert.equal(await disconnect, 0x8b)
        await v5Closed
        await v4Closed
        assert.ok(
          proc.logs.some((l) => l.msg === 'shutting down' && l.signal === signal),
          'the shutdown is logged with its signal',
        )
        v5.end(true)
        v4.end(true)
      } finally {
        await stopStrata(proc, 'SIGKILL')
      }
    })
  }

  for (const protocolVersion of [5, 4] as const) {
    const v = protocolVersion === 5 ? 'v5' : 'v3.1.1'
    // [MQTT-4.5.0-1] queued for the offline session; [MQTT-3.2.2-2] Session
    // Present on resume; [MQTT-4.6.0-6] in order.
    test(`${v}: QoS 1 messages queued for a persistent session before SIGTERM arrive after the restart`, async () => {
      const dir = await tempDir('strata-shutdown-')
      let proc = await startStrata(ARGS, dir)
      try {
        const session: IClientOptions = {
          protocolVersion,
          clientId: `shutdown-sub-${v}`,
          clean: false,
          ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3_600 } } : {}),
        }
        const topic = `it/shutdown/${v}`
        const first = openCollecting(url(proc), session)
        await first.connack
        await first.client.subscribeAsync(topic, { qos: 1 })
        await first.client.endAsync()

        const pub = await connect(url(proc), { protocolVersion })
        const sent = Array.from({ length: 50 }, (_, i) => `queued-${i}`)
        for (const m of sent) await pub.publishAsync(topic, m, { qos: 1 })
        await pub.endAsync()

        assert.equal(await stopStrata(proc, 'SIGTERM'), 0)
        proc = await startStrata(ARGS, dir)

        const again = openCollecting(url(proc), session)
        const connack = await again.connack
        assert.equal(connack.sessionPresent, true)
        await waitUntil(() => again.payloads.length >= sent.length, `${sent.length} queued messages`)
        assert.deepEqual(again.payloads, sent)
        await again.client.endAsync()
        assert.equal(await stopStrata(proc), 0)
      } finally {
        await stopStrata(proc, 'SIGKILL')
      }
    })
  }
})
