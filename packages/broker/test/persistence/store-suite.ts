import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import type {
  BrokerStore,
  QueueEntry,
  RecoveredState,
  SessionRecord,
  StoredMessage,
} from '../../src/persistence/store.js'

/**
 * The abstract suite every BrokerStore implementation passes (Aedes style:
 * one contract, one suite). A harness owns the backing data; calling
 * `create()` again after the previous store is closed is a broker restart.
 */
export interface StoreHarness {
  create(): BrokerStore
  cleanup(): Promise<void>
}

export type StoreFactory = () => Promise<StoreHarness>

export const message = (id: number, extra: Partial<StoredMessage> = {}): StoredMessage => ({
  id,
  topic: `t/${id}`,
  payload: Buffer.from(`payload ${id}`),
  qos: 1,
  retain: false,
  receivedAt: 1_700_000_000_000 + id,
  ...extra,
})

export const session = (clientId: string, extra: Partial<SessionRecord> = {}): SessionRecord => ({
  clientId,
  protocolVersion: 5,
  sessionExpiryInterval: 3600,
  subscriptions: [
    { topicFilter: 'a/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
  ],
  ...extra,
})

/** Closes `store` and opens a new one over the same data. */
export async function restart(
  harness: StoreHarness,
  store: BrokerStore,
): Promise<{ store: BrokerStore; state: RecoveredState }> {
  await store.close()
  const next = harness.create()
  return { store: next, state: await next.open() }
}

/** Order-insensitive where the contract does not define an order (sessions, inbound ids). */
export function normalize(s: RecoveredState): unknown {
  return {
    sessions: [...s.sessions].sort((a, b) => a.clientId.localeCompare(b.clientId)),
    messages: [...s.messages.entries()].sort((a, b) => a[0] - b[0]),
    retained: [...s.retained.entries()].sort((a, b) => a[0].localeCompare(b[0])),
    queues: [...s.queues.entries()].sort((a, b) => a[0].localeCompare(b[0])),
    inboundQos2: [...s.inboundQos2.entries()]
      .map(([k, v]) => [k, [...v].sort((a, b) => a - b)])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    nextMessageId: s.nextMessageId,
  }
}

export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`BrokerStore suite: ${name}`, () => {
    const withStore = (title: string, fn: (h: StoreHarness, store: BrokerStore) => Promise<void>) =>
      test(title, async () => {
        const harness = await factory()
        const store = harness.create()
        try {
          await fn(harness, store)
        } finally {
          await harness.cleanup()
        }
      })

    withStore('a fresh store opens empty', async (_h, store) => {
      const state = await store.open()
      assert.deepEqual(state.sessions, [])
      assert.equal(state.messages.size, 0)
      assert.equal(state.retained.size, 0)
      assert.equal(state.queues.size, 0)
      assert.equal(state.inboundQos2.size, 0)
      assert.equal(state.nextMessageId, 1)
      await store.close()
    })

    withStore('a queued message round-trips with every field', async (h, store) => {
      await store.open()
      const full = message(7, {
        topic: 'dévice/ü/温度',
        payload: Buffer.from([0, 1, 2, 255, 0x80, 0]),
        qos: 2,
        retain: true,
        properties: {
          contentType: 'application/json',
          payloadFormatIndicator: 1,
          correlationData: Buffer.from([9, 8, 7]),
          responseTopic: 'reply/here',
          userProperties: [
            ['a', '1'],
            ['a', '2'],
          ],
          messageExpiryInterval: 60,
        },
        expiresAt: 1_700_000_060_000,
        origin: 'publisher-1',
      })
      const empty = message(8, { payload: Buffer.alloc(0), qos: 0 })
      store.putMessage(full)
      store.putMessage(empty)
      const entry: QueueEntry = {
        messageId: 7,
        qos: 2,
        subscriptionIdentifiers: [1, 268_435_455],
        retain: true,
      }
      store.enqueue('c1', entry)
      store.enqueue('c1', { messageId: 8, qos: 0 })
      await store.commit()
      const { store: s2, state } = await restart(h, store)
      assert.deepEqual(state.messages.get(7), full)
      assert.deepEqual(state.messages.get(8), empty)
      assert.deepEqual(state.queues.get('c1'), [entry, { messageId: 8, qos: 0 }])
      assert.equal(state.nextMessageId, 9)
      await s2.close()
    })

    withStore(
      'a message nothing references is not recovered, but its id is never reused',
      async (h, store) => {
        await store.open()
        store.putMessage(message(41))
        await store.commit()
        const { store: s2, state } = await restart(h, store)
        assert.equal(state.messages.size, 0)
        assert.equal(state.nextMessageId, 42)
        await s2.close()
      },
    )

    withStore(
      'sessions round-trip, are replaced whole, and deleteSession drops queue and inbound state',
      async (h, store) => {
        await store.open()
        const a = session('a', {
          protocolVersion: 4,
          sessionExpiryInterval: 0xffffffff,
          disconnectedAt: 1_700_000_000_123,
          owner: 'device:a',
          subscriptions: [
            { topicFilter: 'x/+', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2 },
            {
              topicFilter: '$share/g/y/#',
              qos: 0,
              noLocal: false,
              retainAsPublished: false,
              retainHandling: 1,
              subscriptionIdentifier: 42,
            },
          ],
        })
        store.saveSession(session('a'))
        store.saveSession(a)
        store.saveSession(session('b'))
        store.putMessage(message(1))
        store.enqueue('a', { messageId: 1, qos: 1 })
        store.enqueue('b', { messageId: 1, qos: 1 })
        store.setInboundQos2('b', 10, true)
        store.setInboundQos2('a', 11, true)
        await store.commit()
        let { store: s2, state } = await restart(h, store)
        assert.deepEqual(
          state.sessions.find((s) => s.clientId === 'a'),
          a,
        )
        assert.equal(state.sessions.length, 2)
        s2.deleteSession('b')
        await s2.commit()
        ;({ store: s2, state } = await restart(h, s2))
        assert.deepEqual(
          state.sessions.map((s) => s.clientId),
          ['a'],
        )
        assert.equal(state.queues.has('b'), false)
        assert.equal(state.inboundQos2.has('b'), false)
        assert.deepEqual(state.inboundQos2.get('a'), [11])
        assert.ok(state.messages.has(1), 'still queued for a')
        s2.deleteSession('a')
        await s2.commit()
        ;({ store: s2, state } = await restart(h, s2))
        assert.equal(state.sessions.length, 0)
        assert.equal(state.messages.size, 0, 'the body goes with its last reference')
        await s2.close()
      },
    )

    withStore('dequeue frees a body only with its last reference; queue order is kept', async (h, store) => {
      await store.open()
      for (let id = 1; id <= 5; id++) {
        store.putMessage(message(id))
        store.enqueue('a', { messageId: id, qos: 1 })
        if (id % 2 === 1) store.enqueue('b', { messageId: id, qos: 1 })
      }
      store.dequeue('a', 1)
      store.dequeue('a', 2)
      store.dequeue('b', 3)
      store.dequeue('b', 99)
      await store.commit()
      const { store: s2, state } = await restart(h, store)
      assert.deepEqual(
        state.queues.get('a')?.map((e) => e.messageId),
        [3, 4, 5],
      )
      assert.deepEqual(
        state.queues.get('b')?.map((e) => e.messageId),
        [1, 5],
      )
      assert.deepEqual([...state.messages.keys()].sort(), [1, 3, 4, 5])
      await s2.close()
    })

    withStore(
      'updateDelivery records the packet id and the PUBREL phase [MQTT-4.4.0-1]',
      async (h, store) => {
        await store.open()
        store.putMessage(message(1, { qos: 2 }))
        store.putMessage(message(2, { qos: 2 }))
        store.enqueue('a', { messageId: 1, qos: 2 })
        store.enqueue('a', { messageId: 2, qos: 2 })
        store.updateDelivery('a', 1, 17, false)
        store.updateDelivery('a', 2, 18, false)
        store.updateDelivery('a', 2, 18, true)
        store.updateDelivery('nobody', 2, 18, true)
        await store.commit()
        const { store: s2, state } = await restart(h, store)
        assert.deepEqual(state.queues.get('a'), [
          { messageId: 1, qos: 2, packetId: 17, released: false },
          { messageId: 2, qos: 2, packetId: 18, released: true },
        ])
        await s2.close()
      },
    )

    withStore('retained messages: set without put, replace, share with a queue, delete', async (h, store) => {
      await store.open()
      store.setRetained('r/1', message(1, { topic: 'r/1', retain: true }))
      store.setRetained('r/2', message(2, { topic: 'r/2', retain: true }))
      store.putMessage(message(3, { topic: 'r/2', retain: true }))
      store.enqueue('a', { messageId: 3, qos: 1 })
      store.setRetained('r/2', message(3, { topic: 'r/2', retain: true }))
      store.setRetained('r/none', null)
      await store.commit()
      let { store: s2, state } = await restart(h, store)
      assert.deepEqual([...state.retained.keys()].sort(), ['r/1', 'r/2'])
      assert.equal(state.retained.get('r/2')?.id, 3)
      assert.equal(state.messages.has(2), false, 'the replaced body is freed')
      assert.deepEqual(state.retained.get('r/1'), message(1, { topic: 'r/1', retain: true }))
      s2.setRetained('r/1', null)
      s2.dequeue('a', 3)
      await s2.commit()
      ;({ store: s2, state } = await restart(h, s2))
      assert.deepEqual([...state.retained.keys()], ['r/2'])
      assert.deepEqual([...state.messages.keys()], [3], 'still retained after its dequeue')
      s2.setRetained('r/2', null)
      await s2.commit()
      ;({ store: s2, state } = await restart(h, s2))
      assert.equal(state.retained.size, 0)
      assert.equal(state.messages.size, 0)
      assert.equal(state.nextMessageId, 4)
      await s2.close()
    })

    withStore('inbound QoS 2 packet ids are kept until PUBREL [MQTT-4.3.3-9]', async (h, store) => {
      await store.open()
      store.setInboundQos2('a', 1, true)
      store.setInboundQos2('a', 2, true)
      store.setInboundQos2('a', 1, false)
      store.setInboundQos2('b', 5, true)
      store.setInboundQos2('b', 5, false)
      await store.commit()
      const { store: s2, state } = await restart(h, store)
      assert.deepEqual([...state.inboundQos2.entries()], [['a', [2]]])
      await s2.close()
    })

    withStore('enqueue of a message that was never put throws', async (_h, store) => {
      await store.open()
      assert.throws(() => store.enqueue('a', { messageId: 5, qos: 1 }), {
        code: 'STRATA_STORE_UNKNOWN_MESSAGE',
      })
      await store.close()
    })

    withStore('the recovered state is a copy, and stored records are copies', async (h, store) => {
      await store.open()
      const m = message(1)
      const e: QueueEntry = { messageId: 1, qos: 1 }
      const s = session('a')
      store.putMessage(m)
      store.enqueue('a', e)
      store.saveSession(s)
      e.packetId = 99
      s.subscriptions.length = 0
      await store.commit()
      const { store: s2, state } = await restart(h, store)
      assert.deepEqual(state.queues.get('a'), [{ messageId: 1, qos: 1 }])
      assert.equal(state.sessions[0]?.subscriptions.length, 1)
      state.queues.get('a')?.pop()
      state.sessions.length = 0
      const { store: s3, state: again } = await restart(h, s2)
      assert.equal(again.queues.get('a')?.length, 1)
      assert.equal(again.sessions.length, 1)
      await s3.close()
    })

    withStore('concurrent commits all resolve; records after close throw', async (_h, store) => {
      await store.open()
      const commits: Promise<void>[] = []
      for (let id = 1; id <= 50; id++) {
        store.putMessage(message(id))
        store.enqueue('a', { messageId: id, qos: 1 })
        commits.push(store.commit())
      }
      await Promise.all(commits)
      await store.commit()
      await store.close()
      assert.throws(() => store.putMessage(message(51)), { code: 'STRATA_STORE_CLOSED' })
      await assert.rejects(store.commit(), { code: 'STRATA_STORE_CLOSED' })
    })

    withStore('open honours an aborted signal', async (_h, store) => {
      await assert.rejects(store.open(AbortSignal.abort()), { name: 'AbortError' })
    })

    withStore('many sessions with subscriptions and queues round-trip', async (h, store) => {
      await store.open()
      let id = 1
      for (let c = 0; c < 1000; c++) {
        const clientId = `client-${c}`
        store.saveSession(
          session(clientId, {
            subscriptions: [
              {
                topicFilter: `d/${c}/+`,
                qos: 1,
                noLocal: false,
                retainAsPublished: false,
                retainHandling: 0,
              },
              { topicFilter: 'all/#', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 1 },
            ],
          }),
        )
        for (let k = 0; k < 3; k++) {
          store.putMessage(message(id))
          store.enqueue(clientId, { messageId: id++, qos: 1 })
        }
      }
      await store.commit()
      const { store: s2, state } = await restart(h, store)
      assert.equal(state.sessions.length, 1000)
      assert.equal(state.messages.size, 3000)
      assert.deepEqual(
        state.queues.get('client-999')?.map((e) => e.messageId),
        [2998, 2999, 3000],
      )
      const { store: s3, state: again } = await restart(h, s2)
      assert.deepEqual(normalize(again), normalize(state))
      await s3.close()
    })

    test('random operations match a reference model across restarts (seeded)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 60 }), async (ops) => {
          const harness = await factory()
          try {
            let store = harness.create()
            await store.open()
            const model = new Model()
            for (const op of ops) {
              if (op.kind === 'restart') {
                await store.commit()
                const next = await restart(harness, store)
                store = next.store
                assert.deepEqual(normalize(next.state), normalize(model.expected()))
              } else if (op.kind === 'commit') {
                await store.commit()
              } else {
                model.run(op, store)
              }
            }
            await store.commit()
            const last = await restart(harness, store)
            assert.deepEqual(normalize(last.state), normalize(model.expected()))
            await last.store.close()
          } finally {
            await harness.cleanup()
          }
        }),
        { seed: 20240611, numRuns: 40 },
      )
    })
  })
}

type Operation =
  | { kind: 'publish'; clients: number[]; qos: 1 | 2; size: number }
  | { kind: 'retain'; topic: number; pick: number; clear: boolean }
  | { kind: 'session'; client: number; subs: number }
  | { kind: 'deleteSession'; client: number }
  | { kind: 'update'; client: number; pick: number; released: boolean }
  | { kind: 'dequeue'; client: number; pick: number }
  | { kind: 'inbound'; client: number; packetId: number; pending: boolean }
  | { kind: 'commit' }
  | { kind: 'restart' }

const client = fc.integer({ min: 0, max: 3 })
const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      clients: fc.uniqueArray(client, { maxLength: 3 }),
      qos: fc.constantFrom(1 as const, 2 as const),
      size: fc.integer({ min: 0, max: 300 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('retain' as const),
      topic: fc.integer({ min: 0, max: 2 }),
      pick: fc.nat(),
      clear: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('session' as const), client, subs: fc.nat({ max: 3 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteSession' as const), client }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      client,
      pick: fc.nat(),
      released: fc.boolean(),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('dequeue' as const), client, pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('inbound' as const),
      client,
      packetId: fc.integer({ min: 1, max: 4 }),
      pending: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
)

/** A deliberately naive reference: arrays and linear scans, no reference counting. */
class Model {
  private bodies = new Map<number, StoredMessage>()
  private retained = new Map<string, number>()
  private sessions = new Map<string, SessionRecord>()
  private queues = new Map<string, QueueEntry[]>()
  private inbound = new Map<string, number[]>()
  private nextId = 1

  run(op: Exclude<Operation, { kind: 'commit' | 'restart' }>, store: BrokerStore): void {
    switch (op.kind) {
      case 'publish': {
        const m = message(this.nextId++, { qos: op.qos, payload: Buffer.alloc(op.size, op.size & 0xff) })
        this.bodies.set(m.id, m)
        store.putMessage(m)
        for (const c of op.clients) {
          const entry: QueueEntry = { messageId: m.id, qos: op.qos }
          store.enqueue(`c${c}`, entry)
          const q = this.queues.get(`c${c}`) ?? []
          q.push(entry)
          this.queues.set(`c${c}`, q)
        }
        return
      }
      case 'retain': {
        const topic = `r/${op.topic}`
        if (op.clear) {
          store.setRetained(topic, null)
          this.retained.delete(topic)
          return
        }
        const live = [...this.live()]
        const reuse = live.length > 0 && op.pick % 2 === 0 ? live[op.pick % live.length] : undefined
        const m = reuse !== undefined ? this.bodies.get(reuse) : message(this.nextId++, { retain: true })
        if (m === undefined) return
        this.bodies.set(m.id, m)
        store.setRetained(topic, m)
        this.retained.set(topic, m.id)
        return
      }
      case 'session': {
        const s = session(`c${op.client}`, {
          subscriptions: Array.from({ length: op.subs }, (_, i) => ({
            topicFilter: `f/${i}`,
            qos: 1 as const,
            noLocal: i % 2 === 0,
            retainAsPublished: false,
            retainHandling: 0 as const,
          })),
        })
        store.saveSession(s)
        this.sessions.set(s.clientId, s)
        return
      }
      case 'deleteSession': {
        const id = `c${op.client}`
        store.deleteSession(id)
        this.sessions.delete(id)
        this.queues.delete(id)
        this.inbound.delete(id)
        return
      }
      case 'update': {
        const q = this.queues.get(`c${op.client}`)
        const entry = q?.[op.pick % q.length]
        if (q === undefined || entry === undefined) return
        const packetId = (op.pick % 65535) + 1
        store.updateDelivery(`c${op.client}`, entry.messageId, packetId, op.released)
        q[q.indexOf(entry)] = { ...entry, packetId, released: op.released }
        return
      }
      case 'dequeue': {
        const q = this.queues.get(`c${op.client}`)
        const entry = q?.[op.pick % q.length]
        if (q === undefined || entry === undefined) return
        store.dequeue(`c${op.client}`, entry.messageId)
        q.splice(q.indexOf(entry), 1)
        if (q.length === 0) this.queues.delete(`c${op.client}`)
        return
      }
      case 'inbound': {
        const id = `c${op.client}`
        store.setInboundQos2(id, op.packetId, op.pending)
        const ids = (this.inbound.get(id) ?? []).filter((p) => p !== op.packetId)
        if (op.pending) ids.push(op.packetId)
        if (ids.length > 0) this.inbound.set(id, ids)
        else this.inbound.delete(id)
        return
      }
    }
  }

  private live(): Set<number> {
    const ids = new Set<number>(this.retained.values())
    for (const q of this.queues.values()) for (const e of q) ids.add(e.messageId)
    return ids
  }

  expected(): RecoveredState {
    const messages = new Map<number, StoredMessage>()
    for (const id of this.live()) {
      const m = this.bodies.get(id)
      if (m !== undefined) messages.set(id, m)
    }
    const retained = new Map<string, StoredMessage>()
    for (const [t, id] of this.retained) {
      const m = this.bodies.get(id)
      if (m !== undefined) retained.set(t, m)
    }
    return {
      sessions: [...this.sessions.values()],
      messages,
      retained,
      queues: new Map([...this.queues].map(([k, v]) => [k, v.map((e) => ({ ...e }))])),
      inboundQos2: new Map(this.inbound),
      nextMessageId: this.nextId,
    }
  }
}
