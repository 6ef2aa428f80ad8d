import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import type { Packet } from '@strata/protocol'
import { RawClient, startBroker } from '../helpers.js'

describe('shared subscriptions $share/{group}/{filter}', async () => {
  const broker = await startBroker()
  after(() => broker.close())

  async function member(filter: string, qos: 0 | 1 = 0): Promise<RawClient> {
    const c = new RawClient(broker, 5)
    await c.connect()
    c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: filter, qos }] })
    await c.expect('suback')
    return c
  }
  const publishes = (ps: Packet[]) => ps.filter((p) => p.type === 'publish')

  test('each message goes to one member, spread evenly [MQTT-4.8.2-*]', async () => {
    const members = [
      await member('$share/g/sh/+'),
      await member('$share/g/sh/+'),
      await member('$share/g/sh/+'),
    ]
    const plain = await member('sh/#')
    const pub = new RawClient(broker, 5)
    await pub.connect()
    for (let i = 0; i < 30; i++) {
      pub.send({
        type: 'publish',
        topic: `sh/${i}`,
        payload: Buffer.from('x'),
        qos: 0,
        retain: false,
        dup: false,
      })
    }
    await pub.drain(50)
    const counts = await Promise.all(members.map(async (m) => publishes(await m.drain(10)).length))
    assert.deepEqual(counts, [10, 10, 10])
    assert.equal(publishes(await plain.drain(10)).length, 30, 'non-shared subscribers get every message')
    for (const m of [...members, plain, pub]) m.end()
  })

  test('No Local on a shared subscription is a protocol error [MQTT-3.8.3-4]', async () => {
    const c = new RawClient(broker, 5)
    await c.connect()
    c.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [{ topicFilter: '$share/g/x', qos: 0, noLocal: true }],
    })
    const packets = await c.waitClosed()
    assert.equal((packets[0] as { reasonCode?: number }).reasonCode, 0x82)
  })

  test('unacknowledged QoS 1 messages of a leaving member go to another member', async () => {
    const a = await member('$share/h/lv', 1)
    const pub = new RawClient(broker, 5)
    await pub.connect()
    pub.send({
      type: 'publish',
      topic: 'lv',
      payload: Buffer.from('m'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1,
    })
    await pub.expect('puback')
    await a.expect('publish') // never acknowledged
    const b = await member('$share/h/lv', 1)
    a.end()
    const p = await b.expect('publish')
    assert.equal(String(p.payload), 'm')
    b.end()
    pub.end()
  })
})
