import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PASSWORD, withFixture } from './fixture.js'

test('no password, secret or hash appears in what the service returns, or unhashed in the database', () =>
  withFixture({}, async ({ access, db }) => {
    const returned: unknown[] = []
    const keep = <T>(value: T): T => {
      returned.push(value)
      return value
    }
    const setup = await access.createSetupToken(3600_000)
    keep(await access.completeSetup(setup, { username: 'root', password: PASSWORD }))
    keep(await access.createUser({ username: 'op', password: 'operator passphrase', role: 'operator' }))
    keep(await access.updateUser('op', { password: 'another passphrase' }, 1))
    // The secret is returned once, in `token` / `key` by design; everything else must not hold it.
    const { token, ...login } = await access.login('root', PASSWORD, '::1')
    keep(login)
    const { key, apiKey } = await access.createApiKey({ name: 'k', owner: 'op', scopes: ['devices:read'] })
    keep(apiKey)
    keep(await access.authenticate(token))
    keep(await access.authenticate(key))
    keep(await access.getUser('op'))
    keep(await access.listUsers())
    keep(await access.getApiKey(apiKey.id))
    keep(await access.listApiKeys())
    keep(await access.revokeApiKey(apiKey.id))

    const stored = [
      ...(db.db.prepare('SELECT password_hash AS h FROM users').all() as { h: string }[]),
      ...(db.db.prepare('SELECT secret_hash AS h FROM api_keys').all() as { h: string }[]),
      ...(db.db.prepare('SELECT token_hash AS h FROM sessions').all() as { h: string }[]),
    ].map((r) => r.h)
    assert.equal(stored.length, 4)
    const text = JSON.stringify(returned)
    const secrets = [PASSWORD, 'operator passphrase', 'another passphrase', token, key, setup, 'scrypt']
    for (const secret of [...secrets, ...stored, key.split('_')[2] as string]) {
      assert.ok(!text.includes(secret), `returned objects hold ${secret}`)
    }
    // And the database holds none of the secrets in the clear.
    const dump = JSON.stringify(
      ['users', 'api_keys', 'sessions', 'setup_tokens'].map((t) => db.db.prepare(`SELECT * FROM ${t}`).all()),
    )
    for (const secret of secrets.slice(0, -1))
      assert.ok(!dump.includes(secret), `the database holds ${secret}`)
  }))
