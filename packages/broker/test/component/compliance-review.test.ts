import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { encodePacket } from '@strata/protocol'
import { MemoryStore } from '../../src/index.js'
import { delay, endClient, mqttClient, pub, RawClient, startBroker, until } from '../helpers.js'

/*
 * Findings of a spec-compliance review of the broker, one test each
 * (issue 2, section 3). Each failed before its fix.
 */

describe('compliance review: flow control', () => {
  test('3.1.1 has no Receive Maximum: a burst past maxInflight is read more slowly, not disconnected [MQTT-3.3.4-9 is MQTT 5 only]', async () => {
    const broker = await startBroker({ limits: { maxInflight: 3 } })
    const raw = new RawClient(broker, 4)
    await raw.connect()
    // One write: all of them arrive before any commit could complete.
    raw.write(Buffer.concat([1, 2, 3, 4, 5, 6, 7, 8].map((id) => encodePacket(pub('burst', 1, id), 4))))
    const ids: number[] = []
    for (let i = 0; i < 8; i++) ids.push((await raw.expect('puback')).packetId)
    assert.deepEqual(ids, [1, 2, 3, 4, 5, 6, 7, 8])
    assert.equal(raw.closed, false)
    raw.end()

    // mqtt.js v3.1.1 sends QoS 1 without any in-flight limit.
    const sub = await mqttClient(broker, { protocolVersion: 4, clientId: 'burst-sub' })
    await sub.subscribeAsync('mq/burst', { qos: 1 })
    let received = 0
    sub.on('message', () => received++)
    const publisher = await mqttClient(broker, { protocolVersion: 4, clientId: 'burst-pub' })
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => publisher.publishAsync('mq/burst', String(i), { qos: 1 })),
    )
    await until(() => received === 200, 5000, 'all 200 delivered')
    await endClient(publisher)
    await endClient(sub)
    await broker.close()
  })

  test('a QoS 1 message too big for the client is dropped, counted, and does not block the queue [MQTT-3.1.2-24] [MQTT-3.1.2-25]', async () => {
    const broker = await startBroker()
    const opts = {
      clientId: 'small-max',
      clean: false,
      properties: { sessionExpiryInterval: 60, maximumPacketSize: 1000, receiveMaximum: 1 },
    }
    const s = new RawClient(broker, 5)
    await s.connect(opts)
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'big/#', qos: 1 }] })
    await s.expect('suback')
    const p = new RawClient(broker, 5)
    await p.connect()
    p.send(pub('big/1', 1, 1, 2000))
    p.send(pub('big/2', 1, 2, 500))
    await p.expect('puback')
    await p.expect('puback')
    // Window of 1: the big one did not take the slot.
    const got = await s.expect('publish')
    assert.equal(got.topic, 'big/2')
    assert.equal(broker.stats().publishDropped, 1)
    // Not acknowledged; the client comes back with a smaller Maximum Packet Size.
    s.end()
    await until(() => broker.stats().clientsConnected === 1)
    p.send(pub('big/3', 1, 3, 10))
    await p.expect('puback')
    const back = new RawClient(broker, 5)
    await back.connect({ ...opts, properties: { ...opts.properties, maximumPacketSize: 100 } })
    // big/2 (500 bytes) no longer fits: dropped at resend instead of holding the only window slot.
    const next = await back.expect('publish')
    assert.equal(next.topic, 'big/3')
    assert.equal(next.dup, false)
    assert.equal(broker.stats().publishDropped, 2)
    back.end()
    p.end()
    await broker.close()
  })

  test('an outbound Topic Alias assigned to a dropped (too big) QoS 0 PUBLISH is not used later [MQTT-3.3.2-12]', async () => {
    const broker = await startBroker()
    const s = new RawClient(broker, 5)
    await s.connect({ properties: { topicAliasMaximum: 4, maximumPacketSize: 100 } })
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'al/#', qos: 0 }] })
    await s.expect('suback')
    const p = new RawClient(broker, 5)
    await p.connect()
    p.send(pub('al/x', 0, undefined, 500))
    p.send(pub('al/x', 0, undefined, 5))
    const got = await s.expect('publish')
    // The client never learnt the alias: the topic must be there.
    assert.equal(got.topic, 'al/x')
    assert.equal(got.payload.length, 5)
    s.end()
    p.end()
    await broker.close()
  })
})

describe('compliance review: takeover, keep-alive, wills', () => {
  test('takeover: the old connection will is published [MQTT-3.1.4-3]; in-flight messages resent on the new one with DUP and their packet ids [MQTT-4.4.0-1]', async () => {
    const broker = await startBroker()
    const w = new RawClient(broker, 5)
    await w.connect()
    w.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'tw/#', qos: 1 }] })
    await w.expect('suback')
    const opts = { clientId: 'taken', clean: false, properties: { sessionExpiryInterval: 60 } }
    const old = new RawClient(broker, 5)
    await old.connect({
      ...opts,
      will: { topic: 'tw/will', payload: Buffer.from('bye'), qos: 1, retain: false },
    })
    old.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'inflight', qos: 1 }] })
    await old.expect('suback')
    const p = new RawClient(broker, 5)
    await p.connect()
    p.send(pub('inflight', 1, 1))
    const first = await old.expect('publish') // never acknowledged
    const taker = new RawClient(broker, 5)
    assert.equal((await taker.connect(opts)).sessionPresent, true)
    const again = await taker.expect('publish')
    assert.equal(again.dup, true)
    assert.equal(again.packetId, first.packetId)
    const will = await w.expect('publish')
    assert.equal(will.topic, 'tw/will')
    assert.equal(String(will.payload), 'bye')
    for (const c of [w, taker, p]) c.end()
    await broker.close()
  })

  test('a delayed will is cancelled by the connection that takes the session over [MQTT-3.1.2-8]', async () => {
    const broker = await startBroker()
    const w = new RawClient(broker, 5)
    await w.connect()
    w.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'tdw', qos: 0 }] })
    await w.expect('suback')
    const opts = { clientId: 'taken-delayed', clean: false, properties: { sessionExpiryInterval: 60 } }
    const old = new RawClient(broker, 5)
    await old.connect({
      ...opts,
      will: {
        topic: 'tdw',
        payload: Buffer.from('bye'),
        qos: 0,
        retain: false,
        properties: { willDelayInterval: 1 },
      },
    })
    const taker = new RawClient(broker, 5)
    await taker.connect(opts)
    assert.deepEqual(await w.drain(1300), [])
    for (const c of [w, taker]) c.end()
    await broker.close()
  })

  test('keep-alive timeout publishes the will [MQTT-3.1.2-8] [MQTT-3.1.2-24]; keep-alive 0 is never timed out', async () => {
    const broker = await startBroker()
    const w = new RawClient(broker, 4)
    await w.connect()
    w.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'ka/will', qos: 0 }] })
    await w.expect('suback')
    const idle = new RawClient(broker, 4)
    await idle.connect({
      keepAlive: 1,
      will: { topic: 'ka/will', payload: Buffer.from('lost'), qos: 0, retain: false },
    })
    const forever = new RawClient(broker, 4)
    await forever.connect({ keepAlive: 0 })
    await idle.waitClosed(4000)
    assert.equal(String((await w.expect('publish')).payload), 'lost')
    // The watcher (keep-alive 0 too) and `forever` are still served after the same silence.
    assert.equal(forever.closed, false)
    forever.send({ type: 'pingreq' })
    await forever.expect('pingresp')
    for (const c of [w, forever]) c.end()
    await broker.close()
  })
})

describe('compliance review: DISCONNECT and problem information', () => {
  test('DISCONNECT with an error reason code keeps the will: only 0x00 discards it [MQTT-3.14.4-3] [MQTT-3.1.2-10]', async () => {
    const broker = await startBroker()
    const w = new RawClient(broker, 5)
    await w.connect()
    w.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'dw', qos: 0 }] })
    await w.expect('suback')
    const c = new RawClient(broker, 5)
    await c.connect({ will: { topic: 'dw', payload: Buffer.from('failed'), qos: 0, retain: false } })
    c.send({ type: 'disconnect', reasonCode: 0x80 })
    assert.equal(String((await w.expect('publish')).payload), 'failed')
    w.end()
    await broker.close()
  })

  test('Request Problem Information 0: no Reason String on PUBCOMP/PUBREL 0x92 [MQTT-3.1.2-29]', async () => {
    const broker = await startBroker()
    const c = new RawClient(broker, 5)
    await c.connect({ properties: { requestProblemInformation: 0 } })
    c.send({ type: 'pubrel', packetId: 7 })
    const pubcomp = await c.expect('pubcomp')
    assert.equal(pubcomp.reasonCode, 0x92)
    assert.equal(pubcomp.properties, undefined)
    c.send({ type: 'pubrec', packetId: 8 })
    const pubrel = await c.expect('pubrel')
    assert.equal(pubrel.reasonCode, 0x92)
    assert.equal(pubrel.properties, undefined)
    c.end()
    await broker.close()
  })
})

describe('compliance review: retained', () => {
  test('a retained message whose Message Expiry passed during a restart is not recovered [MQTT-3.3.2-5]', async () => {
    const store = new MemoryStore()
    let broker = await startBroker({ store })
    const p = new RawClient(broker, 5)
    await p.connect()
    p.send({ ...pub('rx/short', 1, 1), retain: true, properties: { messageExpiryInterval: 1 } })
    p.send({ ...pub('rx/long', 1, 2), retain: true })
    await p.expect('puback')
    await p.expect('puback')
    p.end()
    await broker.close()
    await delay(1100)
    broker = await startBroker({ store })
    assert.equal(broker.stats().retainedCount, 1)
    await broker.close()
  })
})
