// Session ownership and ending sessions from the platform (AuthenticateResult.sessionOwner,
// maxSessionExpiry, Broker.endSession, reauthorizeSubscriptions): one identity never resumes
// or takes over another's session, and rights withdrawn are withdrawn from live sessions too.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AuthenticateRequest, BrokerHooks, ClientIdentity } from '../../src/index.js'
import { RawClient, startBroker, until } from '../helpers.js'

/** Username = owner; the authorize hooks allow whatever `allowed` says for that owner. */
function ownerHooks(
  allowed: Map<string, (filter: string) => boolean>,
  maxExpiry?: Map<string, number>,
): BrokerHooks {
  return {
    authenticate: (r: AuthenticateRequest) => ({
      ok: true,
      principal: r.username,
      ...(r.username !== undefined ? { sessionOwner: r.username } : {}),
      ...(r.username !== undefined && maxExpiry?.has(r.username)
        ? { maxSessionExpiry: maxExpiry.get(r.username) }
        : {}),
    }),
    authorizeSubscribe: (c: ClientIdentity, filter: string) =>
      allowed.get(String(c.principal))?.(filter) ?? true,
  }
}

const persistent = (clientId: string, username: string) => ({
  clientId,
  username,
  clean: false,
  properties: { sessionExpiryInterval: 300 },
})

describe('session ownership', () => {
  test('another identity naming a client id is refused (0x85) and the owner keeps its connection', async () => {
    const broker = await startBroker({ hooks: ownerHooks(new Map()) })
    const owner = new RawClient(broker, 5)
    assert.equal((await owner.connect(persistent('ingest', 'user:ingest'))).reasonCode, 0)
    const thief = new RawClient(broker, 5)
    const refused = await thief.connect(persistent('ingest', 'claim:factory'))
    assert.equal(refused.reasonCode, 0x85)
    assert.equal(owner.closed, false, 'the owner was not taken over')
    owner.end()
    await until(() => broker.stats().clientsConnected === 0)
    // Offline, the session is still the owner's: refused again, then resumed by its owner.
    assert.equal((await new RawClient(broker, 5).connect(persistent('ingest', 'anonymous'))).reasonCode, 0x85)
    const back = await new RawClient(broker, 5).connect(persistent('ingest', 'user:ingest'))
    assert.equal(back.reasonCode, 0)
    assert.equal(back.sessionPresent, true)
    await broker.close()
  })

  test('maxSessionExpiry 0: the session ends with the connection (MQTT 5 CONNACK says so)', async () => {
    const broker = await startBroker({ hooks: ownerHooks(new Map(), new Map([['claim:f', 0]])) })
    const c = new RawClient(broker, 5)
    const ack = await c.connect(persistent('SN1', 'claim:f'))
    assert.equal(ack.properties?.sessionExpiryInterval, 0)
    c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'r/#', qos: 1 }] })
    await c.expect('suback')
    c.end()
    await until(() => broker.stats().clientsConnected === 0)
    const again = await new RawClient(broker, 5).connect(persistent('SN1', 'claim:f'))
    assert.equal(again.sessionPresent, false)
    await broker.close()
  })

  test('endSession: the client gets DISCONNECT, its will is not sent, its session and queue are gone', async () => {
    const broker = await startBroker({ hooks: ownerHooks(new Map()) })
    const watcher = new RawClient(broker, 5)
    await watcher.connect({ clientId: 'w', username: 'user:w' })
    watcher.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'will/#', qos: 1 }] })
    await watcher.expect('suback')
    const device = new RawClient(broker, 5)
    await device.connect({
      ...persistent('d2', 'device:d2'),
      will: { topic: 'will/d2', payload: Buffer.from('gone'), qos: 1, retain: false },
    })
    device.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'devices/d2/#', qos: 1 }] })
    await device.expect('suback')
    assert.equal(broker.endSession('d2', 0x87, 'device deleted'), true)
    const disconnect = await device.expect('disconnect')
    assert.equal(disconnect.reasonCode, 0x87)
    await until(() => broker.stats().clientsConnected === 1)
    assert.deepEqual(await watcher.drain(100), [], 'no will')
    const fresh = await new RawClient(broker, 5).connect(persistent('d2', 'device:d2'))
    assert.equal(fresh.sessionPresent, false)
    assert.equal(broker.endSession('nobody', 0x87, 'x'), false)
    await broker.close()
  })

  test('subscriptions are authorized again on resume, and on demand while connected', async () => {
    const allowed = new Map<string, (filter: string) => boolean>()
    let grant = true
    allowed.set('device:d1', (f) => f.startsWith('devices/d1/') || (grant && f === 'plant/#'))
    const broker = await startBroker({ hooks: ownerHooks(allowed) })
    const d1 = new RawClient(broker, 5)
    await d1.connect(persistent('d1', 'device:d1'))
    d1.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { topicFilter: 'plant/#', qos: 1 },
        { topicFilter: 'devices/d1/#', qos: 1 },
      ],
    })
    assert.deepEqual((await d1.expect('suback')).reasonCodes, [1, 1])
    grant = false
    assert.equal(
      broker.reauthorizeSubscriptions((c) => c.clientId === 'd1'),
      1,
    )
    assert.equal(broker.stats().subscriptionsCount, 1)
    // Granted again while offline, withdrawn before the resume: the resumed session drops it.
    grant = true
    d1.send({ type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'plant/#', qos: 1 }] })
    await d1.expect('suback')
    d1.end()
    await until(() => broker.stats().clientsConnected === 0)
    grant = false
    const back = new RawClient(broker, 5)
    assert.equal((await back.connect(persistent('d1', 'device:d1'))).sessionPresent, true)
    assert.equal(broker.stats().subscriptionsCount, 1)
    await broker.close()
  })

  test('a delayed will is authorized again when it goes out: rights withdrawn meanwhile drop it', async () => {
    let allowed = true
    const broker = await startBroker({
      hooks: { authorizePublish: (_c, topic) => !topic.startsWith('plant/') || allowed },
    })
    const w = new RawClient(broker, 5)
    await w.connect({ clientId: 'watch' })
    w.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/#', qos: 1 }] })
    await w.expect('suback')
    const c = new RawClient(broker, 5)
    await c.connect({
      clientId: 'granted',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: {
        topic: 'plant/alarm',
        payload: Buffer.from('gone'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 1 },
      },
    })
    c.end()
    allowed = false
    assert.deepEqual(await w.drain(1300), [], 'the will was dropped')
    await broker.close()
  })
})
