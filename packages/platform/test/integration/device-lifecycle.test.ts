// A device's life against a running platform, with mqtt.js v5 as the device: token connect
// and status, provisioning by claim then reconnecting as the new identity, certificate
// rotation while connected then mutual TLS with the new certificate, and revocation,
// disabling and deletion cutting connected clients off within seconds.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import type { MqttClient } from 'mqtt'
import { generateKeyAndCsr } from '../../src/identity/x509/index.js'
import { testCerts } from '../helpers/certs.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { collect, connect, waitUntil } from './lib.js'

type Reply = Record<string, unknown> & { ok: boolean }

/** Subscribes to `responseTopic`, publishes `body` to `requestTopic`, resolves with the JSON reply. */
async function request(
  client: MqttClient,
  requestTopic: string,
  responseTopic: string,
  body: unknown,
): Promise<Reply> {
  const got = collect(client)
  await client.subscribeAsync(responseTopic, { qos: 1 })
  await client.publishAsync(requestTopic, JSON.stringify(body), {
    qos: 1,
    properties: { correlationData: Buffer.from('req-1') },
  })
  const isReply = (m: { topic: string }): boolean =>
    m.topic !== requestTopic && m.topic.startsWith(responseTopic.replace('#', ''))
  await waitUntil(() => got.some(isReply), `a reply on ${responseTopic}`)
  const reply = got.find(isReply)
  assert.equal(reply?.packet.properties?.correlationData?.toString(), 'req-1', 'correlation data is echoed')
  return JSON.parse(reply?.payload.toString() ?? '{}') as Reply
}

/** Resolves with the DISCONNECT reason code the server sends, or 'closed' if it just closes. */
function serverDisconnect(client: MqttClient): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    client.once('disconnect', (packet) => resolve(packet.reasonCode ?? 0))
    client.once('close', () => resolve('closed'))
  })
}

describe('device lifecycle', () => {
  let platform: TestPlatform
  let url: string

  before(async () => {
    platform = await startTestPlatform()
    url = `mqtt://127.0.0.1:${platform.port('MQTT')}`
    await platform.registry.createDeviceType({ id: 'thermostat' })
    await platform.registry.createGroup({ id: 'site-a' })
  })
  after(() => platform.close())

  test('a device connects with its token: status goes online, then offline with last-seen', async () => {
    await platform.registry.createDevice({ id: 'st-1' })
    const { token } = await platform.identity.issueToken('st-1')
    const client = await connect(url, {
      clientId: 'st-1',
      username: 'st-1',
      password: token,
      protocolVersion: 5,
    })
    await new Promise((r) => setTimeout(r, 2500)) // one status flush (2 s)
    const online = await platform.registry.getStatus('st-1')
    assert.equal(online.online, true)
    assert.ok(online.lastSeen)
    await client.endAsync()
    await new Promise((r) => setTimeout(r, 2500))
    const offline = await platform.registry.getStatus('st-1')
    assert.equal(offline.online, false)
    assert.ok((offline.lastSeen ?? '') >= (online.lastSeen ?? ''))
  })

  test('provisioning by claim: a factory-fresh device gets an id and token, then reconnects as itself', async () => {
    const { claimToken } = await platform.identity.createTemplate({
      id: 'factory-a',
      typeId: 'thermostat',
      groups: ['site-a'],
      tags: { batch: 'b7' },
      maxDevices: 2,
    })
    const claimer = await connect(url, {
      clientId: 'SN-0001',
      username: 'factory-a',
      password: claimToken,
      protocolVersion: 5,
    })
    // The claim credential can do nothing but ask for its identity.
    const refused = await claimer
      .subscribeAsync('#', { qos: 1 })
      .catch((e: { packet?: { granted?: number[] } }) => e)
    assert.ok(!Array.isArray(refused), 'a claim client cannot subscribe to #')
    await assert.rejects(claimer.publishAsync('devices/x/telemetry', '1', { qos: 1 }))
    const reply = await request(
      claimer,
      '$strata/provision/SN-0001/request',
      '$strata/provision/SN-0001/response',
      { serialNumber: 'SN-0001', name: 'Hall thermostat' },
    )
    await claimer.endAsync()
    assert.equal(reply.ok, true, JSON.stringify(reply))
    assert.equal(reply.deviceId, 'factory-a-SN-0001')
    assert.match(String(reply.token), /^sdt_/)
    const device = await platform.registry.getDevice('factory-a-SN-0001')
    assert.equal(device.typeId, 'thermostat')
    assert.deepEqual(device.groups, ['site-a'])
    assert.deepEqual(device.tags, { batch: 'b7' })
    assert.equal(device.name, 'Hall thermostat')

    const self = await connect(url, {
      clientId: 'factory-a-SN-0001',
      username: 'factory-a-SN-0001',
      password: String(reply.token),
      protocolVersion: 5,
    })
    await self.publishAsync('devices/factory-a-SN-0001/telemetry', '{"t":21}', { qos: 1 })
    await self.endAsync()

    // The same serial again is refused with a reason; the template's count is not spent by it.
    const again = await connect(url, {
      clientId: 'SN-0001b',
      username: 'factory-a',
      password: claimToken,
      protocolVersion: 5,
    })
    const dup = await request(
      again,
      '$strata/provision/SN-0001b/request',
      '$strata/provision/SN-0001b/response',
      {
        serialNumber: 'SN-0001',
      },
    )
    await again.endAsync()
    assert.equal(dup.ok, false)
    assert.equal(dup.code, 'STRATA_REGISTRY_EXISTS')
    assert.equal((await platform.identity.getTemplate('factory-a')).provisioned, 1)
    // A wrong claim token is refused at CONNECT.
    await assert.rejects(
      connect(url, {
        clientId: 'SN-9',
        username: 'factory-a',
        password: `scl_${'A'.repeat(43)}`,
        protocolVersion: 5,
      }),
      (err: Error & { code?: number }) => err.code === 0x86,
    )
  })

  test('certificate rotation while connected, then mutual TLS with the new certificate', async (t) => {
    const certs = await testCerts(t)
    if (!certs) return
    const tlsPlatform = await startTestPlatform({
      'tls.cert': certs.serverCert,
      'tls.key': certs.serverKey,
      'mqtts.port': '0',
    })
    try {
      await tlsPlatform.registry.createDevice({ id: 'rot-1' })
      const { token } = await tlsPlatform.identity.issueToken('rot-1')
      const tcp = `mqtt://127.0.0.1:${tlsPlatform.port('MQTT')}`
      const client = await connect(tcp, {
        clientId: 'rot-1',
        username: 'rot-1',
        password: token,
        protocolVersion: 5,
      })
      const { privateKeyPem, csrPem } = await generateKeyAndCsr('ignored-cn')
      const reply = await request(
        client,
        'devices/rot-1/certificates/create',
        'devices/rot-1/certificates/#',
        { csrPem },
      )
      assert.equal(reply.ok, true, JSON.stringify(reply))
      assert.ok(client.connected, 'the old credential keeps working during rotation')
      await client.endAsync()

      const mtls = await connect(`mqtts://127.0.0.1:${tlsPlatform.port('MQTT over TLS')}`, {
        clientId: 'rot-1',
        protocolVersion: 5,
        ca: readFileSync(certs.caCert),
        cert: String(reply.certificatePem),
        key: privateKeyPem,
        rejectUnauthorized: true,
      })
      await mtls.publishAsync('devices/rot-1/telemetry', '{"over":1}', { qos: 1 })
      // Revoking the certificate cuts the connection at once and refuses the next one.
      const cut = serverDisconnect(mtls)
      await tlsPlatform.identity.revokeCredential(String(reply.credentialId), 'rotated out')
      assert.ok([0x87, 'closed'].includes(await cut))
      await assert.rejects(
        connect(`mqtts://127.0.0.1:${tlsPlatform.port('MQTT over TLS')}`, {
          clientId: 'rot-1',
          protocolVersion: 5,
          ca: readFileSync(certs.caCert),
          cert: String(reply.certificatePem),
          key: privateKeyPem,
        }),
        (err: Error & { code?: number }) => err.code === 0x87,
      )
    } finally {
      await tlsPlatform.close()
    }
  })

  for (const [what, act] of [
    [
      'revoking its token',
      (p: TestPlatform, credentialId: string) => p.identity.revokeCredential(credentialId),
    ],
    ['disabling it', (p: TestPlatform) => p.registry.updateDevice('cut-2', { enabled: false }, 1)],
    ['deleting it', (p: TestPlatform) => p.registry.deleteDevice('cut-3')],
  ] as const) {
    test(`${what} disconnects the connected device at once (DISCONNECT 0x87) and refuses it after`, async () => {
      const id = what.startsWith('revoking') ? 'cut-1' : what.startsWith('disabling') ? 'cut-2' : 'cut-3'
      await platform.registry.createDevice({ id })
      const { token, credential } = await platform.identity.issueToken(id)
      const client = await connect(url, { clientId: id, username: id, password: token, protocolVersion: 5 })
      const cut = serverDisconnect(client)
      const started = Date.now()
      await act(platform, credential.id)
      assert.equal(await cut, 0x87)
      assert.ok(Date.now() - started < 2000)
      await assert.rejects(connect(url, { clientId: id, username: id, password: token, protocolVersion: 5 }))
    })
  }
})
