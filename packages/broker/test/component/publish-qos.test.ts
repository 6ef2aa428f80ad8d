import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { ReasonCode } from '@strata/protocol'
import type { PublishedMessage } from '../../src/index.js'
import { endClient, mqttClient, pub as publishOf, RawClient, startBroker } from '../helpers.js'

describe('PUBLISH QoS 0/1/2 in and out', async () => {
  const published: PublishedMessage[] = []
  const broker = await startBroker({
    hooks: {
      authorizePublish: (_c, topic) => !topic.startsWith('forbidden'),
      onPublish: (_c, m) => published.push(m),
    },
  })
  after(() => broker.close())

  test('mqtt.js round trip at QoS 0, 1 and 2, both protocol levels', async () => {
    for (const protocolVersion of [4, 5] as const) {
      const sub = await mqttClient(broker, { protocolVersion })
      const pub = await mqttClient(broker, { protocolVersion })
      await sub.subscribeAsync('rt/#', { qos: 2 })
      const got: string[] = []
      sub.on('message', (topic, payload) => got.push(`${topic}:${payload}`))
      for (const qos of [0, 1, 2] as const) await pub.publishAsync(`rt/${qos}`, `m${qos}`, { qos })
      while (got.length < 3) await new Promise((r) => setTimeout(r, 5))
      assert.deepEqual(got.sort(), ['rt/0:m0', 'rt/1:m1', 'rt/2:m2'])
      await endClient(sub)
      await endClient(pub)
    }
  })

  test('delivered QoS = min(published, granted) [MQTT-3.8.4-8]; one delivery with all subscription ids [MQTT-3.3.4-2] [MQTT-3.3.4-3]', async () => {
    const sub = new RawClient(broker, 5)
    await sub.connect()
    sub.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [{ topicFilter: 'ov/+', qos: 1 }],
      properties: { subscriptionIdentifiers: [7] },
    })
    await sub.expect('suback')
    sub.send({
      type: 'subscribe',
      packetId: 2,
      subscriptions: [{ topicFilter: 'ov/#', qos: 0 }],
      properties: { subscriptionIdentifiers: [9] },
    })
    await sub.expect('suback')
    const pub = new RawClient(broker, 5)
    await pub.connect()
    pub.send(publishOf('ov/x', 2, 5))
    await pub.expect('pubrec')
    const p = await sub.expect('publish')
    assert.equal(p.qos, 1)
    assert.deepEqual(p.properties?.subscriptionIdentifiers?.slice().sort(), [7, 9])
    assert.deepEqual(await sub.drain(30), [], 'exactly one delivery')
    sub.send({ type: 'puback', packetId: p.packetId as number })
    sub.end()
    pub.end()
  })

  test('QoS 2 duplicate PUBLISH before PUBREL is not delivered twice [MQTT-4.3.3-9]', async () => {
    const sub = new RawClient(broker, 5)
    await sub.connect()
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'q2', qos: 0 }] })
    await sub.expect('suback')
    const pub = new RawClient(broker, 5)
    await pub.connect()
    const publish = {
      type: 'publish',
      topic: 'q2',
      payload: Buffer.from('once'),
      qos: 2,
      retain: false,
      dup: false,
      packetId: 9,
    } as const
    pub.send(publish)
    assert.equal((await pub.expect('pubrec')).packetId, 9)
    pub.send({ ...publish, dup: true })
    assert.equal((await pub.expect('pubrec')).packetId, 9)
    pub.send({ type: 'pubrel', packetId: 9 })
    assert.equal((await pub.expect('pubcomp')).packetId, 9)
    await sub.expect('publish')
    assert.deepEqual(await sub.drain(30), [])
    // Unknown PUBREL: PUBCOMP 0x92.
    pub.send({ type: 'pubrel', packetId: 99 })
    assert.equal((await pub.expect('pubcomp')).reasonCode, ReasonCode.PacketIdentifierNotFound)
    sub.end()
    pub.end()
  })

  test('authorizePublish false: PUBACK 0x87 for v5 [MQTT-3.3.5-2]; 3.1.1 connection closed', async () => {
    const v5 = new RawClient(broker, 5)
    await v5.connect()
    v5.send(publishOf('forbidden/x', 1, 1))
    assert.equal((await v5.expect('puback')).reasonCode, ReasonCode.NotAuthorized)
    v5.send(publishOf('forbidden/x', 2, 2))
    assert.equal((await v5.expect('pubrec')).reasonCode, ReasonCode.NotAuthorized)
    v5.end()
    const v4 = new RawClient(broker, 4)
    await v4.connect()
    v4.send(publishOf('forbidden/x', 1, 1))
    assert.deepEqual(await v4.waitClosed(), [])
  })

  test('clients cannot publish to $SYS', async () => {
    const v5 = new RawClient(broker, 5)
    await v5.connect()
    v5.send(publishOf('$SYS/x', 1, 1))
    assert.equal((await v5.expect('puback')).reasonCode, ReasonCode.NotAuthorized)
    v5.end()
  })

  test('Payload Format Indicator 1 with invalid UTF-8: 0x99 [MQTT-3.3.2-4]', async () => {
    const v5 = new RawClient(broker, 5)
    await v5.connect()
    v5.send({
      type: 'publish',
      topic: 'pfi',
      payload: Buffer.from([0xff, 0xfe]),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 3,
      properties: { payloadFormatIndicator: 1 },
    })
    assert.equal((await v5.expect('puback')).reasonCode, ReasonCode.PayloadFormatInvalid)
    v5.end()
  })

  test('onPublish runs for accepted messages, with properties carried end to end', async () => {
    published.length = 0
    const sub = await mqttClient(broker)
    await sub.subscribeAsync('props', { qos: 1 })
    const pub = await mqttClient(broker)
    const received = new Promise<Record<string, unknown>>((resolve) =>
      sub.on('message', (_t, _p, packet) => resolve(packet.properties as Record<string, unknown>)),
    )
    await pub.publishAsync('props', 'v', {
      qos: 1,
      properties: {
        userProperties: { a: '1' },
        contentType: 'text/plain',
        responseTopic: 'reply',
        correlationData: Buffer.from('cid'),
        payloadFormatIndicator: true,
      },
    })
    const props = await received
    assert.deepEqual({ ...(props.userProperties as object) }, { a: '1' })
    assert.equal(props.contentType, 'text/plain')
    assert.equal(props.responseTopic, 'reply')
    assert.equal(String(props.correlationData), 'cid')
    assert.equal(published.at(-1)?.topic, 'props')
    await endClient(sub)
    await endClient(pub)
  })

  test('No Local: not delivered back to the publisher [MQTT-3.8.3-3]', async () => {
    const c = new RawClient(broker, 5)
    await c.connect()
    c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'nl', qos: 0, noLocal: true }] })
    await c.expect('suback')
    c.send({ type: 'publish', topic: 'nl', payload: Buffer.from('x'), qos: 0, retain: false, dup: false })
    assert.deepEqual(await c.drain(30), [])
    c.end()
  })

  test('Retain As Published [MQTT-3.3.1-12] [MQTT-3.3.1-13]', async () => {
    const c = new RawClient(broker, 5)
    await c.connect()
    c.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topicFilter: 'rap/a', qos: 0, retainAsPublished: true, retainHandling: 2 },
        { topicFilter: 'rap/b', qos: 0, retainAsPublished: false, retainHandling: 2 },
      ],
    })
    await c.expect('suback')
    const pub = new RawClient(broker, 5)
    await pub.connect()
    pub.send({ type: 'publish', topic: 'rap/a', payload: Buffer.from('x'), qos: 0, retain: true, dup: false })
    pub.send({ type: 'publish', topic: 'rap/b', payload: Buffer.from('x'), qos: 0, retain: true, dup: false })
    assert.equal((await c.expect('publish')).retain, true)
    assert.equal((await c.expect('publish')).retain, false)
    c.end()
    pub.end()
  })

  test('PUBREC for an unknown packet id: PUBREL 0x92', async () => {
    const c = new RawClient(broker, 5)
    await c.connect()
    c.send({ type: 'pubrec', packetId: 4242 })
    const rel = await c.expect('pubrel')
    assert.deepEqual([rel.packetId, rel.reasonCode], [4242, ReasonCode.PacketIdentifierNotFound])
    c.end()
  })
})
