// Regression tests of the security review of issue 3: each scenario was an exploit against
// the first version of device identity; each must now be refused.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { testCerts } from '../helpers/certs.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { collect, connect, sleep, waitUntil } from './lib.js'

type CodeError = Error & { code?: number }

describe('identity attacks', () => {
  let platform: TestPlatform
  let url: string

  before(async () => {
    platform = await startTestPlatform({ allowAnonymous: true })
    url = `mqtt://127.0.0.1:${platform.port('MQTT')}`
  })
  after(() => platform.close())

  test("a claim token cannot take over another client's session, nor steal a claim client's", async () => {
    const { claimToken } = await platform.identity.createTemplate({ id: 'fab' })
    // A backend (anonymous here) with a persistent session on '#'.
    const backend = await connect(url, {
      clientId: 'ingest',
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 600 },
    })
    await backend.subscribeAsync('#', { qos: 1 })
    await assert.rejects(
      connect(url, {
        clientId: 'ingest',
        username: 'fab',
        password: claimToken,
        clean: false,
        protocolVersion: 5,
      }),
      (err: CodeError) => err.code === 0x85,
    )
    assert.ok(backend.connected, 'the backend was not taken over')
    await backend.endAsync()
    await assert.rejects(
      connect(url, {
        clientId: 'ingest',
        username: 'fab',
        password: claimToken,
        clean: false,
        protocolVersion: 5,
      }),
      (err: CodeError) => err.code === 0x85,
      'nor resumed while the backend is away',
    )
    // The other way: a claiming client's session is its own while it lives, and ends with it.
    const claimer = await connect(url, {
      clientId: 'SN42',
      username: 'fab',
      password: claimToken,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 600 },
    })
    await assert.rejects(
      connect(url, { clientId: 'SN42', clean: false, protocolVersion: 5 }),
      (err: CodeError) => err.code === 0x85,
    )
    await claimer.endAsync()
    const anonymous = await connect(url, { clientId: 'SN42', clean: false, protocolVersion: 5 })
    assert.equal(anonymous.options.properties?.sessionExpiryInterval ?? 0, 0)
    await anonymous.endAsync()
  })

  test('a claim client may not publish retained, even on its request topic', async () => {
    const { claimToken } = await platform.identity.createTemplate({ id: 'fab-retain' })
    const claimer = await connect(url, {
      clientId: 'SN-R',
      username: 'fab-retain',
      password: claimToken,
      protocolVersion: 5,
    })
    await assert.rejects(
      claimer.publishAsync('$strata/provision/SN-R/request', '{}', { qos: 1, retain: true }),
      (err: CodeError) => err.code === 0x87,
    )
    await claimer.endAsync()
  })

  test('a re-created template does not accept its old claim token (not even from the cache)', async () => {
    const first = await platform.identity.createTemplate({ id: 'rotating' })
    const c = await connect(url, {
      clientId: 'SN-X',
      username: 'rotating',
      password: first.claimToken,
      protocolVersion: 5,
    })
    await c.endAsync()
    await platform.identity.deleteTemplate('rotating')
    const second = await platform.identity.createTemplate({ id: 'rotating' })
    await assert.rejects(
      connect(url, {
        clientId: 'SN-X',
        username: 'rotating',
        password: first.claimToken,
        protocolVersion: 5,
      }),
      (err: CodeError) => err.code === 0x86,
    )
    const ok = await connect(url, {
      clientId: 'SN-X',
      username: 'rotating',
      password: second.claimToken,
      protocolVersion: 5,
    })
    await ok.endAsync()
  })

  test('removing a grant ends the subscriptions made under it, at once', async () => {
    await platform.registry.createDevice({ id: 'g-1' })
    const { token } = await platform.identity.issueToken('g-1')
    const grant = await platform.identity.addGrant('g-1', { topicFilter: 'plant/#', access: 'subscribe' })
    const device = await connect(url, {
      clientId: 'g-1',
      username: 'g-1',
      password: token,
      protocolVersion: 5,
    })
    const got = collect(device)
    await device.subscribeAsync('plant/#', { qos: 1 })
    const publisher = await connect(url, { clientId: 'plant-pub', protocolVersion: 5 })
    await publisher.publishAsync('plant/a', 'before', { qos: 1 })
    await waitUntil(() => got.length === 1, 'the granted message')
    await platform.identity.removeGrant(grant.id)
    await publisher.publishAsync('plant/a', 'after', { qos: 1 })
    await sleep(200)
    assert.deepEqual(
      got.map((m) => m.payload.toString()),
      ['before'],
    )
    await Promise.all([device.endAsync(), publisher.endAsync()])
  })

  test("a deleted device's session is gone: a new device with its id starts afresh", async () => {
    await platform.registry.createDevice({ id: 'del-1' })
    const first = await platform.identity.issueToken('del-1')
    const old = await connect(url, {
      clientId: 'del-1',
      username: 'del-1',
      password: first.token,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 600 },
    })
    await old.subscribeAsync('devices/del-1/commands/#', { qos: 1 })
    await platform.registry.deleteDevice('del-1')
    await waitUntil(() => !old.connected, 'the disconnect')
    await platform.registry.createDevice({ id: 'del-1' })
    const second = await platform.identity.issueToken('del-1')
    const fresh = await connect(url, {
      clientId: 'del-1',
      username: 'del-1',
      password: second.token,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 600 },
    })
    // Had the old session survived, its subscription would deliver this to the new device.
    const got = collect(fresh)
    await platform.broker.publish({
      topic: 'devices/del-1/commands/x',
      payload: Buffer.from('c'),
      qos: 1,
      retain: false,
    })
    await sleep(200)
    assert.deepEqual(got, [])
    await fresh.endAsync()
    old.end(true)
  })

  test('a registered vendor CA cannot mint a device by its CN; only bound certificates work', async (t) => {
    const certs = await testCerts(t)
    if (!certs) return
    const tlsPlatform = await startTestPlatform({
      'tls.cert': certs.serverCert,
      'tls.key': certs.serverKey,
      'mqtts.port': '0',
    })
    try {
      // The test CA signed the server certificate and a client certificate with CN=device-01.
      await tlsPlatform.identity.registerAuthority({
        name: 'vendor',
        certificatePem: readFileSync(certs.caCert, 'utf8'),
      })
      await tlsPlatform.registry.createDevice({ id: 'device-01' })
      const options = {
        clientId: 'device-01',
        protocolVersion: 5 as const,
        ca: readFileSync(certs.caCert),
        cert: readFileSync(certs.clientCert),
        key: readFileSync(certs.clientKey),
      }
      const mqtts = `mqtts://127.0.0.1:${tlsPlatform.port('MQTT over TLS')}`
      await assert.rejects(connect(mqtts, options), (err: CodeError) => err.code === 0x87)
      await tlsPlatform.identity.registerCertificate('device-01', {
        certificatePem: readFileSync(certs.clientCert, 'utf8'),
      })
      const bound = await connect(mqtts, options)
      await bound.publishAsync('devices/device-01/telemetry', '{"v":1}', { qos: 1 })
      await bound.endAsync()
    } finally {
      await tlsPlatform.close()
    }
  })
})
