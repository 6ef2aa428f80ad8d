// The ingest hook (BrokerHooks.ingest): the platform may refuse a PUBLISH before it is routed,
// or make its acknowledgement wait for the platform's own store, in order.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { IngestResult } from '../../src/index.js'
import { pub, RawClient, startBroker } from '../helpers.js'

/** A promise and its resolve/reject, for an ingestion the test completes by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve = (): void => {}
  let reject = (_e: Error): void => {}
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('ingest hook', () => {
  test('a refused message gets its reason code (MQTT 5), is acknowledged (3.1.1), and reaches nobody', async () => {
    const broker = await startBroker({
      hooks: {
        ingest: (_c, m): IngestResult =>
          m.payload.toString() === 'bad' ? { refuse: 0x99, reason: 'not JSON' } : undefined,
      },
    })
    const sub = new RawClient(broker, 5)
    await sub.connect({ clientId: 'sub' })
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't/#', qos: 1 }] })
    await sub.expect('suback')
    for (const version of [5, 4] as const) {
      const p = new RawClient(broker, version)
      await p.connect({ clientId: `p${version}` })
      p.send({ ...pub('t/x', 1, 1), payload: Buffer.from('bad') })
      const ack = await p.expect('puback')
      assert.equal(ack.reasonCode ?? 0, version === 5 ? 0x99 : 0)
      p.send({ ...pub('t/x', 1, 2), payload: Buffer.from('good') })
      assert.equal((await p.expect('puback')).reasonCode ?? 0, 0)
    }
    const got = await sub.drain(100)
    assert.deepEqual(
      got.filter((x) => x.type === 'publish').map((x) => (x.type === 'publish' ? x.payload.toString() : '')),
      ['good', 'good'],
    )
    await broker.close()
  })

  test('the PUBACK waits for the durable promise, in publish order; routing does not wait', async () => {
    const pending: Array<ReturnType<typeof deferred>> = []
    const broker = await startBroker({
      hooks: {
        ingest: (): IngestResult => {
          const d = deferred()
          pending.push(d)
          return { durable: d.promise }
        },
      },
    })
    const sub = new RawClient(broker, 5)
    await sub.connect({ clientId: 'sub' })
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't/#', qos: 1 }] })
    await sub.expect('suback')
    const p = new RawClient(broker, 5)
    await p.connect({ clientId: 'p' })
    p.send(pub('t/1', 1, 1))
    p.send(pub('t/2', 1, 2))
    await sub.expect('publish')
    await sub.expect('publish')
    assert.deepEqual(await p.drain(100), [], 'no ack before the store is durable')
    pending[1]?.resolve()
    assert.deepEqual(await p.drain(100), [], 'the second waits behind the first')
    pending[0]?.resolve()
    const acks = [await p.expect('puback'), await p.expect('puback')]
    assert.deepEqual(
      acks.map((a) => a.packetId),
      [1, 2],
    )
    await broker.close()
  })

  test('a failed ingestion withholds the ack and closes the connection; QoS 0 failures are only logged', async () => {
    const broker = await startBroker({
      hooks: { ingest: (): IngestResult => ({ durable: Promise.reject(new Error('disk full')) }) },
    })
    const q0 = new RawClient(broker, 5)
    await q0.connect({ clientId: 'q0' })
    q0.send(pub('t/0', 0))
    const p = new RawClient(broker, 5)
    await p.connect({ clientId: 'p' })
    p.send(pub('t/1', 1, 1))
    const before = await p.waitClosed()
    assert.equal(
      before.some((x) => x.type === 'puback'),
      false,
    )
    assert.equal(q0.closed, false)
    await broker.close()
  })
})
