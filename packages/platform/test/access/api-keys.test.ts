import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { AccessService } from '../../src/access/service.js'
import { NotFoundError, ValidationError } from '../../src/registry/errors.js'
import { PASSWORD, START, withFixture } from './fixture.js'

const at = (ms: number): string => new Date(START.getTime() + ms).toISOString()

async function people(access: AccessService): Promise<void> {
  await access.createUser({ username: 'root', password: PASSWORD, role: 'admin' })
  await access.createUser({ username: 'op', password: PASSWORD, role: 'operator' })
}

test('createApiKey returns the key once; it authenticates with the scopes it was given', () =>
  withFixture({}, async ({ access, db }) => {
    await people(access)
    const { apiKey, key } = await access.createApiKey({
      name: 'ci deploy',
      owner: 'op',
      scopes: ['devices:write', 'devices:read'],
      expiresAt: '2030-02-01T01:00:00+01:00',
    })
    assert.match(apiKey.id, /^ak_[0-9a-f]{16}$/)
    assert.equal(key.split('_')[1], apiKey.id.slice(3), 'the id is in the key')
    assert.match(key, /^stk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
    assert.deepEqual(apiKey, {
      id: apiKey.id,
      name: 'ci deploy',
      owner: 'op',
      scopes: ['devices:read', 'devices:write'],
      createdAt: START.toISOString(),
      expiresAt: '2030-02-01T00:00:00.000Z',
      lastUsedAt: null,
      revokedAt: null,
    })
    assert.deepEqual(await access.authenticate(key), {
      kind: 'apikey',
      keyId: apiKey.id,
      owner: 'op',
      scopes: ['devices:read', 'devices:write'],
    })
    assert.deepEqual(await access.getApiKey(apiKey.id), { ...apiKey, lastUsedAt: START.toISOString() })
    const row = db.db.prepare('SELECT secret_hash FROM api_keys').get() as { secret_hash: string }
    assert.match(row.secret_hash, /^[0-9a-f]{64}$/)
    await assert.rejects(access.getApiKey('ak_0000000000000000'), NotFoundError)
  }))

test('a key cannot have scopes beyond its owner’s role', () =>
  withFixture({}, async ({ access }) => {
    await people(access)
    await assert.rejects(
      access.createApiKey({ name: 'x', owner: 'op', scopes: ['devices:read', 'users:write'] }),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError)
        assert.equal(err.field, 'scopes')
        assert.match(err.message, /users:write exceeds what the operator 'op' may do/)
        return true
      },
    )
    await access.createApiKey({ name: 'x', owner: 'root', scopes: ['users:write'] })
    await assert.rejects(access.createApiKey({ name: 'x', owner: 'ghost', scopes: ['devices:read'] }), {
      field: 'owner',
    })
    await access.updateUser('op', { enabled: false }, 1)
    await assert.rejects(access.createApiKey({ name: 'x', owner: 'op', scopes: ['devices:read'] }), {
      field: 'owner',
    })
  }))

test('a demoted owner’s keys keep only the scopes of the new role; a disabled owner’s stop', () =>
  withFixture({}, async ({ access }) => {
    await people(access)
    const { key } = await access.createApiKey({
      name: 'k',
      owner: 'op',
      scopes: ['devices:read', 'devices:write'],
    })
    assert.equal((await access.authenticate(key))?.scopes.length, 2)
    await access.updateUser('op', { role: 'viewer' }, 1)
    assert.deepEqual((await access.authenticate(key))?.scopes, ['devices:read'])
    await access.updateUser('op', { enabled: false }, 2)
    assert.equal(await access.authenticate(key), null)
  }))

test('revocation takes effect at once, also for a cached key; revoking twice keeps the first time', () =>
  withFixture({}, async ({ access, advance }) => {
    await people(access)
    const a = await access.createApiKey({ name: 'a', owner: 'op', scopes: ['devices:read'] })
    const b = await access.createApiKey({ name: 'b', owner: 'op', scopes: ['devices:read'] })
    assert.ok(await access.authenticate(a.key))
    assert.ok(await access.authenticate(b.key))
    advance(1000)
    const revoked = await access.revokeApiKey(a.apiKey.id)
    assert.equal(revoked.revokedAt, at(1000))
    assert.equal(await access.authenticate(a.key), null)
    assert.ok(await access.authenticate(b.key), 'other keys stay')
    advance(1000)
    assert.equal((await access.revokeApiKey(a.apiKey.id)).revokedAt, at(1000))
    await assert.rejects(access.revokeApiKey('ak_ffffffffffffffff'), NotFoundError)
  }))

test('a verified key is cached for cacheMs, never past its expiry', () =>
  withFixture({}, async ({ access, advance, db }) => {
    await people(access)
    const { key } = await access.createApiKey({ name: 'k', owner: 'op', scopes: ['devices:read'] })
    assert.ok(await access.authenticate(key))
    // Behind the service's back (another process): the cache still answers, for at most 2 s.
    db.db.prepare('DELETE FROM api_keys').run()
    advance(1999)
    assert.ok(await access.authenticate(key), 'no database read')
    advance(1)
    assert.equal(await access.authenticate(key), null)

    const short = await access.createApiKey({
      name: 's',
      owner: 'op',
      scopes: ['devices:read'],
      expiresAt: at(2000 + 500),
    })
    assert.ok(await access.authenticate(short.key))
    advance(500)
    assert.equal(await access.authenticate(short.key), null, 'expired before the cache entry would')
  }))

test('lastUsedAt is written at most once a minute', () =>
  withFixture({ cacheMs: 0 }, async ({ access, advance }) => {
    await people(access)
    const { apiKey, key } = await access.createApiKey({ name: 'k', owner: 'op', scopes: ['devices:read'] })
    await access.authenticate(key)
    advance(59_999)
    await access.authenticate(key)
    assert.equal((await access.getApiKey(apiKey.id)).lastUsedAt, START.toISOString())
    advance(1)
    await access.authenticate(key)
    assert.equal((await access.getApiKey(apiKey.id)).lastUsedAt, at(60_000))
  }))

test('unknown, tampered and malformed bearer tokens authenticate as nobody', () =>
  withFixture({}, async ({ access }) => {
    await people(access)
    const { key } = await access.createApiKey({ name: 'k', owner: 'op', scopes: ['devices:read'] })
    const tampered = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`
    for (const bearer of [
      tampered,
      key.replace(/^stk_[0-9a-f]{16}/, 'stk_0123456789abcdef'),
      `${key}x`,
      'stk_',
      'sst_nope',
      'ssu_nope',
      'Bearer abc',
      '',
      `sst_${'a'.repeat(1000)}`,
      42 as unknown as string,
    ]) {
      assert.equal(await access.authenticate(bearer), null, String(bearer))
    }
  }))

test('listApiKeys lists all keys or one owner’s, in creation order', () =>
  withFixture({}, async ({ access, advance }) => {
    await people(access)
    const one = await access.createApiKey({ name: '1', owner: 'op', scopes: ['devices:read'] })
    advance(1)
    const two = await access.createApiKey({ name: '2', owner: 'root', scopes: ['users:read'] })
    advance(1)
    const three = await access.createApiKey({ name: '3', owner: 'op', scopes: ['audit:read'] })
    const ids = (keys: { id: string }[]) => keys.map((k) => k.id)
    assert.deepEqual(ids(await access.listApiKeys()), ids([one.apiKey, two.apiKey, three.apiKey]))
    assert.deepEqual(ids(await access.listApiKeys('op')), ids([one.apiKey, three.apiKey]))
    assert.deepEqual(await access.listApiKeys('nobody'), [])
  }))
