import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MemoryStore } from '../../src/index.js'
import { RawClient, startBroker, until } from '../helpers.js'

const pubPacket = (topic: string, payload: string, qos: 0 | 1 | 2, packetId?: number) => ({
  type: 'publish' as const,
  topic,
  payload: Buffer.from(payload),
  qos,
  retain: false,
  dup: false,
  ...(packetId ? { packetId } : {}),
})

describe('persistent sessions', () => {
  test('offline QoS 1/2 messages are queued and delivered on reconnect; QoS 0 is not queued', async () => {
    const broker = await startBroker()
    const s = new RawClient(broker, 5)
    const opts = { clientId: 'offline', clean: false, properties: { sessionExpiryInterval: 300 } }
    await s.connect(opts)
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'q/#', qos: 2 }] })
    await s.expect('suback')
    s.end()
    await until(() => broker.stats().clientsConnected === 0)
    const p = new RawClient(broker, 5)
    await p.connect()
    p.send(pubPacket('q/0', 'zero', 0))
    p.send(pubPacket('q/1', 'one', 1, 1))
    await p.expect('puback')
    p.send(pubPacket('q/2', 'two', 2, 2))
    await p.expect('pubrec')
    const back = new RawClient(broker, 5)
    assert.equal((await back.connect(opts)).sessionPresent, true)
    const a = await back.expect('publish')
    const b = await back.expect('publish')
    assert.deepEqual([a.topic, a.qos, b.topic, b.qos], ['q/1', 1, 'q/2', 2])
    back.send({ type: 'puback', packetId: a.packetId as number })
    back.send({ type: 'pubrec', packetId: b.packetId as number })
    assert.equal((await back.expect('pubrel')).packetId, b.packetId)
    back.send({ type: 'pubcomp', packetId: b.packetId as number })
    assert.deepEqual(await back.drain(30), [])
    back.end()
    p.end()
    await broker.close()
  })

  test('unacknowledged messages are resent with DUP=1 and the same packet id [MQTT-4.4.0-1]; PUBREL resent', async () => {
    const broker = await startBroker()
    const opts = { clientId: 'redeliver', clean: false, properties: { sessionExpiryInterval: 300 } }
    const s = new RawClient(broker, 5)
    await s.connect(opts)
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'rd/#', qos: 2 }] })
    await s.expect('suback')
    const p = new RawClient(broker, 5)
    await p.connect()
    p.send(pubPacket('rd/1', 'one', 1, 1))
    p.send(pubPacket('rd/2', 'two', 2, 2))
    const first = await s.expect('publish')
    const second = await s.expect('publish')
    s.send({ type: 'pubrec', packetId: second.packetId as number })
    await s.expect('pubrel')
    s.end() // neither PUBACK nor PUBCOMP
    await until(() => broker.stats().clientsConnected === 1)
    const back = new RawClient(broker, 5)
    await back.connect(opts)
    const again = await back.expect('publish')
    assert.equal(again.dup, true)
    assert.equal(again.packetId, first.packetId)
    assert.equal(again.topic, 'rd/1')
    assert.equal((await back.expect('pubrel')).packetId, second.packetId)
    back.end()
    p.end()
    await broker.close()
  })

  test('a restart recovers sessions, subscriptions, queues and retained messages from the store', async () => {
    const store = new MemoryStore()
    let broker = await startBroker({ store })
    const opts = { clientId: 'survivor', clean: false, properties: { sessionExpiryInterval: 300 } }
    const s = new RawClient(broker, 5)
    await s.connect(opts)
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'keep/#', qos: 1 }] })
    await s.expect('suback')
    s.end()
    await until(() => broker.stats().clientsConnected === 0)
    const p = new RawClient(broker, 5)
    await p.connect()
    for (let i = 1; i <= 3; i++) {
      p.send({ ...pubPacket(`keep/${i}`, `m${i}`, 1, i), retain: i === 3 })
      await p.expect('puback')
    }
    p.end()
    await broker.close()
    broker = await startBroker({ store })
    assert.equal(broker.stats().retainedCount, 1)
    assert.equal(broker.stats().subscriptionsCount, 1)
    const back = new RawClient(broker, 5)
    assert.equal((await back.connect(opts)).sessionPresent, true)
    const got = [await back.expect('publish'), await back.expect('publish'), await back.expect('publish')]
    assert.deepEqual(
      got.map((x) => String(x.payload)),
      ['m1', 'm2', 'm3'],
    )
    for (const x of got) back.send({ type: 'puback', packetId: x.packetId as number })
    back.end()
    await broker.close()
  })

  test('session expiry: a disconnected session is deleted after its interval [MQTT-3.1.2-23]', async () => {
    const broker = await startBroker()
    const c = new RawClient(broker, 5)
    await c.connect({ clientId: 'short', clean: false, properties: { sessionExpiryInterval: 1 } })
    c.end()
    await until(() => broker.stats().clientsConnected === 0)
    assert.equal(broker.stats().clientsTotal, 1)
    await until(() => broker.stats().clientsTotal === 0, 2500, 'session expiry')
    const again = new RawClient(broker, 5)
    assert.equal((await again.connect({ clientId: 'short', clean: false })).sessionPresent, false)
    again.end()
    await broker.close()
  })

  test('expired sessions recovered from the store are deleted at startup', async () => {
    const store = new MemoryStore()
    await store.open()
    store.saveSession({
      clientId: 'old',
      protocolVersion: 5,
      sessionExpiryInterval: 10,
      disconnectedAt: Date.now() - 60_000,
      subscriptions: [
        { topicFilter: 'x', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    })
    await store.close()
    const broker = await startBroker({ store })
    assert.equal(broker.stats().clientsTotal, 0)
    assert.equal(broker.stats().subscriptionsCount, 0)
    await broker.close()
  })

  test('DISCONNECT cannot turn Session Expiry 0 into non-zero [MQTT-3.14.2-2]', async () => {
    const broker = await startBroker()
    const c = new RawClient(broker, 5)
    await c.connect()
    c.send({ type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } })
    const packets = await c.waitClosed()
    assert.equal((packets[0] as { reasonCode?: number }).reasonCode, 0x82)
    await broker.close()
  })
})
