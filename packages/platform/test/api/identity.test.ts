import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { generateKeyAndCsr, loadOrCreatePlatformCa } from '../../src/identity/x509/index.js'
import { createFixture, type Fixture } from './fixture.js'

describe('API: credentials, certificate authorities, templates, grants', () => {
  let f: Fixture
  let token: string
  let dir: string
  before(async () => {
    f = await createFixture()
    token = f.tokens.operator
    dir = await mkdtemp(join(tmpdir(), 'strata-api-ca-'))
    assert.equal((await f.send('POST', '/api/devices', { token, body: { id: 'cam-1' } })).status, 201)
  })
  after(async () => {
    await f.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('token credential: the secret once, then listed without it, then revoked', async () => {
    const issued = await f.send('POST', '/api/devices/cam-1/credentials', {
      token,
      body: { kind: 'token', label: 'factory' },
    })
    assert.equal(issued.status, 201, issued.body)
    assert.match(String(issued.json.token), /^sdt_/)
    const credential = issued.json.credential as { id: string; label: string }
    assert.equal(credential.label, 'factory')

    const list = await f.send('GET', '/api/devices/cam-1/credentials', { token: f.tokens.viewer })
    assert.equal(list.status, 200)
    assert.ok(!list.body.includes(String(issued.json.token)))
    assert.deepEqual(
      (list.json.items as { id: string }[]).map((c) => c.id),
      [credential.id],
    )

    const revoked = await f.send('POST', `/api/credentials/${credential.id}/revoke`, {
      token,
      body: { reason: 'lost' },
    })
    assert.equal(revoked.status, 200, revoked.body)
    assert.equal(revoked.json.revokedReason, 'lost')
    const got = await f.send('GET', `/api/credentials/${credential.id}`, { token })
    assert.ok(got.json.revokedAt)
    const viewerRevokes = await f.send('POST', `/api/credentials/${credential.id}/revoke`, {
      token: f.tokens.viewer,
      body: {},
    })
    assert.equal(viewerRevokes.status, 403)
    assert.equal(
      (await f.send('POST', '/api/devices/ghost/credentials', { token, body: { kind: 'token' } })).status,
      404,
    )
  })

  test('certificate from a CSR, signed by the platform CA with CN = device id', async () => {
    const { csrPem } = await generateKeyAndCsr('whatever-the-device-asks')
    const issued = await f.send('POST', '/api/devices/cam-1/credentials', {
      token,
      body: { kind: 'certificate', csrPem, validityDays: 30 },
    })
    assert.equal(issued.status, 201, issued.body)
    const cert = issued.json.certificate as { fingerprint: string; pem: string }
    assert.match(cert.fingerprint, /^[0-9a-f]{64}$/)
    assert.equal(issued.json.token, undefined)
    const garbage = await f.send('POST', '/api/devices/cam-1/credentials', {
      token,
      body: { kind: 'certificate', csrPem: 'not a csr' },
    })
    assert.equal(garbage.status, 400)
    assert.ok(['STRATA_REGISTRY_INVALID', 'STRATA_X509_INVALID'].includes(String(garbage.json.code)))
    const mixed = await f.send('POST', '/api/devices/cam-1/credentials', {
      token,
      body: { kind: 'token', csrPem },
    })
    assert.equal(mixed.status, 400)
  })

  test('operator CA: register, bind one of its certificates, refuse removing the platform CA', async () => {
    const operatorCa = await loadOrCreatePlatformCa(join(dir, 'op'), { commonName: 'Operator CA' })
    const registered = await f.send('POST', '/api/certificate-authorities', {
      token,
      body: { name: 'factory CA', certificatePem: operatorCa.certificatePem },
    })
    assert.equal(registered.status, 201, registered.body)
    const caId = String(registered.json.id)
    const list = await f.send('GET', '/api/certificate-authorities', { token })
    const platform = (list.json.items as { id: string; platform: boolean }[]).find((a) => a.platform)
    assert.ok(platform)
    assert.equal((list.json.items as unknown[]).length, 2)

    const { csrPem } = await generateKeyAndCsr('cam-1')
    const signed = await operatorCa.signCsr(csrPem, { commonName: 'cam-1' })
    const bound = await f.send('POST', '/api/devices/cam-1/credentials', {
      token,
      body: { kind: 'certificate', certificatePem: signed.pem, label: 'factory' },
    })
    assert.equal(bound.status, 201, bound.body)
    assert.equal((bound.json.certificate as { issuerId: string }).issuerId, caId)

    const removePlatform = await f.send('DELETE', `/api/certificate-authorities/${platform.id}`, { token })
    assert.equal(removePlatform.status, 409)
    assert.equal((await f.send('GET', `/api/certificate-authorities/${caId}`, { token })).status, 200)
    assert.equal((await f.send('DELETE', `/api/certificate-authorities/${caId}`, { token })).status, 204)
  })

  test('provisioning templates: claim token once, ETag, If-Match, delete', async () => {
    const created = await f.send('POST', '/api/provisioning-templates', {
      token,
      body: { id: 'line-a', tags: { site: 'lyon' }, maxDevices: 10 },
    })
    assert.equal(created.status, 201, created.body)
    assert.match(String(created.json.claimToken), /^scl_/)
    assert.equal(created.headers.etag, '"1"')
    const got = await f.send('GET', '/api/provisioning-templates/line-a', { token: f.tokens.viewer })
    assert.equal(got.headers.etag, '"1"')
    assert.ok(!got.body.includes(String(created.json.claimToken)))
    const patched = await f.send('PATCH', '/api/provisioning-templates/line-a', {
      token,
      body: { enabled: false },
      headers: { 'if-match': '"1"' },
    })
    assert.equal(patched.status, 200, patched.body)
    assert.equal(patched.json.enabled, false)
    assert.equal(patched.headers.etag, '"2"')
    assert.equal(
      (
        await f.send('DELETE', '/api/provisioning-templates/line-a', {
          token,
          headers: { 'if-match': '"1"' },
        })
      ).status,
      412,
    )
    assert.equal(
      Array.isArray((await f.send('GET', '/api/provisioning-templates', { token })).json.items),
      true,
    )
    assert.equal((await f.send('DELETE', '/api/provisioning-templates/line-a', { token })).status, 204)
  })

  test('grants: add, list, refuse $ topics, remove', async () => {
    const added = await f.send('POST', '/api/devices/cam-1/grants', {
      token,
      body: { topicFilter: 'site/lyon/#', access: 'subscribe' },
    })
    assert.equal(added.status, 201, added.body)
    const dollar = await f.send('POST', '/api/devices/cam-1/grants', {
      token,
      body: { topicFilter: '$SYS/#', access: 'subscribe' },
    })
    assert.equal(dollar.status, 400)
    assert.equal(dollar.json.field, 'topicFilter')
    const list = await f.send('GET', '/api/devices/cam-1/grants', { token })
    assert.equal((list.json.items as unknown[]).length, 1)
    assert.equal((await f.send('DELETE', `/api/grants/${added.json.id}`, { token })).status, 204)
    assert.equal((await f.send('DELETE', `/api/grants/${added.json.id}`, { token })).status, 404)
  })
})
