import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MemoryStore, type PublishedMessage } from '../../src/index.js'
import { RawClient, startBroker } from '../helpers.js'

/** A MemoryStore whose commits wait until the test releases them. */
class GatedStore extends MemoryStore {
  private gates: Array<() => void> = []
  commits = 0
  gated = true

  override async commit(): Promise<void> {
    this.commits++
    if (this.gated) await new Promise<void>((resolve) => this.gates.push(resolve))
    return super.commit()
  }

  release(): void {
    this.gated = false
    for (const g of this.gates.splice(0)) g()
  }
}

describe('durability: PUBACK/PUBREC only after store.commit()', () => {
  test('acks wait for the commit, keep their order, and do not block reading or other clients', async () => {
    const store = new GatedStore()
    const seen: PublishedMessage[] = []
    const broker = await startBroker({ store, hooks: { onPublish: (_c, m) => seen.push(m) } })
    const sub = new RawClient(broker, 5)
    await sub.connect({ clientId: 'durable-sub', clean: false, properties: { sessionExpiryInterval: 60 } })
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'd/#', qos: 1 }] })
    await sub.expect('suback')
    const pub = new RawClient(broker, 5)
    await pub.connect()
    for (let i = 1; i <= 3; i++) {
      pub.send({
        type: 'publish',
        topic: `d/${i}`,
        payload: Buffer.from('x'),
        qos: 1,
        retain: false,
        dup: false,
        packetId: i,
      })
    }
    // Delivery to the subscriber and PINGRESP do not wait on the commit...
    pub.send({ type: 'pingreq' })
    assert.equal((await pub.expect('pingresp')).type, 'pingresp')
    assert.equal((await sub.expect('publish')).topic, 'd/1')
    // ...but no PUBACK leaves, and onPublish has not run, until the store says durable.
    assert.deepEqual(await pub.drain(50), [])
    assert.equal(seen.length, 0)
    assert.ok(store.commits >= 1)
    store.release()
    const acks = [await pub.expect('puback'), await pub.expect('puback'), await pub.expect('puback')]
    assert.deepEqual(
      acks.map((a) => a.packetId),
      [1, 2, 3],
    )
    assert.equal(seen.length, 3)
    sub.end()
    pub.end()
    await broker.close()
  })

  test('broker.publish() resolves once durable and reaches subscribers', async () => {
    const broker = await startBroker()
    const sub = new RawClient(broker, 4)
    await sub.connect()
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'platform/+', qos: 1 }] })
    await sub.expect('suback')
    await broker.publish({ topic: 'platform/x', payload: Buffer.from('hi'), qos: 1, retain: true })
    const p = await sub.expect('publish')
    assert.equal(String(p.payload), 'hi')
    assert.equal(broker.stats().retainedCount, 1)
    await assert.rejects(broker.publish({ topic: 'bad/#', payload: Buffer.alloc(0), qos: 0, retain: false }))
    sub.end()
    await broker.close()
  })

  test('Request Problem Information 0: no Reason String on PUBACK [MQTT-3.1.2-29]', async () => {
    const broker = await startBroker({ hooks: { authorizePublish: () => false } })
    const quiet = new RawClient(broker, 5)
    await quiet.connect({ properties: { requestProblemInformation: 0 } })
    quiet.send({
      type: 'publish',
      topic: 't',
      payload: Buffer.from('x'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1,
    })
    const ack = await quiet.expect('puback')
    assert.equal(ack.reasonCode, 0x87)
    assert.equal(ack.properties?.reasonString, undefined)
    const chatty = new RawClient(broker, 5)
    await chatty.connect()
    chatty.send({
      type: 'publish',
      topic: 't',
      payload: Buffer.from('x'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1,
    })
    assert.ok((await chatty.expect('puback')).properties?.reasonString)
    quiet.end()
    chatty.end()
    await broker.close()
  })
})
