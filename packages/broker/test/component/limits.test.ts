import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ReasonCode } from '@strata/protocol'
import { memoryInfo, RawClient, startBroker } from '../helpers.js'

describe('limits', () => {
  test('maxConnections: CONNACK 0x97 (v5) / 3 server unavailable (3.1.1)', async () => {
    const broker = await startBroker({ limits: { maxConnections: 1 } })
    const a = new RawClient(broker, 5)
    await a.connect()
    const b = new RawClient(broker, 5)
    assert.equal((await b.connect()).reasonCode, ReasonCode.QuotaExceeded)
    const c = new RawClient(broker, 4)
    assert.equal((await c.connect()).reasonCode, 3)
    a.end()
    await broker.close()
  })

  test('maxPacketSize: DISCONNECT 0x95', async () => {
    const broker = await startBroker({ limits: { maxPacketSize: 200 } })
    const c = new RawClient(broker, 5)
    const connack = await c.connect()
    assert.equal(connack.properties?.maximumPacketSize, 200)
    c.send({ type: 'publish', topic: 't', payload: Buffer.alloc(500), qos: 0, retain: false, dup: false })
    const packets = await c.waitClosed()
    assert.equal((packets[0] as { reasonCode?: number }).reasonCode, ReasonCode.PacketTooLarge)
    await broker.close()
  })

  test('topic length and levels: PUBLISH closes (0x90), SUBSCRIBE gets 0x8F', async () => {
    const broker = await startBroker({ limits: { maxTopicLength: 10, maxTopicLevels: 3 } })
    const s = new RawClient(broker, 5)
    await s.connect()
    s.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topicFilter: 'a/b/c/d', qos: 0 },
        { topicFilter: 'a/b', qos: 0 },
      ],
    })
    assert.deepEqual((await s.expect('suback')).reasonCodes, [ReasonCode.TopicFilterInvalid, 0])
    s.send({
      type: 'publish',
      topic: 'abcdefghijk',
      payload: Buffer.alloc(1),
      qos: 0,
      retain: false,
      dup: false,
    })
    const packets = await s.waitClosed()
    assert.equal((packets[0] as { reasonCode?: number }).reasonCode, ReasonCode.TopicNameInvalid)
    await broker.close()
  })

  test('subscriptions per client: 0x97 (v5) / 0x80 (3.1.1); authorizeSubscribe: 0x87 / 0x80', async () => {
    const broker = await startBroker({
      limits: { maxSubscriptionsPerClient: 2 },
      hooks: { authorizeSubscribe: (_c, f) => f !== 'secret' },
    })
    for (const version of [5, 4] as const) {
      const c = new RawClient(broker, version)
      await c.connect()
      c.send({
        type: 'subscribe',
        packetId: 1,
        subscriptions: ['secret', 'a', 'b', 'c', 'a'].map((topicFilter) => ({
          topicFilter,
          qos: 1 as const,
        })),
      })
      const codes = (await c.expect('suback')).reasonCodes
      assert.deepEqual(codes, version === 5 ? [0x87, 1, 1, 0x97, 1] : [0x80, 1, 1, 0x80, 1])
      c.end()
    }
    await broker.close()
  })

  test('connection rate per address: CONNACK 0x9F (v5), close (3.1.1); other addresses unaffected', async () => {
    const broker = await startBroker({ limits: { connectionRatePerAddress: 1, connectionRateBurst: 2 } })
    const from = memoryInfo('192.0.2.7')
    const ok1 = new RawClient(broker, 5, from)
    const ok2 = new RawClient(broker, 5, from)
    assert.equal((await ok1.connect()).reasonCode, 0)
    assert.equal((await ok2.connect()).reasonCode, 0)
    const over = new RawClient(broker, 5, from)
    assert.equal((await over.connect()).reasonCode, ReasonCode.ConnectionRateExceeded)
    const over4 = new RawClient(broker, 4, from)
    over4.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 0,
      clientId: 'x',
    })
    assert.deepEqual(await over4.waitClosed(), [])
    const other = new RawClient(broker, 5, memoryInfo('192.0.2.8'))
    assert.equal((await other.connect()).reasonCode, 0)
    for (const c of [ok1, ok2, other]) c.end()
    await broker.close()
  })

  test('maxSessionExpiryInterval caps and is reported in CONNACK', async () => {
    const broker = await startBroker({ limits: { maxSessionExpiryInterval: 100 } })
    const c = new RawClient(broker, 5)
    const connack = await c.connect({ clean: false, properties: { sessionExpiryInterval: 1000 } })
    assert.equal(connack.properties?.sessionExpiryInterval, 100)
    c.end()
    await broker.close()
  })

  test('maxRetainedMessages: new retained topics beyond the limit are delivered but not retained', async () => {
    const broker = await startBroker({ limits: { maxRetainedMessages: 2 } })
    const c = new RawClient(broker, 5)
    await c.connect()
    for (const topic of ['r/1', 'r/2', 'r/3', 'r/1']) {
      c.send({
        type: 'publish',
        topic,
        payload: Buffer.from('x'),
        qos: 1,
        retain: true,
        dup: false,
        packetId: 1,
      })
      await c.expect('puback')
    }
    assert.equal(broker.stats().retainedCount, 2)
    c.end()
    await broker.close()
  })
})
