import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { ReasonCode } from '@strata/protocol'
import { MemoryStore } from '../../src/index.js'
import { RawClient, startBroker, until } from '../helpers.js'

describe('will messages', async () => {
  const broker = await startBroker({ hooks: { authorizePublish: (_c, t) => t !== 'forbidden' } })
  after(() => broker.close())

  async function watcher(topic: string): Promise<RawClient> {
    const w = new RawClient(broker, 5)
    await w.connect()
    w.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: topic, qos: 1 }] })
    await w.expect('suback')
    return w
  }
  const will = (topic: string, properties?: object) => ({
    topic,
    payload: Buffer.from('gone'),
    qos: 1 as const,
    retain: false,
    ...(properties ? { properties } : {}),
  })

  test('published on abnormal close [MQTT-3.1.2-8]', async () => {
    const w = await watcher('w/1')
    const c = new RawClient(broker, 5)
    await c.connect({ will: will('w/1') })
    c.end()
    const p = await w.expect('publish')
    assert.equal(String(p.payload), 'gone')
    w.end()
  })

  test('not published after a normal DISCONNECT [MQTT-3.1.2-10]; published after DISCONNECT 0x04', async () => {
    const w = await watcher('w/2')
    const c = new RawClient(broker, 5)
    await c.connect({ will: will('w/2') })
    c.send({ type: 'disconnect', reasonCode: 0 })
    await c.waitClosed()
    assert.deepEqual(await w.drain(50), [])
    const d = new RawClient(broker, 5)
    await d.connect({ will: will('w/2') })
    d.send({ type: 'disconnect', reasonCode: ReasonCode.DisconnectWithWillMessage })
    assert.equal((await w.expect('publish')).topic, 'w/2')
    w.end()
  })

  test('Will Delay: cancelled when the client reconnects in time [MQTT-3.1.3-9]', async () => {
    const w = await watcher('w/3')
    const opts = {
      clientId: 'delayed',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: will('w/3', { willDelayInterval: 1 }),
    }
    const c = new RawClient(broker, 5)
    await c.connect(opts)
    c.end()
    await new Promise((r) => setTimeout(r, 100))
    const again = new RawClient(broker, 5)
    await again.connect({ ...opts, will: undefined })
    assert.deepEqual(await w.drain(1200), [])
    again.send({ type: 'disconnect', reasonCode: 0 })
    w.end()
  })

  test('Will Delay: sent after the delay, or at session end if that is earlier', async () => {
    const w = await watcher('w/4')
    const c = new RawClient(broker, 5)
    await c.connect({
      clientId: 'delayed2',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: will('w/4', { willDelayInterval: 1 }),
    })
    const t0 = Date.now()
    c.end()
    await w.expect('publish', 3000)
    assert.ok(Date.now() - t0 >= 900)
    // Session Expiry 0: the session ends with the connection, so the will goes at once.
    const d = new RawClient(broker, 5)
    await d.connect({ will: will('w/4', { willDelayInterval: 30 }) })
    d.end()
    await w.expect('publish', 500)
    w.end()
  })

  test('will topic authorized at CONNECT: refused with 0x87', async () => {
    const c = new RawClient(broker, 5)
    assert.equal((await c.connect({ will: will('forbidden') })).reasonCode, ReasonCode.NotAuthorized)
  })

  test('will with retain is retained', async () => {
    const c = new RawClient(broker, 4)
    await c.connect({ will: { topic: 'w/ret', payload: Buffer.from('r'), qos: 0, retain: true } })
    c.end()
    await new Promise((r) => setTimeout(r, 30))
    const s = new RawClient(broker, 4)
    await s.connect()
    s.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'w/ret', qos: 0 }] })
    await s.expect('suback')
    assert.equal((await s.expect('publish')).retain, true)
    s.end()
  })
})

describe('wills at broker shutdown', () => {
  test('a shutdown sends every will, delayed ones too, to persistent subscribers across the restart [MQTT-3.1.2-8]', async () => {
    const store = new MemoryStore()
    let broker = await startBroker({ store })
    const watcherOpts = { clientId: 'watcher', clean: false, properties: { sessionExpiryInterval: 300 } }
    const w = new RawClient(broker, 5)
    await w.connect(watcherOpts)
    w.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'status/#', qos: 1 }] })
    await w.expect('suback')
    w.end()
    const gone = (topic: string, properties?: object) => ({
      topic,
      payload: Buffer.from('offline'),
      qos: 1 as const,
      retain: false,
      ...(properties ? { properties } : {}),
    })
    // One device still connected; one gone with a will waiting out its 1-hour delay;
    // one that said a normal goodbye (its will is discarded).
    const online = new RawClient(broker, 5)
    await online.connect({ clientId: 'online', will: gone('status/online') })
    const delayed = new RawClient(broker, 5)
    await delayed.connect({
      clientId: 'delayed',
      clean: false,
      properties: { sessionExpiryInterval: 7200 },
      will: gone('status/delayed', { willDelayInterval: 3600 }),
    })
    delayed.end()
    const polite = new RawClient(broker, 5)
    await polite.connect({ clientId: 'polite', will: gone('status/polite') })
    polite.send({ type: 'disconnect', reasonCode: 0 })
    await polite.waitClosed()
    await until(() => broker.stats().clientsConnected === 1)

    await broker.close()
    broker = await startBroker({ store })
    const back = new RawClient(broker, 5)
    await back.connect(watcherOpts)
    const topics = (await back.drain(200)).flatMap((p) => (p.type === 'publish' ? [p.topic] : []))
    assert.deepEqual(topics.sort(), ['status/delayed', 'status/online'])
    back.end()
    await broker.close()
  })
})
