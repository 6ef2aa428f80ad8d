// Issue 3's security table: a registered device tries to leave its namespace every way we
// know. Every attempt must be refused (SUBACK/PUBACK 0x87 for MQTT 5; SUBACK 0x80 and a
// disconnect for 3.1.1) and nothing may leak: the attacker receives none of the victim's
// messages, and nobody receives anything the attacker published outside its namespace.
import assert from 'node:assert/strict'
import { connect as netConnect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { MqttClient } from 'mqtt'
import { generate } from 'mqtt-packet'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { collect, connect, exchange, type Received, sleep, waitUntil } from './lib.js'

const SUBSCRIBE_ESCAPES = [
  'devices/victim/telemetry',
  'devices/victim/#',
  'devices/+/telemetry',
  'devices/#',
  '#',
  '+/telemetry',
  '+/+/+',
  '$SYS/#',
  '$SYS/broker/clients/connected',
  '$share/g/#',
  '$share/g/devices/victim/#',
  '$strata/provision/victim/response',
  '$strata/#',
  'devices/attacker/../victim/telemetry',
  'devices/attacker/./x',
  'devices/attackerx/#',
  'Devices/victim/#',
]

const PUBLISH_ESCAPES = [
  'devices/victim/telemetry',
  'devices/victim/commands/reboot',
  'devices/attacker/../victim/commands/reboot',
  'devices/attacker',
  'plant/line-1',
  '$SYS/broker/uptime',
  '$strata/provision/victim/response',
  '$strata/provision/attacker/request',
]

/** A PUBLISH with a topic the client library would refuse to send: NUL, invalid UTF-8, too long. */
function rawPublish(topic: Buffer, packetId = 1): Buffer {
  const payload = Buffer.from('x')
  const body = Buffer.concat([
    Buffer.from([topic.length >> 8, topic.length & 0xff]),
    topic,
    Buffer.from([0, packetId]),
    payload,
  ])
  const header = [0x32]
  let len = body.length
  do {
    let byte = len % 128
    len = Math.floor(len / 128)
    if (len > 0) byte |= 0x80
    header.push(byte)
  } while (len > 0)
  return Buffer.concat([Buffer.from(header), body])
}

/** The SUBACK's return codes, one per filter (mqtt.js rejects when any is a failure). */
function subackCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.once('packetreceive', (packet) => {
      if (packet.cmd === 'suback')
        resolve(packet.granted.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos)))
      else reject(new Error(`expected SUBACK, got ${packet.cmd}`))
    })
    client.subscribe(filters, { qos: 1 }, () => {})
  })
}

describe('ACL escapes by a registered device', () => {
  let platform: TestPlatform
  let victimToken: string
  let attackerToken: string
  let url: string
  let observer: MqttClient
  let seenByObserver: Received[]

  before(async () => {
    platform = await startTestPlatform({ allowAnonymous: true })
    url = `mqtt://127.0.0.1:${platform.port('MQTT')}`
    await platform.registry.createDevices([{ id: 'victim' }, { id: 'attacker' }])
    victimToken = (await platform.identity.issueToken('victim')).token
    attackerToken = (await platform.identity.issueToken('attacker')).token
    // A user-level observer (anonymous here) sees every non-$ topic, and the $ ones named.
    observer = await connect(url, { clientId: 'observer', protocolVersion: 5 })
    seenByObserver = collect(observer)
    await observer.subscribeAsync(['#', '$SYS/broker/uptime'], { qos: 1 })
  })
  after(async () => {
    await observer.endAsync()
    await platform.close()
  })

  const device = (id: string, token: string, protocolVersion: 4 | 5): Promise<MqttClient> =>
    connect(url, { clientId: id, username: id, password: token, protocolVersion, clean: true })

  test('MQTT 5: every subscription outside the namespace gets 0x87, and nothing of the victim arrives', async () => {
    const attacker = await device('attacker', attackerToken, 5)
    const got = collect(attacker)
    assert.deepEqual(
      await subackCodes(attacker, SUBSCRIBE_ESCAPES),
      SUBSCRIBE_ESCAPES.map(() => 0x87),
    )
    const own = await attacker.subscribeAsync('devices/attacker/#', { qos: 1 })
    assert.equal(own[0]?.qos, 1, 'its own namespace is granted')

    const victim = await device('victim', victimToken, 5)
    await victim.publishAsync('devices/victim/events', 'secret-reading', { qos: 1 })
    await victim.publishAsync('devices/attacker/commands/x', 'to-attacker', { qos: 1 }).catch(() => {})
    await attacker.publishAsync('devices/attacker/events', 'own', { qos: 1 })
    await waitUntil(() => got.some((m) => m.topic === 'devices/attacker/events'), 'its own message')
    await sleep(200)
    assert.deepEqual(
      got.map((m) => m.topic),
      ['devices/attacker/events'],
      'the attacker got only its own topic (the victim cannot publish into its namespace either)',
    )
    await Promise.all([attacker.endAsync(), victim.endAsync()])
  })

  test('MQTT 5: every publish outside the namespace gets PUBACK 0x87 and reaches nobody', async () => {
    const attacker = await device('attacker', attackerToken, 5)
    const before = seenByObserver.length
    for (const topic of PUBLISH_ESCAPES) {
      await assert.rejects(
        attacker.publishAsync(topic, 'forged', { qos: 1 }),
        (err: Error & { code?: number }) => err.code === 0x87,
        topic,
      )
    }
    assert.ok(attacker.connected, 'MQTT 5 refuses the PUBLISH, not the connection')
    await attacker.publishAsync('devices/attacker/events', 'marker', { qos: 1 })
    await waitUntil(() => seenByObserver.some((m) => m.payload.toString() === 'marker'), 'the marker')
    assert.deepEqual(
      seenByObserver.slice(before).map((m) => m.topic),
      ['devices/attacker/events'],
    )
    await attacker.endAsync()
  })

  test('MQTT 3.1.1: subscriptions outside get 0x80; a publish outside ends the connection and reaches nobody', async () => {
    const attacker = await device('attacker', attackerToken, 4)
    assert.deepEqual(
      await subackCodes(attacker, SUBSCRIBE_ESCAPES),
      SUBSCRIBE_ESCAPES.map(() => 0x80),
    )
    const before = seenByObserver.length
    const closed = new Promise<void>((resolve) => attacker.once('close', () => resolve()))
    attacker.publish('devices/victim/commands/reboot', 'forged', { qos: 1 })
    await closed
    await sleep(200)
    assert.equal(seenByObserver.length, before)
    attacker.end(true)
  })

  test('topics with NUL, invalid UTF-8 or over the length limit close the connection and reach nobody', async () => {
    const bad = [
      Buffer.from('devices/attacker/a\u0000b'),
      Buffer.from([...Buffer.from('devices/attacker/'), 0xc3, 0x28]),
      Buffer.from([...Buffer.from('devices/attacker/'), 0xed, 0xa0, 0x80]),
      Buffer.from(`devices/attacker/${'x'.repeat(2000)}`),
      Buffer.from('devices/attacker/+'),
      Buffer.from(''),
    ]
    const before = seenByObserver.length
    for (const topic of bad) {
      const socket = netConnect(platform.port('MQTT'), '127.0.0.1')
      await new Promise((r) => socket.once('connect', r))
      const connectPacket = generate(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clientId: 'attacker',
          clean: true,
          keepalive: 30,
          username: 'attacker',
          password: Buffer.from(attackerToken),
        },
        { protocolVersion: 5 },
      )
      // CONNACK first (token authentication is asynchronous), then the bad PUBLISH.
      const connack = await new Promise<Buffer>((resolve) => {
        socket.once('data', resolve)
        socket.write(connectPacket)
      })
      assert.equal(connack[0], 0x20, 'CONNACK')
      assert.equal(connack[3], 0, 'accepted')
      const outcome = await exchange(socket, [rawPublish(topic)], { protocolVersion: 5, timeoutMs: 3000 })
      assert.ok(outcome.closed, `closed after topic ${JSON.stringify(topic.toString('latin1').slice(0, 40))}`)
      const disconnect = outcome.packets.find((p) => p.cmd === 'disconnect') as
        | { reasonCode?: number }
        | undefined
      if (disconnect) assert.ok((disconnect.reasonCode ?? 0) >= 0x80)
    }
    await sleep(200)
    assert.equal(seenByObserver.length, before)
  })

  test("a device must use its id as client id: another device's id, or a random one, is refused", async () => {
    await assert.rejects(
      connect(url, { clientId: 'victim', username: 'attacker', password: attackerToken, protocolVersion: 5 }),
      (err: Error & { code?: number }) => err.code === 0x85,
    )
    await assert.rejects(
      connect(url, { clientId: 'victim', username: 'victim', password: attackerToken, protocolVersion: 5 }),
      (err: Error & { code?: number }) => err.code === 0x86,
    )
    // Nor can a user-level client take over a device's session by naming it.
    await assert.rejects(
      connect(url, { clientId: 'victim', protocolVersion: 5 }),
      (err: Error & { code?: number }) => err.code === 0x85,
    )
  })

  test('every refusal is counted in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${platform.port('HTTP')}/metrics`)).text()
    const count = (labels: string): number =>
      Number(new RegExp(`^strata_acl_denials_total\\{${labels}\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0)
    assert.ok(count('action="subscribe",principal="device"') >= SUBSCRIBE_ESCAPES.length * 2)
    assert.ok(count('action="publish",principal="device"') >= PUBLISH_ESCAPES.length + 1)
    assert.match(
      text,
      /^strata_auth_failures_total\{transport="mqtt",reason="(bad_credentials|client_id_not_valid)"\} \d+/m,
    )
  })

  test("operator grants widen a device's topics, live", async () => {
    const attacker = await device('attacker', attackerToken, 5)
    await assert.rejects(attacker.publishAsync('plant/line-1', 'x', { qos: 1 }))
    const grant = await platform.identity.addGrant('attacker', { topicFilter: 'plant/#', access: 'publish' })
    await attacker.publishAsync('plant/line-1', 'granted', { qos: 1 })
    await platform.identity.removeGrant(grant.id)
    await assert.rejects(attacker.publishAsync('plant/line-1', 'x', { qos: 1 }))
    await attacker.endAsync()
  })
})
