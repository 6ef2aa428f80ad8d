// Fuzz of the MQTT request parsers (provisioning by claim, certificate rotation): random and
// mutated payloads each get a reply with ok=false, a code and a message; the platform keeps
// serving, and no device or credential is created by a bad request.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { MqttClient } from 'mqtt'
import { generateKeyAndCsr } from '../../src/identity/x509/index.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { collect, connect, prng, type Received, waitUntil } from './lib.js'

const SEED = 0x5eed03

/** Random bytes, random JSON values, and valid requests with one field mangled. */
function payloads(count: number, validCsr: string): Buffer[] {
  const rand = prng(SEED)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  const junk = (): unknown =>
    pick([null, 0, -1, 1.5e300, '', 'x'.repeat(2000), [], {}, true, { csrPem: 1 }, '\u0000', '-----BEGIN '])
  const out: Buffer[] = []
  for (let i = 0; i < count; i++) {
    switch (i % 4) {
      case 0:
        out.push(Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))))
        break
      case 1:
        out.push(Buffer.from(JSON.stringify(junk())))
        break
      case 2:
        out.push(
          Buffer.from(
            JSON.stringify({ serialNumber: junk(), csrPem: junk(), name: junk(), validityDays: junk() }),
          ),
        )
        break
      default: {
        const csr = Buffer.from(validCsr)
        const at = Math.floor(rand() * csr.length)
        csr[at] = (csr[at] as number) ^ (1 + Math.floor(rand() * 255))
        out.push(Buffer.from(JSON.stringify({ csrPem: csr.toString('latin1'), serialNumber: '../x' })))
      }
    }
  }
  return out
}

async function exchange(
  client: MqttClient,
  got: Received[],
  request: string,
  payload: Buffer,
): Promise<Record<string, unknown>> {
  const before = got.length
  await client.publishAsync(request, payload, { qos: 1 })
  await waitUntil(() => got.length > before, `a reply to ${request}`)
  return JSON.parse(got[before]?.payload.toString() ?? '{}') as Record<string, unknown>
}

describe('device request fuzz', () => {
  let platform: TestPlatform
  let url: string
  let csr: string

  before(async () => {
    platform = await startTestPlatform()
    url = `mqtt://127.0.0.1:${platform.port('MQTT')}`
    csr = (await generateKeyAndCsr('fuzz')).csrPem
  })
  after(() => platform.close())

  test(`provisioning requests: every bad payload gets ok=false with a code (seed ${SEED.toString(16)})`, async () => {
    const { claimToken } = await platform.identity.createTemplate({ id: 'fz', credentialKind: 'certificate' })
    const claimer = await connect(url, {
      clientId: 'fz-1',
      username: 'fz',
      password: claimToken,
      protocolVersion: 5,
    })
    const got = collect(claimer)
    await claimer.subscribeAsync('$strata/provision/fz-1/response', { qos: 1 })
    for (const payload of payloads(120, csr)) {
      const reply = await exchange(claimer, got, '$strata/provision/fz-1/request', payload)
      assert.equal(reply.ok, false, payload.toString('latin1').slice(0, 80))
      assert.match(String(reply.code), /^STRATA_[A-Z0-9_]+$/)
      assert.ok(String(reply.message).length > 0)
    }
    await claimer.endAsync()
    assert.equal(await platform.registry.countDevices(), 0, 'no device created by a bad request')
    assert.equal((await platform.identity.getTemplate('fz')).provisioned, 0, 'no slot spent')
  })

  test('rotation requests: every bad payload is rejected on .../rejected; a good one still works after', async () => {
    await platform.registry.createDevice({ id: 'fz-dev' })
    const { token } = await platform.identity.issueToken('fz-dev')
    const device = await connect(url, {
      clientId: 'fz-dev',
      username: 'fz-dev',
      password: token,
      protocolVersion: 5,
    })
    const got = collect(device)
    await device.subscribeAsync(
      ['devices/fz-dev/certificates/accepted', 'devices/fz-dev/certificates/rejected'],
      { qos: 1 },
    )
    for (const payload of payloads(80, csr)) {
      const reply = await exchange(device, got, 'devices/fz-dev/certificates/create', payload)
      assert.equal(reply.ok, false)
      assert.equal(got.at(-1)?.topic, 'devices/fz-dev/certificates/rejected')
    }
    const good = await exchange(
      device,
      got,
      'devices/fz-dev/certificates/create',
      Buffer.from(JSON.stringify({ csrPem: csr })),
    )
    assert.equal(good.ok, true, JSON.stringify(good))
    assert.equal(
      (await platform.identity.listCredentials('fz-dev')).length,
      2,
      'the token and one certificate',
    )
    await device.endAsync()
  })
})
