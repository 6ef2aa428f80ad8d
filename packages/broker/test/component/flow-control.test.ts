import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { encodePacket, ReasonCode } from '@strata/protocol'
import { duplexPair, memoryInfo, pub, RawClient, startBroker, until } from '../helpers.js'

describe('flow control', () => {
  test('more unacknowledged inbound QoS 1 than Receive Maximum: DISCONNECT 0x93 [MQTT-3.3.4-9]', async () => {
    const broker = await startBroker({ limits: { maxInflight: 2 } })
    const c = new RawClient(broker, 5)
    await c.connect()
    // One write: the three arrive before any commit can complete, so none is acknowledged yet.
    c.write(Buffer.concat([1, 2, 3].map((id) => encodePacket(pub('fc', 1, id), 5))))
    const packets = await c.waitClosed()
    assert.equal((packets.at(-1) as { reasonCode?: number }).reasonCode, ReasonCode.ReceiveMaximumExceeded)
    await broker.close()
  })

  test('outbound window = the client Receive Maximum; the rest waits for acks', async () => {
    const broker = await startBroker()
    const s = new RawClient(broker, 5)
    await s.connect({ properties: { receiveMaximum: 2 } })
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'w', qos: 1 }] })
    await s.expect('suback')
    const p = new RawClient(broker, 5)
    await p.connect()
    for (let i = 1; i <= 3; i++) p.send(pub('w', 1, i))
    const first = (await s.drain(50)).filter((x) => x.type === 'publish')
    assert.equal(first.length, 2)
    s.send({ type: 'puback', packetId: (first[0] as { packetId: number }).packetId })
    const third = await s.expect('publish')
    assert.notEqual(
      third.packetId,
      (first[1] as { packetId: number }).packetId,
      'packet ids in use are skipped',
    )
    s.end()
    p.end()
    await broker.close()
  })

  test('queue bound: new QoS 1 messages for a full session are refused and counted', async () => {
    const broker = await startBroker({ limits: { maxQueuedMessages: 2 } })
    const opts = { clientId: 'qb', clean: false, properties: { sessionExpiryInterval: 60 } }
    const s = new RawClient(broker, 5)
    await s.connect(opts)
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'qb', qos: 1 }] })
    await s.expect('suback')
    s.end()
    await until(() => broker.stats().clientsConnected === 0)
    const p = new RawClient(broker, 5)
    await p.connect()
    const codes: Array<number | undefined> = []
    for (let i = 1; i <= 4; i++) {
      p.send({ ...pub('qb', 1, i), payload: Buffer.from(`m${i}`) })
      codes.push((await p.expect('puback')).reasonCode)
    }
    // An MQTT 5 publisher is told its message could not be queued for everyone.
    assert.deepEqual(
      codes.map((c) => c ?? 0),
      [0, 0, ReasonCode.QuotaExceeded, ReasonCode.QuotaExceeded],
    )
    assert.equal(broker.stats().publishDropped, 2)
    const back = new RawClient(broker, 5)
    await back.connect(opts)
    const got = (await back.drain(50)).filter((x) => x.type === 'publish')
    assert.deepEqual(
      got.map((x) => String((x as { payload: Buffer }).payload)),
      ['m1', 'm2'],
    )
    back.end()
    p.end()
    await broker.close()
  })

  test('slow consumer: QoS 0 beyond the outgoing buffer bound is dropped and counted', async () => {
    const broker = await startBroker({ limits: { maxOutgoingBufferBytes: 4096 } })
    const [client, server] = duplexPair(1024)
    broker.handle(server, memoryInfo())
    client.write(
      encodePacket(
        {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: 4,
          clean: true,
          keepAlive: 0,
          clientId: 'slow',
        },
        4,
      ),
    )
    client.write(
      encodePacket({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'slow', qos: 0 }] }, 4),
    )
    await until(() => broker.stats().subscriptionsCount === 1)
    // The client never reads.
    const p = new RawClient(broker, 4)
    await p.connect()
    for (let i = 0; i < 200; i++) p.send(pub('slow', 0, undefined, 500))
    await until(() => broker.stats().publishDropped > 0)
    const sentBytes = broker.stats().bytesSent
    assert.ok(sentBytes < 4096 + 1024 * 4 + 2000, `buffered output stays bounded (${sentBytes} bytes)`)
    client.destroy()
    p.end()
    await broker.close()
  })

  test('a message larger than the client Maximum Packet Size is dropped, not sent [MQTT-3.1.2-25]', async () => {
    const broker = await startBroker()
    const s = new RawClient(broker, 5)
    await s.connect({ properties: { maximumPacketSize: 100 } })
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'mp', qos: 1 }] })
    await s.expect('suback')
    const p = new RawClient(broker, 5)
    await p.connect()
    p.send(pub('mp', 1, 1, 200))
    p.send(pub('mp', 1, 2, 10))
    const got = await s.expect('publish')
    assert.equal(got.payload.length, 10)
    s.end()
    p.end()
    await broker.close()
  })
})

describe('back-pressure on publishers', () => {
  test('a connected slow subscriber holds the publisher acks instead of dropping acknowledged messages', async () => {
    const broker = await startBroker({ limits: { maxQueuedMessages: 20 } }) // high water 10, low water 5
    const s = new RawClient(broker, 5)
    await s.connect({ properties: { receiveMaximum: 1 } })
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'bp', qos: 1 }] })
    await s.expect('suback')
    const p = new RawClient(broker, 5)
    await p.connect()
    for (let i = 1; i <= 15; i++) p.send(pub('bp', 1, i))
    const early = (await p.drain(100)).filter((x) => x.type === 'puback')
    assert.equal(early.length, 10, 'acks stop once the subscriber queue is at its high-water mark')
    let acked = early.length
    let delivered = 0
    while (delivered < 15) {
      const m = await s.expect('publish')
      delivered++
      s.send({ type: 'puback', packetId: m.packetId as number })
      for (const x of p.received.splice(0)) if (x.type === 'puback') acked++
    }
    while (acked < 15) {
      await p.expect('puback')
      acked++
    }
    assert.equal(broker.stats().publishDropped, 0)
    s.end()
    p.end()
    await broker.close()
  })

  test('a connected subscriber never loses an acknowledged message, even past maxQueuedMessages', async () => {
    const broker = await startBroker({ limits: { maxQueuedMessages: 4 } })
    const s = new RawClient(broker, 5)
    await s.connect({
      clientId: 'soft',
      clean: false,
      properties: { receiveMaximum: 1, sessionExpiryInterval: 60 },
    })
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'soft', qos: 1 }] })
    await s.expect('suback')
    const publishers = [new RawClient(broker, 5), new RawClient(broker, 4), new RawClient(broker, 5)]
    for (const p of publishers) await p.connect()
    // 3 publishers x 6 messages in flight at once: 18 > the bound of 4.
    publishers.forEach((p, n) => {
      for (let i = 1; i <= 6; i++) p.send({ ...pub('soft', 1, i), payload: Buffer.from(`${n}-${i}`) })
    })
    const got = new Set<string>()
    while (got.size < 18) {
      const m = await s.expect('publish')
      got.add(String(m.payload))
      s.send({ type: 'puback', packetId: m.packetId as number })
    }
    for (const p of publishers) {
      let acks = p.received.filter((x) => x.type === 'puback').length
      while (acks < 6) {
        const a = await p.expect('puback')
        assert.equal(a.reasonCode ?? 0, 0)
        acks++
      }
      p.end()
    }
    assert.equal(broker.stats().publishDropped, 0)
    s.end()
    await broker.close()
  })
})
