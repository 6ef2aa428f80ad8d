import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { RawClient, startBroker } from '../helpers.js'

describe('$SYS topics', () => {
  test('retained statistics in Mosquitto names; not matched by a bare #  [MQTT-4.7.2-1]', async () => {
    const broker = await startBroker({ sysInterval: 1, version: 'strata 0.1.0' })
    const all = new RawClient(broker, 5)
    await all.connect()
    all.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 0 }] })
    await all.expect('suback')
    const sys = new RawClient(broker, 4)
    await sys.connect()
    sys.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '$SYS/#', qos: 0 }] })
    await sys.expect('suback')
    const got = new Map<string, string>()
    for (const p of await sys.drain(50)) if (p.type === 'publish') got.set(p.topic, String(p.payload))
    for (const name of [
      'version',
      'uptime',
      'clients/connected',
      'clients/total',
      'clients/maximum',
      'messages/received',
      'messages/sent',
      'publish/messages/dropped',
      'bytes/received',
      'bytes/sent',
      'retained messages/count',
      'subscriptions/count',
      'load/messages/received/1min',
    ]) {
      assert.ok(got.has(`$SYS/broker/${name}`), name)
    }
    assert.equal(got.get('$SYS/broker/version'), 'strata 0.1.0')
    const updated = await sys.expect('publish', 2000)
    assert.match(updated.topic, /^\$SYS\/broker\//)
    assert.deepEqual(
      (await all.drain(10)).filter((p) => p.type === 'publish'),
      [],
    )
    all.end()
    sys.end()
    await broker.close()
  })
})
