import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { RawClient, startBroker } from '../helpers.js'

describe('retained messages', async () => {
  const broker = await startBroker()
  after(() => broker.close())

  const publish = (c: RawClient, topic: string, payload: string, qos: 0 | 1 = 0) =>
    c.send({
      type: 'publish',
      topic,
      payload: Buffer.from(payload),
      qos,
      retain: true,
      dup: false,
      ...(qos ? { packetId: 1 } : {}),
    })

  test('a wildcard subscription gets matching retained messages with RETAIN=1 [MQTT-3.3.1-9]', async () => {
    const pub = new RawClient(broker, 5)
    await pub.connect()
    publish(pub, 'r/a', 'A', 1)
    await pub.expect('puback')
    publish(pub, 'r/b/c', 'BC')
    publish(pub, 'other', 'O')
    await pub.drain(20)
    const sub = new RawClient(broker, 5)
    await sub.connect()
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'r/#', qos: 0 }] })
    await sub.expect('suback')
    const got = [await sub.expect('publish'), await sub.expect('publish')]
    assert.deepEqual(got.map((p) => `${p.topic}=${p.payload}`).sort(), ['r/a=A', 'r/b/c=BC'])
    assert.ok(got.every((p) => p.retain))
    sub.end()
    pub.end()
  })

  test('an empty payload deletes the retained message and is not retained itself [MQTT-3.3.1-6] [MQTT-3.3.1-7]', async () => {
    const pub = new RawClient(broker, 5)
    await pub.connect()
    publish(pub, 'del/x', 'X')
    await pub.drain(10)
    const before = broker.stats().retainedCount
    publish(pub, 'del/x', '')
    await pub.drain(10)
    assert.equal(broker.stats().retainedCount, before - 1)
    const sub = new RawClient(broker, 5)
    await sub.connect()
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'del/#', qos: 0 }] })
    await sub.expect('suback')
    assert.deepEqual(await sub.drain(30), [])
    sub.end()
    pub.end()
  })

  test('Retain Handling 0/1/2 [MQTT-3.3.1-10] [MQTT-3.3.1-11]; none for shared subscriptions [MQTT-4.8.2-6]', async () => {
    const pub = new RawClient(broker, 5)
    await pub.connect()
    publish(pub, 'rh/t', 'v')
    await pub.drain(10)
    const sub = new RawClient(broker, 5)
    await sub.connect()
    const subscribe = async (retainHandling: 0 | 1 | 2, topicFilter = 'rh/t') => {
      sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter, qos: 0, retainHandling }] })
      await sub.expect('suback')
      return (await sub.drain(30)).filter((p) => p.type === 'publish').length
    }
    assert.equal(await subscribe(1), 1, 'RH 1, new subscription: sent')
    assert.equal(await subscribe(1), 0, 'RH 1, existing subscription: not sent')
    assert.equal(await subscribe(0), 1, 'RH 0: always sent')
    assert.equal(await subscribe(2), 0, 'RH 2: never sent')
    assert.equal(await subscribe(0, '$share/g/rh/t'), 0, 'shared: never sent')
    sub.end()
    pub.end()
  })

  test('retained QoS is downgraded to the granted QoS [MQTT-3.8.4-8]', async () => {
    const pub = new RawClient(broker, 5)
    await pub.connect()
    publish(pub, 'rq', 'v', 1)
    await pub.expect('puback')
    const sub = new RawClient(broker, 4)
    await sub.connect()
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'rq', qos: 0 }] })
    await sub.expect('suback')
    const p = await sub.expect('publish')
    assert.equal(p.qos, 0)
    assert.equal(p.retain, true)
    sub.end()
    pub.end()
  })
})
