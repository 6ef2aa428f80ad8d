import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { NewApiKey, NewUser } from '../../src/access/model.js'
import type { AccessService } from '../../src/access/service.js'
import { ValidationError } from '../../src/registry/errors.js'
import { fixture, PASSWORD, withFixture } from './fixture.js'

const user: NewUser = { username: 'op', password: PASSWORD, role: 'operator' }
const key: NewApiKey = { name: 'k', owner: 'op', scopes: ['devices:read'] }

/** Each refused before any password is hashed, so the table costs no scrypt. */
const BAD: Array<[string, string, (a: AccessService) => Promise<unknown>]> = [
  ['username', 'empty', (a) => a.createUser({ ...user, username: '' })],
  ['username', 'upper case', (a) => a.createUser({ ...user, username: 'Alice' })],
  ['username', 'leading dot', (a) => a.createUser({ ...user, username: '.alice' })],
  ['username', 'with @', (a) => a.createUser({ ...user, username: 'alice@example.com' })],
  ['username', 'with a space', (a) => a.createUser({ ...user, username: 'al ice' })],
  ['username', '65 characters', (a) => a.createUser({ ...user, username: 'a'.repeat(65) })],
  ['username', 'not a string', (a) => a.createUser({ ...user, username: 7 as never })],
  ['password', '11 characters', (a) => a.createUser({ ...user, password: 'x'.repeat(11) })],
  ['password', '11 emoji (code points)', (a) => a.createUser({ ...user, password: '🔑'.repeat(11) })],
  ['password', '1025 characters', (a) => a.createUser({ ...user, password: 'x'.repeat(1025) })],
  [
    'password',
    'the username',
    (a) => a.createUser({ ...user, username: 'operator.one', password: 'Operator.One' }),
  ],
  ['password', 'missing', (a) => a.createUser({ ...user, password: undefined as never })],
  ['role', 'unknown', (a) => a.createUser({ ...user, role: 'root' as never })],
  ['role', 'missing', (a) => a.createUser({ ...user, role: undefined as never })],
  ['user', 'not an object', (a) => a.createUser('op' as never)],
  ['patch', 'not an object', (a) => a.updateUser('op', [] as never, 1)],
  ['password', 'patch: too short', (a) => a.updateUser('op', { password: 'short' }, 1)],
  ['password', 'patch: the username', (a) => a.updateUser('op', { password: 'op' }, 1)],
  ['enabled', 'patch: a string', (a) => a.updateUser('op', { enabled: 'no' as never }, 1)],
  ['expectedVersion', 'zero', (a) => a.updateUser('op', {}, 0)],
  ['name', 'empty', (a) => a.createApiKey({ ...key, name: '' })],
  ['name', 'only spaces', (a) => a.createApiKey({ ...key, name: '   ' })],
  ['name', '101 characters', (a) => a.createApiKey({ ...key, name: 'k'.repeat(101) })],
  ['name', 'a newline', (a) => a.createApiKey({ ...key, name: 'a\nb' })],
  ['owner', 'invalid username', (a) => a.createApiKey({ ...key, owner: 'Op' })],
  ['scopes', 'empty', (a) => a.createApiKey({ ...key, scopes: [] })],
  ['scopes', 'not an array', (a) => a.createApiKey({ ...key, scopes: 'devices:read' as never })],
  ['scopes[1]', 'unknown', (a) => a.createApiKey({ ...key, scopes: ['devices:read', 'devices:*' as never] })],
  ['scopes[1]', 'duplicate', (a) => a.createApiKey({ ...key, scopes: ['devices:read', 'devices:read'] })],
  ['expiresAt', 'in the past', (a) => a.createApiKey({ ...key, expiresAt: '2029-12-31T23:59:59Z' })],
  ['expiresAt', 'now', (a) => a.createApiKey({ ...key, expiresAt: '2030-01-01T00:00:00Z' })],
  ['expiresAt', 'no zone', (a) => a.createApiKey({ ...key, expiresAt: '2031-01-01T00:00:00' })],
  ['expiresAt', 'a date only', (a) => a.createApiKey({ ...key, expiresAt: '2031-01-01' })],
  ['expiresAt', 'not a date', (a) => a.createApiKey({ ...key, expiresAt: '2031-02-30T00:00:00Z' })],
  ['expiresAt', 'a number', (a) => a.createApiKey({ ...key, expiresAt: 1 as never })],
  ['expiresAt', 'past year 9999', (a) => a.createApiKey({ ...key, expiresAt: '9999-12-31T23:00:00-05:00' })],
  ['apiKey', 'not an object', (a) => a.createApiKey(null as never)],
  ['ttlMs', 'too short', (a) => a.createSetupToken(59_999)],
  ['ttlMs', 'too long', (a) => a.createSetupToken(31 * 24 * 3600_000)],
  ['ttlMs', 'not an integer', (a) => a.createSetupToken(90_000.5)],
]

test('bad input is refused with a ValidationError naming the field', () =>
  withFixture({}, async ({ access }) => {
    for (const [field, what, call] of BAD) {
      await assert.rejects(
        call(access),
        (err: unknown) => {
          assert.ok(err instanceof ValidationError, `${field} ${what}: ${String(err)}`)
          assert.equal(err.field, field, `${what}: ${err.message}`)
          assert.equal(err.code, 'STRATA_REGISTRY_INVALID')
          return true
        },
        `${field}: ${what}`,
      )
    }
  }))

test('the edges of the valid ranges are accepted', () =>
  withFixture({}, async ({ access }) => {
    const max = `a${'._-9'.repeat(15)}abc`
    assert.equal(max.length, 64)
    await access.createUser({ username: max, password: '🔑'.repeat(12), role: 'admin' })
    await access.createUser({ username: '0', password: 'x'.repeat(1024), role: 'viewer' })
    const { apiKey } = await access.createApiKey({
      name: 'k'.repeat(100),
      owner: max,
      scopes: ['users:write'],
      expiresAt: '2030-01-01T00:00:00.001Z',
    })
    assert.equal(apiKey.expiresAt, '2030-01-01T00:00:00.001Z')
    await assert.rejects(access.createSetupToken(60_000), { code: 'STRATA_ACCESS_DENIED' })
  }))

test('bad service options are refused', () => {
  for (const options of [
    { sessionTtlMs: 0 },
    { cacheMs: -1 },
    { loginLimit: { perUser: 0, perAddress: 1, windowMs: 1 } },
  ]) {
    assert.throws(() => fixture(options), ValidationError)
  }
})
