import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createFixture, type Fixture, PASSWORDS } from './fixture.js'

describe('API: setup, login, users, API keys, scopes', () => {
  let f: Fixture
  before(async () => {
    f = await createFixture()
  })
  after(() => f.close())

  test('setup works once: a second attempt is refused', async () => {
    const again = await f.send('POST', '/api/setup', {
      body: { token: 'ssu_whatever', username: 'mallory', password: 'mallory-password-1' },
    })
    assert.equal(again.status, 401)
    assert.equal(again.json.code, 'STRATA_ACCESS_DENIED')
    assert.equal(again.headers['www-authenticate'], 'Bearer')
  })

  test('login returns a session token; wrong password is 401 without saying which part was wrong', async () => {
    const ok = await f.send('POST', '/api/auth/login', {
      body: { username: 'viewer', password: PASSWORDS.viewer },
    })
    assert.equal(ok.status, 200, ok.body)
    assert.match(String(ok.json.token), /^sst_/)
    assert.equal((ok.json.user as { role: string }).role, 'viewer')
    assert.equal((ok.json.user as Record<string, unknown>).password, undefined)

    const wrong = await f.send('POST', '/api/auth/login', {
      body: { username: 'viewer', password: 'not-the-password' },
    })
    const nobody = await f.send('POST', '/api/auth/login', {
      body: { username: 'nobody', password: 'not-the-password' },
    })
    assert.equal(wrong.status, 401)
    assert.equal(nobody.status, 401)
    assert.equal(wrong.json.message, nobody.json.message)

    const me = await f.send('GET', '/api/auth/me', { token: String(ok.json.token) })
    assert.deepEqual(me.json, {
      kind: 'user',
      username: 'viewer',
      role: 'viewer',
      scopes: ['devices:read', 'telemetry:read'],
    })

    const out = await f.send('POST', '/api/auth/logout', { token: String(ok.json.token) })
    assert.equal(out.status, 204)
  })

  test('a user changes their own password: the old sessions end, a new one is returned', async () => {
    const made = await f.send('POST', '/api/users', {
      token: f.tokens.admin,
      body: { username: 'changer', password: 'first-password-1', role: 'viewer' },
    })
    assert.equal(made.status, 201, made.body)
    const login = await f.send('POST', '/api/auth/login', {
      body: { username: 'changer', password: 'first-password-1' },
    })
    const old = String(login.json.token)
    const wrong = await f.send('POST', '/api/auth/password', {
      token: old,
      body: { currentPassword: 'not-the-current-1', newPassword: 'second-password-2' },
    })
    assert.equal(wrong.status, 401)
    const changed = await f.send('POST', '/api/auth/password', {
      token: old,
      body: { currentPassword: 'first-password-1', newPassword: 'second-password-2' },
    })
    assert.equal(changed.status, 200, changed.body)
    assert.equal((await f.send('GET', '/api/auth/me', { token: old })).status, 401, 'the old session ended')
    assert.equal((await f.send('GET', '/api/auth/me', { token: String(changed.json.token) })).status, 200)
    const again = await f.send('POST', '/api/auth/login', {
      body: { username: 'changer', password: 'second-password-2' },
    })
    assert.equal(again.status, 200)
    assert.equal((await f.send('DELETE', '/api/users/changer', { token: f.tokens.admin })).status, 204)
  })

  test('too many failed logins: 429 with Retry-After', async () => {
    let last = await f.send('POST', '/api/auth/login', {
      body: { username: 'ghost', password: 'x'.repeat(12) },
    })
    for (let i = 0; i < 10 && last.status !== 429; i++) {
      last = await f.send('POST', '/api/auth/login', {
        body: { username: 'ghost', password: 'x'.repeat(12) },
      })
    }
    assert.equal(last.status, 429)
    assert.equal(last.json.code, 'STRATA_ACCESS_RATE_LIMITED')
    assert.ok(Number(last.headers['retry-after']) >= 1)
  })

  test('no token is 401; an unknown token is 401; a missing scope is 403 naming it', async () => {
    const none = await f.send('GET', '/api/devices')
    assert.equal(none.status, 401)
    assert.equal(none.json.code, 'STRATA_API_UNAUTHENTICATED')
    assert.equal(none.headers['www-authenticate'], 'Bearer')
    const unknown = await f.send('GET', '/api/devices', { token: 'sst_nope' })
    assert.equal(unknown.status, 401)
    const basic = await f.send('GET', '/api/devices', { headers: { authorization: 'Basic YTpi' } })
    assert.equal(basic.status, 401)

    const viewerWrites = await f.send('POST', '/api/devices', { token: f.tokens.viewer, body: { id: 'v-1' } })
    assert.equal(viewerWrites.status, 403)
    assert.equal(viewerWrites.json.code, 'STRATA_API_FORBIDDEN')
    assert.match(String(viewerWrites.json.message), /devices:write/)
    assert.equal((await f.send('GET', '/api/devices', { token: f.tokens.viewer })).status, 200)

    const operatorUsers = await f.send('POST', '/api/users', {
      token: f.tokens.operator,
      body: { username: 'eve', password: 'eve-password-123', role: 'admin' },
    })
    assert.equal(operatorUsers.status, 403)
    assert.match(String(operatorUsers.json.message), /users:write/)
    assert.equal((await f.send('GET', '/api/users', { token: f.tokens.operator })).status, 403)
    assert.equal((await f.send('GET', '/api/audit', { token: f.tokens.viewer })).status, 403)
  })

  test('users: create, get with ETag, patch with If-Match, last admin protected, delete', async () => {
    const admin = f.tokens.admin
    const created = await f.send('POST', '/api/users', {
      token: admin,
      body: { username: 'carol', password: 'carol-password-123', role: 'viewer' },
    })
    assert.equal(created.status, 201, created.body)
    assert.equal(created.headers.etag, '"1"')
    const weak = await f.send('POST', '/api/users', {
      token: admin,
      body: { username: 'dave', password: 'short-pw', role: 'viewer' },
    })
    assert.equal(weak.status, 400)
    assert.equal(weak.json.field, 'password')

    const list = await f.send('GET', '/api/users', { token: admin })
    assert.deepEqual((list.json.items as { username: string }[]).map((u) => u.username).sort(), [
      'admin',
      'carol',
      'operator',
      'viewer',
    ])
    const promoted = await f.send('PATCH', '/api/users/carol', {
      token: admin,
      body: { role: 'operator' },
      headers: { 'if-match': '"1"' },
    })
    assert.equal(promoted.status, 200)
    assert.equal(promoted.json.role, 'operator')
    const stale = await f.send('PATCH', '/api/users/carol', {
      token: admin,
      body: { enabled: false },
      headers: { 'if-match': '"1"' },
    })
    assert.equal(stale.status, 412)

    const lastAdmin = await f.send('DELETE', '/api/users/admin', { token: admin })
    assert.equal(lastAdmin.status, 409)
    assert.equal(lastAdmin.json.code, 'STRATA_REGISTRY_IN_USE')

    assert.equal((await f.send('DELETE', '/api/users/carol', { token: admin })).status, 204)
    assert.equal((await f.send('GET', '/api/users/carol', { token: admin })).status, 404)
  })

  test('API keys: created once with the secret, scopes bounded by the creator, revocable', async () => {
    const made = await f.send('POST', '/api/api-keys', {
      token: f.tokens.operator,
      body: { name: 'ci', scopes: ['devices:read', 'devices:write'] },
    })
    assert.equal(made.status, 201, made.body)
    const key = String(made.json.key)
    const apiKey = made.json.apiKey as { id: string; owner: string; scopes: string[] }
    assert.match(key, /^stk_/)
    assert.equal(apiKey.owner, 'operator')

    const me = await f.send('GET', '/api/auth/me', { token: key })
    assert.equal(me.json.kind, 'apikey')
    assert.equal(me.json.keyId, apiKey.id)
    assert.equal((await f.send('POST', '/api/devices', { token: key, body: { id: 'by-key' } })).status, 201)
    assert.equal((await f.send('GET', '/api/audit', { token: key })).status, 403)

    // A key cannot mint a key with more than it has, nor can a user exceed their role.
    const wider = await f.send('POST', '/api/api-keys', {
      token: key,
      body: { name: 'escalate', scopes: ['audit:read'] },
    })
    assert.equal(wider.status, 403)
    const beyondRole = await f.send('POST', '/api/api-keys', {
      token: f.tokens.viewer,
      body: { name: 'escalate', scopes: ['devices:write'] },
    })
    assert.equal(beyondRole.status, 403)
    const forOther = await f.send('POST', '/api/api-keys', {
      token: f.tokens.operator,
      body: { name: 'x', scopes: ['devices:read'], owner: 'viewer' },
    })
    assert.equal(forOther.status, 403)
    const adminForViewer = await f.send('POST', '/api/api-keys', {
      token: f.tokens.admin,
      body: { name: 'dash', scopes: ['devices:read'], owner: 'viewer' },
    })
    assert.equal(adminForViewer.status, 201, adminForViewer.body)
    const viewerKeyId = (adminForViewer.json.apiKey as { id: string }).id

    // Own keys only, unless users:read; someone else's key is a 404 to the operator.
    const own = await f.send('GET', '/api/api-keys', { token: f.tokens.operator })
    assert.deepEqual(
      (own.json.items as { id: string }[]).map((k) => k.id),
      [apiKey.id],
    )
    assert.equal(
      (await f.send('GET', `/api/api-keys/${viewerKeyId}`, { token: f.tokens.operator })).status,
      404,
    )
    assert.equal(
      (await f.send('GET', '/api/api-keys?owner=viewer', { token: f.tokens.operator })).status,
      403,
    )
    const all = await f.send('GET', '/api/api-keys', { token: f.tokens.admin })
    assert.equal((all.json.items as unknown[]).length, 2)
    const got = await f.send('GET', `/api/api-keys/${apiKey.id}`, { token: f.tokens.operator })
    assert.equal(got.status, 200)
    assert.equal(got.json.key, undefined)

    const revoked = await f.send('DELETE', `/api/api-keys/${apiKey.id}`, { token: f.tokens.operator })
    assert.equal(revoked.status, 200)
    assert.ok(revoked.json.revokedAt)
    // The fixture turns the access service's token cache off, so the revocation holds at once.
    assert.equal((await f.send('GET', '/api/devices', { token: key })).status, 401)
  })

  test('logout with an API key is refused with a hint', async () => {
    const made = await f.send('POST', '/api/api-keys', {
      token: f.tokens.viewer,
      body: { name: 'ro', scopes: ['devices:read'] },
    })
    const out = await f.send('POST', '/api/auth/logout', { token: String(made.json.key) })
    assert.equal(out.status, 400)
    assert.match(String(out.json.message), /api-keys/)
  })
})
