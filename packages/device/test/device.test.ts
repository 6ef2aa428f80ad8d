// The device SDK against the real platform in this process (real listeners on port 0):
// token and certificate connects, batched telemetry as a subscriber sees it, events,
// commands and config through a reconnect, provisioning by claim, certificate rotation,
// MQTT 3.1.1 and WebSocket. No mocks: the broker, the ACL and the CA are the platform's.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import type { TelemetryPoint } from '@strata/protocol'
import { generateKeyAndCsr } from '../../platform/src/identity/x509/index.js'
import { testCerts } from '../../platform/test/helpers/certs.js'
import { startTestPlatform, type TestPlatform } from '../../platform/test/helpers/platform.js'
import {
  type Command,
  ConnectionRefusedError,
  connectDevice,
  type DeviceMessage,
  provision,
  RequestRefusedError,
  type StrataDevice,
} from '../src/index.js'
import { FAST_RECONNECT, type Recorder, record, waitUntil } from './helpers.js'

describe('device SDK against the platform', { timeout: 60_000 }, () => {
  let platform: TestPlatform
  let url: string
  let recorder: Recorder
  const devices: StrataDevice[] = []

  /** A registered device with a token, connected through the SDK. */
  async function device(
    id: string,
    extra: Partial<Parameters<typeof connectDevice>[0]> = {},
  ): Promise<StrataDevice> {
    await platform.registry.createDevice({ id })
    const { token } = await platform.identity.issueToken(id)
    const d = await connectDevice(
      { url, deviceId: id, auth: { token }, reconnect: FAST_RECONNECT, ...extra },
      { signal: AbortSignal.timeout(10_000) },
    )
    devices.push(d)
    return d
  }

  before(async () => {
    platform = await startTestPlatform({ allowAnonymous: 'true', 'ws.port': '0' })
    url = `mqtt://127.0.0.1:${platform.port('MQTT')}`
    recorder = await record(url)
  })
  after(async () => {
    await Promise.all(devices.map((d) => d.close()))
    await recorder.close()
    await platform.close()
  })

  test('telemetry goes out as Strata batches at QoS 1, by count and by delay, and decodes back', async () => {
    const d = await device('tel-1', { telemetry: { batchPoints: 50, maxDelayMs: 200 } })
    const sent: TelemetryPoint[] = []
    for (let i = 0; i < 120; i++) {
      const p = {
        metric: i % 2 ? 'env.temp' : 'door',
        ts: 1_714_564_800_000 + i,
        value: i % 2 ? 20 + i / 10 : i % 4 === 0,
      }
      sent.push(p)
      d.telemetry([p])
    }
    d.telemetry({ status: 'ok', rssi: -71 }, { ts: 1_714_564_900_000 })
    sent.push(
      { metric: 'status', ts: 1_714_564_900_000, value: 'ok' },
      { metric: 'rssi', ts: 1_714_564_900_000, value: -71 },
    )
    // Two full batches at once; the remaining 22 points after maxDelayMs, without a flush.
    await waitUntil(() => recorder.points('tel-1').length === sent.length, 'all points at the subscriber')
    assert.deepEqual(recorder.points('tel-1'), sent)
    const batches = recorder.messages.filter((m) => m.topic === 'devices/tel-1/telemetry/batch')
    assert.equal(batches.length, 3)
    for (const b of batches) assert.equal(b.contentType, 'application/vnd.strata.batch')
    // A subscriber can have a message before its publisher has the PUBACK.
    await d.flush(AbortSignal.timeout(5_000))
    const stats = d.stats()
    assert.equal(stats.connected, true)
    assert.equal(stats.sentBatches, 3)
    assert.equal(stats.sentPoints, 122)
    assert.equal(stats.queuedPoints, 0)
    assert.equal(stats.droppedPoints, 0)
  })

  test('JSON format, MQTT 3.1.1 and WebSocket transports carry the same points', async () => {
    const json = await device('tel-json', { telemetry: { format: 'json' } })
    const v4 = await device('tel-v4', { protocolVersion: 4 })
    const ws = await device('tel-ws', {
      url: `ws://127.0.0.1:${platform.port('MQTT over WebSocket')}/mqtt`,
    })
    const points = [
      { metric: 'a', ts: 1_000, value: 1.5 },
      { metric: 'b', ts: 1_000, value: 'x' },
      { metric: 'a', ts: 2_000, value: false },
    ]
    for (const d of [json, v4, ws]) {
      d.telemetry(points)
      await d.flush(AbortSignal.timeout(5_000))
    }
    await waitUntil(
      () => ['tel-json', 'tel-v4', 'tel-ws'].every((id) => recorder.points(id).length === 3),
      'points of the three devices',
    )
    for (const id of ['tel-json', 'tel-v4', 'tel-ws']) assert.deepEqual(recorder.points(id), points, id)
    const jsonMessage = recorder.messages.find((m) => m.topic === 'devices/tel-json/telemetry')
    assert.equal(jsonMessage?.contentType, 'application/json')
    // 3.1.1 has no properties: the topic suffix names the format.
    const v4Message = recorder.messages.find((m) => m.topic === 'devices/tel-v4/telemetry/batch')
    assert.equal(v4Message?.contentType, undefined)
  })

  test('the lifetime signal closes the device', async () => {
    await platform.registry.createDevice({ id: 'life-1' })
    const { token } = await platform.identity.issueToken('life-1')
    const life = new AbortController()
    const d = await connectDevice({ url, deviceId: 'life-1', auth: { token }, signal: life.signal })
    const gone = new Promise((resolve) => d.on('disconnect', resolve))
    life.abort()
    await gone
    assert.equal(d.stats().connected, false)
    assert.throws(() => d.telemetry({ x: 1 }), /closed/)
  })

  test('a wrong token is refused for good at the first connect (no retry loop)', async () => {
    await platform.registry.createDevice({ id: 'bad-tok' })
    for (const protocolVersion of [5, 4] as const) {
      const err = await connectDevice({
        url,
        deviceId: 'bad-tok',
        auth: { token: `sdt_nope_${'A'.repeat(43)}` },
        protocolVersion,
        reconnect: FAST_RECONNECT,
      }).catch((e: unknown) => e)
      assert.ok(err instanceof ConnectionRefusedError, String(err))
      assert.equal(err.permanent, true)
      assert.equal(err.reasonCode, protocolVersion === 5 ? 0x86 : 4)
    }
  })

  test('events, commands and config reach their topics and handlers, also after a reconnect', async () => {
    const d = await device('cmd-1')
    const commands: Command[] = []
    const configs: DeviceMessage[] = []
    d.onCommand((c) => {
      commands.push(c)
    })
    d.onConfig((c) => {
      configs.push(c)
    })
    await d.event('overheat', { celsius: 91 }, { signal: AbortSignal.timeout(5_000) })
    const ev = recorder.messages.find((m) => m.topic === 'devices/cmd-1/events')
    assert.ok(ev)
    assert.deepEqual(
      { ...JSON.parse(ev.payload.toString()), ts: 0 },
      { name: 'overheat', ts: 0, data: { celsius: 91 } },
    )

    // Subscriptions are made in the background: wait until a command gets through.
    await waitUntil(() => {
      recorder.client.publish('devices/cmd-1/commands/valve/open', '{"percent":40}', { qos: 1 })
      return commands.length > 0
    }, 'the first command')
    assert.equal(commands[0]?.name, 'valve/open')
    assert.deepEqual(commands[0]?.json(), { percent: 40 })
    await recorder.client.publishAsync('devices/cmd-1/config', '{"interval":5}', { qos: 1, retain: true })
    await waitUntil(() => configs.length === 1, 'the config')
    assert.deepEqual(configs[0]?.json(), { interval: 5 })

    // The broker drops the connection; the SDK reconnects and subscribes again.
    const reconnected = new Promise<void>((resolve) => {
      const off = d.on('connect', (info) => {
        if (info.reconnect) {
          off()
          resolve()
        }
      })
    })
    assert.equal(
      platform.broker.disconnectWhere((c) => c.clientId === 'cmd-1', 0x98, 'test'),
      1,
    )
    await reconnected
    assert.equal(d.stats().reconnects, 1)
    await waitUntil(() => configs.length === 2, 'the retained config again after the reconnect')
    assert.equal(configs[1]?.retained, true)
    const before = commands.length
    await recorder.client.publishAsync('devices/cmd-1/commands/reboot', 'now', { qos: 1 })
    await waitUntil(() => commands.length === before + 1, 'a command after the reconnect')
    assert.equal(commands.at(-1)?.name, 'reboot')
    assert.equal(commands.at(-1)?.text(), 'now')
  })

  test('provisioning by claim, then connecting as the new identity', async () => {
    await platform.registry.createDeviceType({ id: 'thermostat' })
    const { claimToken } = await platform.identity.createTemplate({
      id: 'factory-b',
      typeId: 'thermostat',
      idPrefix: 'fb-',
    })
    const claim = {
      url,
      templateId: 'factory-b',
      claimToken,
      clientId: 'SN-777',
      serialNumber: 'SN-777',
      name: 'Boiler room',
      signal: AbortSignal.timeout(10_000),
    }
    const got = await provision(claim)
    assert.equal(got.deviceId, 'fb-SN-777')
    assert.match(got.token ?? '', /^sdt_/)
    assert.match(got.caCertificatePem, /BEGIN CERTIFICATE/)
    assert.equal((await platform.registry.getDevice('fb-SN-777')).name, 'Boiler room')

    const self = await connectDevice({ url, deviceId: got.deviceId, auth: { token: got.token ?? '' } })
    devices.push(self)
    self.telemetry({ t: 21 })
    await self.flush(AbortSignal.timeout(5_000))
    await waitUntil(() => recorder.points('fb-SN-777').length === 1, 'the new device telemetry')

    // The same serial again: the platform's code and message come back as the error.
    const again = await provision({
      ...claim,
      clientId: 'SN-777b',
      signal: AbortSignal.timeout(10_000),
    }).catch((e: unknown) => e)
    assert.ok(again instanceof RequestRefusedError, String(again))
    assert.equal(again.replyCode, 'STRATA_REGISTRY_EXISTS')
    // A wrong claim token is refused at CONNECT.
    await assert.rejects(
      provision({ ...claim, clientId: 'SN-9', claimToken: `scl_${'A'.repeat(43)}` }),
      (e: unknown) => e instanceof ConnectionRefusedError && e.reasonCode === 0x86,
    )
    // The signal bounds the whole round trip, connect included.
    await assert.rejects(
      provision({ ...claim, clientId: 'SN-10', serialNumber: 'SN-10', signal: AbortSignal.timeout(1) }),
      (e: unknown) => (e as Error).name === 'TimeoutError',
    )
  })

  test('certificate rotation over MQTT, then mutual TLS with the new certificate', async (t) => {
    const certs = await testCerts(t)
    if (!certs) return
    const tlsPlatform = await startTestPlatform({
      'tls.cert': certs.serverCert,
      'tls.key': certs.serverKey,
      'mqtts.port': '0',
    })
    t.after(() => tlsPlatform.close())
    await tlsPlatform.registry.createDevice({ id: 'rot-1' })
    const { token } = await tlsPlatform.identity.issueToken('rot-1')
    const d = await connectDevice({
      url: `mqtt://127.0.0.1:${tlsPlatform.port('MQTT')}`,
      deviceId: 'rot-1',
      auth: { token },
    })
    const { privateKeyPem, csrPem } = await generateKeyAndCsr('rot-1')
    const cert = await d.rotateCertificate({ csrPem, signal: AbortSignal.timeout(10_000) })
    assert.match(cert.certificatePem, /BEGIN CERTIFICATE/)
    assert.ok(Date.parse(cert.notAfter) > Date.now())
    assert.equal(d.stats().connected, true, 'the token keeps working during the rotation')
    // A second rotation within the minute: the platform's refusal, with its code and message.
    const again = await d
      .rotateCertificate({ csrPem, signal: AbortSignal.timeout(10_000) })
      .catch((e: unknown) => e)
    assert.ok(again instanceof RequestRefusedError, String(again))
    assert.equal(again.replyCode, 'STRATA_REGISTRY_INVALID')
    assert.match(again.message, /a minute/)
    await d.close()

    const mtls = await connectDevice({
      url: `mqtts://127.0.0.1:${tlsPlatform.port('MQTT over TLS')}`,
      deviceId: 'rot-1',
      auth: { cert: cert.certificatePem, key: privateKeyPem, ca: readFileSync(certs.caCert, 'utf8') },
    })
    mtls.telemetry({ over: 'mtls' })
    await mtls.flush(AbortSignal.timeout(5_000))
    assert.equal(mtls.stats().sentPoints, 1)
    await mtls.close()
  })
})
