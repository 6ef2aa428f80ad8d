// Registered devices driven by Debian's mosquitto_pub and mosquitto_sub (issue 3): with the
// device id and its token as username and password, and with a client certificate the
// platform CA issued; each confined to its own namespace.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, type TestContext, test } from 'node:test'
import { generateKeyAndCsr } from '../../src/identity/x509/index.js'
import { testCerts } from '../helpers/certs.js'
import { requireTool } from '../helpers/peers.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { runTool, spawnTool } from './lib.js'

function tools(t: TestContext): boolean {
  return Boolean(requireTool(t, 'mosquitto_pub') && requireTool(t, 'mosquitto_sub'))
}

describe('mosquitto clients as registered devices', { timeout: 60_000 }, () => {
  let platform: TestPlatform
  let token: string

  before(async () => {
    platform = await startTestPlatform()
    await platform.registry.createDevices([{ id: 'mosq-1' }, { id: 'mosq-2' }])
    token = (await platform.identity.issueToken('mosq-1')).token
  })
  after(() => platform.close())

  const auth = (id: string, password: string): string[] => [
    '-h',
    '127.0.0.1',
    '-p',
    String(platform.port('MQTT')),
    '-i',
    id,
    '-u',
    id,
    '-P',
    password,
  ]

  for (const version of ['mqttv311', 'mqttv5'] as const) {
    test(`${version}: device id + token; a message round-trips inside its namespace`, async (t) => {
      if (!tools(t)) return
      const sub = spawnTool('mosquitto_sub', [
        ...auth('mosq-1', token),
        '-V',
        version,
        '-d',
        '-t',
        'devices/mosq-1/commands/#',
        '-C',
        '1',
        '-W',
        '10',
      ])
      await sub.waitFor(/received SUBACK/)
      // A second connection of the same device would take over its session: publish as the
      // platform instead, the way a command is sent.
      await platform.broker.publish({
        topic: 'devices/mosq-1/commands/reboot',
        payload: Buffer.from('now'),
        qos: 1,
        retain: false,
      })
      const done = await sub.exited
      assert.equal(done.code, 0, done.stderr)
      assert.match(done.stdout, /^now$/m)

      const pub = await runTool('mosquitto_pub', [
        ...auth('mosq-1', token),
        '-V',
        version,
        '-q',
        '1',
        '-t',
        'devices/mosq-1/telemetry',
        '-m',
        '{"temperature": 21.5}',
      ])
      assert.equal(pub.code, 0, pub.stderr)
    })

    test(`${version}: a wrong token is refused at CONNECT`, async (t) => {
      if (!tools(t)) return
      const bad = `sdt_${'0'.repeat(16)}_${'A'.repeat(43)}`
      const pub = await runTool('mosquitto_pub', [
        ...auth('mosq-1', bad),
        '-V',
        version,
        '-t',
        'devices/mosq-1/x',
        '-m',
        '1',
      ])
      assert.notEqual(pub.code, 0)
      assert.match(pub.stderr, /not authori[sz]ed|bad user name or password|Connection Refused/i)
    })
  }

  test("mqttv5: a subscription to another device's topics is refused (SUBACK 0x87)", async (t) => {
    if (!tools(t)) return
    const sub = await runTool('mosquitto_sub', [
      ...auth('mosq-1', token),
      '-V',
      'mqttv5',
      '-d',
      '-t',
      'devices/mosq-2/#',
      '-W',
      '3',
    ])
    assert.match(sub.stdout + sub.stderr, /(Subscription denied|received SUBACK[\s\S]*(135|0x87|denied))/i)
  })

  test('a client certificate issued by the platform CA authenticates the device over TLS', async (t) => {
    if (!tools(t)) return
    const certs = await testCerts(t)
    if (!certs) return
    const tlsPlatform = await startTestPlatform({
      'tls.cert': certs.serverCert,
      'tls.key': certs.serverKey,
      'mqtts.port': '0',
    })
    try {
      await tlsPlatform.registry.createDevice({ id: 'mosq-tls' })
      const { privateKeyPem, csrPem } = await generateKeyAndCsr('mosq-tls')
      const credential = await tlsPlatform.identity.issueCertificate('mosq-tls', { csrPem })
      const cert = join(tlsPlatform.dataDir, 'device.pem')
      const key = join(tlsPlatform.dataDir, 'device.key')
      await writeFile(cert, credential.certificate?.pem ?? '')
      await writeFile(key, privateKeyPem, { mode: 0o600 })
      const tls = [
        '-h',
        '127.0.0.1',
        '-p',
        String(tlsPlatform.port('MQTT over TLS')),
        '--cafile',
        certs.caCert,
        '--cert',
        cert,
        '--key',
        key,
        '-i',
        'mosq-tls',
        '-V',
        'mqttv5',
      ]
      const sub = spawnTool('mosquitto_sub', [
        ...tls,
        '-d',
        '-t',
        'devices/mosq-tls/commands/#',
        '-C',
        '1',
        '-W',
        '10',
      ])
      await sub.waitFor(/received SUBACK/)
      await tlsPlatform.broker.publish({
        topic: 'devices/mosq-tls/commands/ping',
        payload: Buffer.from('pong'),
        qos: 1,
        retain: false,
      })
      const done = await sub.exited
      assert.equal(done.code, 0, done.stderr)
      assert.match(done.stdout, /^pong$/m)
      // The same certificate with another client id is refused: a device connects as itself.
      const other = await runTool('mosquitto_pub', [
        ...tls.slice(0, -4),
        '-i',
        'someone-else',
        '-V',
        'mqttv5',
        '-t',
        'x',
        '-m',
        '1',
      ])
      assert.notEqual(other.code, 0)
    } finally {
      await tlsPlatform.close()
    }
  })
})
