// mqtt.js (v3.1.1 and v5) against `strata up` over every transport: TCP,
// WebSocket, TLS with client certificates, and secure WebSocket.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { after, describe, type TestContext, test } from 'node:test'
import { type TLSSocket, connect as tlsConnect } from 'node:tls'
import type { IClientOptions, MqttClient } from 'mqtt'
import { generate } from 'mqtt-packet'
import { type TestCerts, testCerts } from '../helpers/certs.js'
import { type StrataProcess, startStrata, stopStrata, tempDir } from '../helpers/strata-process.js'
import { addUser, collect, connect, exchange, port, type RawOutcome, waitUntil } from './lib.js'

const USER = 'mqttjs-peer'
const PASS = 'mqttjs-pass-1'
const VERSIONS = [4, 5] as const

/** Subscribes and publishes one QoS 1 message over the same client: the smallest useful round trip. */
async function roundTrip(client: MqttClient, topic: string): Promise<void> {
  const got = collect(client)
  const granted = await client.subscribeAsync(topic, { qos: 1 })
  assert.equal(granted[0]?.qos, 1)
  await client.publishAsync(topic, 'ping', { qos: 1 })
  await waitUntil(() => got.length === 1, `the message on ${topic}`)
  assert.equal(got[0]?.payload.toString(), 'ping')
  assert.equal(got[0]?.packet.qos, 1)
}

/** Started once per file on first use, with one user in its password file. */
const instances = new Map<string, Promise<StrataProcess>>()
function strata(key: string, args: string[]): Promise<StrataProcess> {
  let p = instances.get(key)
  if (!p) {
    p = (async () => {
      const dir = await tempDir()
      await addUser(dir, USER, PASS)
      return startStrata(args, dir)
    })()
    instances.set(key, p)
  }
  return p
}

function tlsArgs(certs: TestCerts): string[] {
  return [
    '--tls-cert',
    certs.serverCert,
    '--tls-key',
    certs.serverKey,
    '--tls-ca',
    certs.caCert,
    '--mqtts-port',
    '0',
    '--wss-port',
    '0',
  ]
}

async function tlsStrata(t: TestContext): Promise<{ proc: StrataProcess; certs: TestCerts } | undefined> {
  const certs = await testCerts(t)
  if (!certs) return undefined
  return { proc: await strata('tls', tlsArgs(certs)), certs }
}

/** A raw TLS client: sends an MQTT CONNECT and records what the broker does. */
async function rawTlsConnect(
  mqttsPort: number,
  certs: TestCerts,
  clientCert?: { cert: string; key: string },
  stopAtConnack = false,
): Promise<RawOutcome> {
  const socket: TLSSocket = tlsConnect({
    host: '127.0.0.1',
    port: mqttsPort,
    ca: readFileSync(certs.caCert),
    ...(clientCert ? { cert: readFileSync(clientCert.cert), key: readFileSync(clientCert.key) } : {}),
  })
  // Under TLS 1.3 the client's handshake can complete before the server has
  // judged the certificate, so the CONNECT may well be written: the server
  // must still never answer it.
  await new Promise<void>((resolve) => {
    socket.once('secureConnect', () => resolve())
    socket.once('error', () => resolve())
    socket.once('close', () => resolve())
  })
  const connectPacket = generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: 'raw-tls',
    clean: true,
    keepalive: 30,
  })
  return exchange(socket, socket.destroyed ? [] : [connectPacket], {
    protocolVersion: 4,
    timeoutMs: 5_000,
    until: (p) => stopAtConnack && p.cmd === 'connack',
  })
}

describe('mqtt.js against strata up', { timeout: 60_000 }, () => {
  after(async () => {
    for (const p of instances.values()) {
      const proc = await p.catch(() => undefined)
      if (proc) assert.equal(await stopStrata(proc), 0)
    }
  })

  for (const protocolVersion of VERSIONS) {
    const v = protocolVersion === 5 ? 'v5' : 'v3.1.1'
    const auth: IClientOptions = { protocolVersion, username: USER, password: PASS }

    test(`${v} over TCP: QoS 1 round trip`, async () => {
      const proc = await strata('plain', [])
      const client = await connect(`mqtt://127.0.0.1:${port(proc, 'MQTT')}`, auth)
      try {
        await roundTrip(client, `it/mqttjs/${v}/tcp`)
      } finally {
        await client.endAsync()
      }
    })

    // [MQTT-6.0.0-3] the server selects the "mqtt" subprotocol; binary frames.
    test(`${v} over WebSocket (ws://…/mqtt): QoS 1 round trip`, async () => {
      const proc = await strata('plain', [])
      const client = await connect(`ws://127.0.0.1:${port(proc, 'MQTT over WebSocket')}/mqtt`, auth)
      try {
        await roundTrip(client, `it/mqttjs/${v}/ws`)
      } finally {
        await client.endAsync()
      }
    })

    test(`${v} over TLS with a CA-signed client certificate: authenticated without a password`, async (t) => {
      const tls = await tlsStrata(t)
      if (!tls) return
      const { proc, certs } = tls
      const client = await connect(`mqtts://127.0.0.1:${port(proc, 'MQTT over TLS')}`, {
        protocolVersion,
        ca: readFileSync(certs.caCert),
        cert: readFileSync(certs.clientCert),
        key: readFileSync(certs.clientKey),
        rejectUnauthorized: true,
      })
      try {
        await roundTrip(client, `it/mqttjs/${v}/tls`)
      } finally {
        await client.endAsync()
      }
    })

    test(`${v} over secure WebSocket with a client certificate`, async (t) => {
      const tls = await tlsStrata(t)
      if (!tls) return
      const { proc, certs } = tls
      const client = await connect(`wss://127.0.0.1:${port(proc, 'MQTT over secure WebSocket')}/mqtt`, {
        protocolVersion,
        ca: readFileSync(certs.caCert),
        cert: readFileSync(certs.clientCert),
        key: readFileSync(certs.clientKey),
        rejectUnauthorized: true,
      })
      try {
        await roundTrip(client, `it/mqttjs/${v}/wss`)
      } finally {
        await client.endAsync()
      }
    })
  }

  test('TLS: a password client without a certificate works when client certs are optional', async (t) => {
    const tls = await tlsStrata(t)
    if (!tls) return
    const client = await connect(`mqtts://127.0.0.1:${port(tls.proc, 'MQTT over TLS')}`, {
      protocolVersion: 5,
      username: USER,
      password: PASS,
      ca: readFileSync(tls.certs.caCert),
    })
    try {
      await roundTrip(client, 'it/mqttjs/tls-password')
    } finally {
      await client.endAsync()
    }
  })

  test('TLS: a self-signed (rogue) client certificate is refused: no CONNACK, connection closed', async (t) => {
    const tls = await tlsStrata(t)
    if (!tls) return
    const outcome = await rawTlsConnect(port(tls.proc, 'MQTT over TLS'), tls.certs, {
      cert: tls.certs.rogueCert,
      key: tls.certs.rogueKey,
    })
    assert.deepEqual(
      outcome.packets.map((p) => p.cmd),
      [],
      'the broker never answers a client whose certificate does not verify',
    )
    assert.equal(outcome.closed, true, 'the broker closes the connection')
    // A control: the CA-signed certificate gets its CONNACK over the same raw path.
    const good = await rawTlsConnect(
      port(tls.proc, 'MQTT over TLS'),
      tls.certs,
      {
        cert: tls.certs.clientCert,
        key: tls.certs.clientKey,
      },
      true,
    )
    const connack = good.packets[0]
    assert.equal(connack?.cmd, 'connack')
    assert.equal(connack.cmd === 'connack' ? connack.returnCode : -1, 0)
  })

  test('--require-client-cert: a TLS client without a certificate is refused; a password client on TCP works', async (t) => {
    const certs = await testCerts(t)
    if (!certs) return
    const proc = await strata('require-cert', [...tlsArgs(certs), '--require-client-cert'])
    const outcome = await rawTlsConnect(port(proc, 'MQTT over TLS'), certs)
    assert.deepEqual(
      outcome.packets.map((p) => p.cmd),
      [],
      'no CONNACK without a client certificate',
    )
    assert.equal(outcome.closed, true)

    const client = await connect(`mqtt://127.0.0.1:${port(proc, 'MQTT')}`, {
      protocolVersion: 5,
      username: USER,
      password: PASS,
    })
    try {
      await roundTrip(client, 'it/mqttjs/require-cert/tcp')
    } finally {
      await client.endAsync()
    }
  })

  // [MQTT-3.3.2-4] Payload Format Indicator, [MQTT-3.3.2-6] the remaining
  // expiry interval, [MQTT-3.3.2-15] Response Topic, [MQTT-3.3.2-16]
  // Correlation Data, [MQTT-3.3.2-17] [MQTT-3.3.2-18] User Properties in order,
  // [MQTT-3.3.2-20] Content Type: all forwarded unaltered.
  test('v5: QoS 1 message properties arrive intact end to end (TCP publisher, WebSocket subscriber)', async () => {
    const proc = await strata('plain', [])
    const auth: IClientOptions = { protocolVersion: 5, username: USER, password: PASS }
    const sub = await connect(`ws://127.0.0.1:${port(proc, 'MQTT over WebSocket')}/mqtt`, auth)
    const pub = await connect(`mqtt://127.0.0.1:${port(proc, 'MQTT')}`, auth)
    try {
      const got = collect(sub)
      await sub.subscribeAsync('it/mqttjs/props/#', { qos: 1 })
      const correlationData = Buffer.from([0, 1, 2, 0xfe, 0xff])
      await pub.publishAsync('it/mqttjs/props/req', JSON.stringify({ temp: 21.5 }), {
        qos: 1,
        properties: {
          contentType: 'application/json',
          responseTopic: 'it/mqttjs/props/reply',
          correlationData,
          userProperties: { site: 'plant-7', tag: ['a', 'b'], ünï: 'cødé' },
          payloadFormatIndicator: true,
          messageExpiryInterval: 120,
        },
      })
      await waitUntil(() => got.length === 1, 'the message with properties')
      const m = got[0]
      assert.ok(m)
      assert.equal(m.packet.qos, 1)
      assert.deepEqual(JSON.parse(m.payload.toString()), { temp: 21.5 })
      const props = m.packet.properties ?? {}
      assert.equal(props.contentType, 'application/json')
      assert.equal(props.responseTopic, 'it/mqttjs/props/reply')
      assert.deepEqual(props.correlationData, correlationData)
      // Null-prototype object from mqtt.js: compare the entries, in order.
      assert.deepEqual(Object.entries(props.userProperties ?? {}), [
        ['site', 'plant-7'],
        ['tag', ['a', 'b']],
        ['ünï', 'cødé'],
      ])
      assert.equal(props.payloadFormatIndicator, true)
      const expiry = props.messageExpiryInterval ?? -1
      assert.ok(expiry > 0 && expiry <= 120, `remaining expiry forwarded, got ${expiry}`)
    } finally {
      await Promise.all([sub.endAsync(), pub.endAsync()])
    }
  })

  test('a client that is not TLS is not answered on the TLS port (no plaintext fallback)', async (t) => {
    const tls = await tlsStrata(t)
    if (!tls) return
    const socket = netConnect(port(tls.proc, 'MQTT over TLS'), '127.0.0.1')
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    const outcome = await exchange(
      socket,
      [
        generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clientId: 'plain',
          clean: true,
          keepalive: 30,
        }),
      ],
      { protocolVersion: 4, timeoutMs: 5_000 },
    )
    assert.equal(
      outcome.packets.some((p) => p.cmd === 'connack'),
      false,
    )
  })
})
