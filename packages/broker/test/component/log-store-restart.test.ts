import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { LogStore } from '../../src/index.js'
import { RawClient, startBroker, until } from '../helpers.js'

describe('restart on the embedded LogStore', () => {
  test('acknowledged QoS 1 messages, QoS 2 state and retained messages survive a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-broker-'))
    try {
      let broker = await startBroker({ store: new LogStore({ dir, fsync: false }) })
      const opts = { clientId: 'disk-sub', clean: false, properties: { sessionExpiryInterval: 3600 } }
      const s = new RawClient(broker, 5)
      await s.connect(opts)
      s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'disk/#', qos: 2 }] })
      await s.expect('suback')
      s.end()
      await until(() => broker.stats().clientsConnected === 0)
      const p = new RawClient(broker, 5)
      await p.connect({ clientId: 'disk-pub', clean: false, properties: { sessionExpiryInterval: 3600 } })
      for (let i = 1; i <= 20; i++) {
        p.send({
          type: 'publish',
          topic: `disk/${i}`,
          payload: Buffer.from(`m${i}`),
          qos: 1,
          retain: i === 20,
          dup: false,
          packetId: i,
        })
      }
      for (let i = 1; i <= 20; i++) await p.expect('puback')
      // A QoS 2 PUBLISH whose PUBREL has not come yet: its packet id must survive [MQTT-4.3.3-9].
      p.send({
        type: 'publish',
        topic: 'disk/q2',
        payload: Buffer.from('q2'),
        qos: 2,
        retain: false,
        dup: false,
        packetId: 77,
      })
      await p.expect('pubrec')
      p.end()
      await broker.close()

      broker = await startBroker({ store: new LogStore({ dir, fsync: false }) })
      assert.equal(broker.stats().retainedCount, 1)
      const back = new RawClient(broker, 5)
      assert.equal((await back.connect(opts)).sessionPresent, true)
      const got: string[] = []
      while (got.length < 21) {
        const m = await back.expect('publish')
        got.push(String(m.payload))
        if (m.qos === 1) back.send({ type: 'puback', packetId: m.packetId as number })
        else back.send({ type: 'pubrec', packetId: m.packetId as number })
      }
      assert.deepEqual(
        got.slice(0, 20),
        Array.from({ length: 20 }, (_, i) => `m${i + 1}`),
      )
      assert.equal(got[20], 'q2')
      const again = new RawClient(broker, 5)
      await again.connect({ clientId: 'disk-pub', clean: false, properties: { sessionExpiryInterval: 3600 } })
      again.send({
        type: 'publish',
        topic: 'disk/q2',
        payload: Buffer.from('q2'),
        qos: 2,
        retain: false,
        dup: true,
        packetId: 77,
      })
      await again.expect('pubrec')
      again.send({ type: 'pubrel', packetId: 77 })
      assert.equal((await again.expect('pubcomp')).reasonCode ?? 0, 0)
      // Not delivered a second time to the subscriber.
      assert.deepEqual(
        (await back.drain(30)).filter((x) => x.type === 'publish'),
        [],
      )
      back.end()
      again.end()
      await broker.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
