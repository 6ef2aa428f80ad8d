import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { ReasonCode } from '@strata/protocol'
import { endClient, mqttClient, RawClient, startBroker, until } from '../helpers.js'

describe('CONNECT', async () => {
  const broker = await startBroker({ limits: { topicAliasMaximum: 10, maxInflight: 20 } })
  after(() => broker.close())

  test('mqtt.js v5 and v3.1.1 connect; PINGREQ gets PINGRESP [MQTT-3.12.4-1]', async () => {
    const v5 = await mqttClient(broker, { clientId: 'c5' })
    const v4 = await mqttClient(broker, { clientId: 'c4', protocolVersion: 4 })
    assert.equal(broker.stats().clientsConnected, 2)
    await endClient(v5)
    await endClient(v4)
    await until(() => broker.stats().clientsConnected === 0)
    const raw = new RawClient(broker, 5)
    await raw.connect()
    raw.send({ type: 'pingreq' })
    await raw.expect('pingresp')
    raw.end()
  })

  test('CONNACK properties for MQTT 5', async () => {
    const raw = new RawClient(broker, 5)
    const connack = await raw.connect({ clientId: '' })
    assert.equal(connack.reasonCode, 0)
    const p = connack.properties ?? {}
    assert.equal(p.receiveMaximum, 20)
    assert.equal(p.topicAliasMaximum, 10)
    assert.equal(p.retainAvailable, 1)
    assert.equal(p.maximumQoS, undefined) // QoS 2 supported
    assert.equal(p.sharedSubscriptionAvailable, 1)
    assert.equal(p.wildcardSubscriptionAvailable, 1)
    assert.equal(p.subscriptionIdentifiersAvailable, 1)
    assert.ok(p.maximumPacketSize)
    // [MQTT-3.2.2-16] empty client id: Assigned Client Identifier.
    assert.match(p.assignedClientIdentifier ?? '', /^strata-/)
    raw.end()
  })

  test('an Authentication Method (enhanced auth, not offered) is refused with CONNACK 0x8C [MQTT-4.12.0-1]', async () => {
    const raw = new RawClient(broker, 5)
    const connack = await raw.connect({
      clientId: 'enhanced',
      properties: { authenticationMethod: 'SCRAM-SHA-1' },
    })
    assert.equal(connack.reasonCode, ReasonCode.BadAuthenticationMethod)
    raw.end()
  })

  test('3.1.1: empty client id with clean session 0 is rejected with return code 2 [MQTT-3.1.3-8]', async () => {
    const raw = new RawClient(broker, 4)
    const connack = await raw.connect({ clientId: '', clean: false })
    assert.equal(connack.reasonCode, 2)
    await raw.waitClosed()
    const ok = new RawClient(broker, 4)
    assert.equal((await ok.connect({ clientId: '', clean: true })).reasonCode, 0) // [MQTT-3.1.3-6]
    ok.end()
  })

  test('first packet must be CONNECT [MQTT-3.1.0-1]', async () => {
    const raw = new RawClient(broker, 5)
    raw.send({ type: 'pingreq' })
    assert.deepEqual(await raw.waitClosed(), [])
  })

  test('a second CONNECT is a protocol error: DISCONNECT 0x82 [MQTT-3.1.0-2]', async () => {
    const raw = new RawClient(broker, 5)
    await raw.connect({ clientId: 'twice' })
    raw.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId: 'twice',
    })
    const packets = await raw.waitClosed()
    assert.equal(packets[0]?.type, 'disconnect')
    assert.equal((packets[0] as { reasonCode?: number }).reasonCode, ReasonCode.ProtocolError)
  })

  test('unsupported protocol level: CONNACK return code 1 then close [MQTT-3.1.2-2]', async () => {
    const raw = new RawClient(broker, 4)
    // CONNECT with protocol level 6.
    raw.write([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x00, 0x00, 0x01, 0x61])
    const packets = await raw.waitClosed()
    assert.equal(packets[0]?.type, 'connack')
    assert.equal((packets[0] as { reasonCode: number }).reasonCode, 1)
  })

  test('authenticate hook: refusal code in CONNACK (v5) and mapped for 3.1.1 [MQTT-3.2.2-5]', async () => {
    const b = await startBroker({
      hooks: {
        authenticate: async (r) =>
          r.username === 'good' && r.password?.toString() === 'pw'
            ? { ok: true, principal: 'dev-1' }
            : { ok: false, reasonCode: ReasonCode.BadUserNameOrPassword },
      },
    })
    const bad5 = new RawClient(b, 5)
    assert.equal((await bad5.connect({ username: 'x', password: Buffer.from('y') })).reasonCode, 0x86)
    await bad5.waitClosed()
    const bad4 = new RawClient(b, 4)
    assert.equal((await bad4.connect({ username: 'x' })).reasonCode, 4)
    const good = new RawClient(b, 5)
    assert.equal((await good.connect({ username: 'good', password: Buffer.from('pw') })).reasonCode, 0)
    good.end()
    await b.close()
  })

  test('session takeover: the old connection gets DISCONNECT 0x8E [MQTT-3.1.4-3]', async () => {
    const first = new RawClient(broker, 5)
    await first.connect({ clientId: 'same' })
    const second = new RawClient(broker, 5)
    assert.equal((await second.connect({ clientId: 'same' })).reasonCode, 0)
    const packets = await first.waitClosed()
    assert.equal(packets[0]?.type, 'disconnect')
    assert.equal((packets[0] as { reasonCode?: number }).reasonCode, ReasonCode.SessionTakenOver)
    second.end()
  })

  test('session present only when resuming a persistent session [MQTT-3.2.2-2] [MQTT-3.2.2-3]', async () => {
    const a = new RawClient(broker, 5)
    const c1 = await a.connect({
      clientId: 'persist',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    })
    assert.equal(c1.sessionPresent, false)
    a.end()
    await until(() => broker.stats().clientsConnected === 0)
    const b = new RawClient(broker, 5)
    const c2 = await b.connect({
      clientId: 'persist',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    })
    assert.equal(c2.sessionPresent, true)
    b.end()
    await until(() => broker.stats().clientsConnected === 0)
    // [MQTT-3.1.2-4] Clean Start discards it.
    const c = new RawClient(broker, 5)
    assert.equal((await c.connect({ clientId: 'persist', clean: true })).sessionPresent, false)
    c.end()
    // 3.1.1 clean session 0 never expires.
    const d = new RawClient(broker, 4)
    await d.connect({ clientId: 'p4', clean: false })
    d.end()
    await until(() => broker.stats().clientsConnected === 0)
    const e = new RawClient(broker, 4)
    assert.equal((await e.connect({ clientId: 'p4', clean: false })).sessionPresent, true)
    e.end()
  })

  test('Server Keep Alive overrides a larger or zero keep-alive [MQTT-3.2.2-21]', async () => {
    const b = await startBroker({ limits: { serverKeepAlive: 30 } })
    const raw = new RawClient(b, 5)
    const connack = await raw.connect({ keepAlive: 0 })
    assert.equal(connack.properties?.serverKeepAlive, 30)
    raw.end()
    await b.close()
  })

  test('keep-alive enforced at 1.5x: DISCONNECT 0x8D [MQTT-3.1.2-24]', async () => {
    const raw = new RawClient(broker, 5)
    await raw.connect({ keepAlive: 1 })
    const started = Date.now()
    const packets = await raw.waitClosed(4000)
    assert.ok(Date.now() - started >= 1400, 'not before 1.5x keep-alive')
    assert.equal((packets[0] as { reasonCode?: number }).reasonCode, ReasonCode.KeepAliveTimeout)
  })

  test('connect timeout: silent and trickling sockets are closed', async () => {
    const b = await startBroker({ limits: { connectTimeoutMs: 150 } })
    const silent = new RawClient(b, 5)
    const trickle = new RawClient(b, 5)
    trickle.write([0x10])
    const timer = setInterval(() => trickle.write([0x00]), 20)
    await silent.waitClosed()
    await trickle.waitClosed()
    clearInterval(timer)
    await b.close()
  })

  test('MQTT 3.1 (protocol level 3, MQIsdp) is accepted', async () => {
    const v3 = await mqttClient(broker, { protocolVersion: 3, protocolId: 'MQIsdp', clientId: 'old31' })
    await v3.subscribeAsync('v3/t', { qos: 1 })
    const got = new Promise<string>((resolve) => v3.on('message', (_t, p) => resolve(String(p))))
    await v3.publishAsync('v3/t', 'hello', { qos: 1 })
    assert.equal(await got, 'hello')
    await endClient(v3)
  })

  test('the connect timeout also bounds an authenticate hook that never answers', async () => {
    const b = await startBroker({
      limits: { connectTimeoutMs: 100 },
      hooks: { authenticate: () => new Promise(() => {}) },
    })
    const raw = new RawClient(b, 5)
    raw.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId: 'hang',
    })
    assert.deepEqual(await raw.waitClosed(), [])
    await b.close()
  })

  test('packets sent right after CONNECT wait for the async authentication and are then handled', async () => {
    const b = await startBroker({
      hooks: { authenticate: () => new Promise((resolve) => setTimeout(() => resolve({ ok: true }), 20)) },
    })
    const raw = new RawClient(b, 5)
    raw.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId: 'eager',
    })
    raw.send({ type: 'subscribe', packetId: 3, subscriptions: [{ topicFilter: 'e', qos: 0 }] })
    raw.send({ type: 'pingreq' })
    await raw.expect('connack')
    await raw.expect('suback')
    await raw.expect('pingresp')
    raw.end()
    await b.close()
  })
})
