import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { RawClient, startBroker, until } from '../helpers.js'

describe('Message Expiry', async () => {
  const broker = await startBroker()
  after(() => broker.close())

  test('an expired queued message is never delivered [MQTT-3.3.2-5]; the remaining interval is forwarded [MQTT-3.3.2-6]', async () => {
    const opts = { clientId: 'exp', clean: false, properties: { sessionExpiryInterval: 60 } }
    const s = new RawClient(broker, 5)
    await s.connect(opts)
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'ex/#', qos: 1 }] })
    await s.expect('suback')
    s.end()
    await until(() => broker.stats().clientsConnected === 0)
    const p = new RawClient(broker, 5)
    await p.connect()
    const base = { type: 'publish', qos: 1, retain: false, dup: false, payload: Buffer.from('x') } as const
    p.send({ ...base, topic: 'ex/short', packetId: 1, properties: { messageExpiryInterval: 1 } })
    p.send({ ...base, topic: 'ex/long', packetId: 2, properties: { messageExpiryInterval: 100 } })
    await p.expect('puback')
    await p.expect('puback')
    await new Promise((r) => setTimeout(r, 1100))
    const back = new RawClient(broker, 5)
    await back.connect(opts)
    const got = await back.expect('publish')
    assert.equal(got.topic, 'ex/long')
    const left = got.properties?.messageExpiryInterval ?? 0
    assert.ok(left <= 99 && left >= 97, `remaining interval ${left}`)
    assert.deepEqual(await back.drain(30), [])
    back.end()
    p.end()
  })

  test('an expired retained message is not sent to new subscribers', async () => {
    const p = new RawClient(broker, 5)
    await p.connect()
    p.send({
      type: 'publish',
      topic: 'exr',
      payload: Buffer.from('x'),
      qos: 0,
      retain: true,
      dup: false,
      properties: { messageExpiryInterval: 1 },
    })
    await new Promise((r) => setTimeout(r, 1050))
    const s = new RawClient(broker, 5)
    await s.connect()
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'exr', qos: 0 }] })
    await s.expect('suback')
    assert.deepEqual(await s.drain(30), [])
    s.end()
    p.end()
  })
})
