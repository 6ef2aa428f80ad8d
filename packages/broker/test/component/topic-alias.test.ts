import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { ReasonCode } from '@strata/protocol'
import { RawClient, startBroker } from '../helpers.js'

describe('Topic Alias', async () => {
  const broker = await startBroker({ limits: { topicAliasMaximum: 5 } })
  after(() => broker.close())

  test('inbound aliases: set then used with an empty topic', async () => {
    const sub = new RawClient(broker, 5)
    await sub.connect()
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'al/#', qos: 0 }] })
    await sub.expect('suback')
    const pub = new RawClient(broker, 5)
    await pub.connect()
    const base = { type: 'publish', qos: 0, retain: false, dup: false } as const
    pub.send({ ...base, topic: 'al/one', payload: Buffer.from('1'), properties: { topicAlias: 2 } })
    pub.send({ ...base, topic: '', payload: Buffer.from('2'), properties: { topicAlias: 2 } })
    assert.equal((await sub.expect('publish')).topic, 'al/one')
    assert.equal((await sub.expect('publish')).topic, 'al/one')
    sub.end()
    pub.end()
  })

  test('alias above our maximum or unknown: DISCONNECT 0x94 [MQTT-3.3.2-9] [MQTT-3.3.2-10]', async () => {
    for (const [topic, topicAlias] of [
      ['t', 6],
      ['', 3],
      ['t', 0],
    ] as const) {
      const c = new RawClient(broker, 5)
      await c.connect()
      c.send({
        type: 'publish',
        topic,
        payload: Buffer.from('x'),
        qos: 0,
        retain: false,
        dup: false,
        properties: { topicAlias },
      })
      const packets = await c.waitClosed()
      // The codec may reject alias 0 itself (0x82/0x94); either way the connection ends with a DISCONNECT.
      assert.equal(packets[0]?.type, 'disconnect')
      if (topicAlias !== 0)
        assert.equal((packets[0] as { reasonCode?: number }).reasonCode, ReasonCode.TopicAliasInvalid)
    }
  })

  test('outbound aliases up to the client Topic Alias Maximum, then full topics', async () => {
    const sub = new RawClient(broker, 5)
    await sub.connect({ properties: { topicAliasMaximum: 1 } })
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'oa/#', qos: 0 }] })
    await sub.expect('suback')
    const pub = new RawClient(broker, 5)
    await pub.connect()
    const base = { type: 'publish', qos: 0, retain: false, dup: false, payload: Buffer.from('x') } as const
    pub.send({ ...base, topic: 'oa/a' })
    pub.send({ ...base, topic: 'oa/a' })
    pub.send({ ...base, topic: 'oa/b' })
    const p1 = await sub.expect('publish')
    const p2 = await sub.expect('publish')
    const p3 = await sub.expect('publish')
    assert.deepEqual([p1.topic, p1.properties?.topicAlias], ['oa/a', 1])
    assert.deepEqual([p2.topic, p2.properties?.topicAlias], ['', 1])
    assert.deepEqual([p3.topic, p3.properties?.topicAlias], ['oa/b', undefined])
    sub.end()
    pub.end()
  })
})
