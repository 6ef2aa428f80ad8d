import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LastAdminError } from '../../src/access/errors.js'
import {
  AlreadyExistsError,
  ConflictError,
  InUseError,
  NotFoundError,
  ValidationError,
} from '../../src/registry/errors.js'
import { PASSWORD, START, withFixture } from './fixture.js'

test('createUser, getUser and listUsers return the model, sorted by username', () =>
  withFixture({}, async ({ access }) => {
    const bob = await access.createUser({ username: 'bob', password: PASSWORD, role: 'viewer' })
    assert.deepEqual(bob, {
      username: 'bob',
      role: 'viewer',
      enabled: true,
      version: 1,
      createdAt: START.toISOString(),
      updatedAt: START.toISOString(),
    })
    await access.createUser({ username: 'alice', password: PASSWORD, role: 'admin' })
    assert.deepEqual(await access.getUser('bob'), bob)
    assert.deepEqual(
      (await access.listUsers()).map((u) => u.username),
      ['alice', 'bob'],
    )
    await assert.rejects(
      access.createUser({ username: 'bob', password: PASSWORD, role: 'admin' }),
      AlreadyExistsError,
    )
    await assert.rejects(access.getUser('carol'), NotFoundError)
  }))

test('updateUser changes role and enabled, checks the version, and bumps it', () =>
  withFixture({}, async ({ access, advance }) => {
    await access.createUser({ username: 'root', password: PASSWORD, role: 'admin' })
    await access.createUser({ username: 'op', password: PASSWORD, role: 'viewer' })
    advance(1000)
    const op = await access.updateUser('op', { role: 'operator' }, 1)
    assert.equal(op.role, 'operator')
    assert.equal(op.version, 2)
    assert.equal(op.updatedAt, new Date(START.getTime() + 1000).toISOString())
    await assert.rejects(access.updateUser('op', { enabled: false }, 1), ConflictError)
    assert.equal((await access.updateUser('op', { enabled: false }, 2)).enabled, false)
    await assert.rejects(access.updateUser('nobody', { enabled: false }, 1), NotFoundError)
    await assert.rejects(access.updateUser('op', { role: 'root' as never }, 3), ValidationError)
  }))

test('a password change or disabling a user ends their sessions; other users keep theirs', () =>
  withFixture({}, async ({ access, count }) => {
    await access.createUser({ username: 'root', password: PASSWORD, role: 'admin' })
    await access.createUser({ username: 'eve', password: PASSWORD, role: 'operator' })
    const root = await access.login('root', PASSWORD, '10.0.0.1')
    const eve = await access.login('eve', PASSWORD, '10.0.0.1')
    assert.ok(await access.authenticate(eve.token)) // now cached
    await access.updateUser('eve', { password: 'a new passphrase' }, 1)
    assert.equal(await access.authenticate(eve.token), null, 'the cached session went with it')
    assert.ok(await access.authenticate(root.token))
    assert.equal(count('sessions'), 1)

    const again = await access.login('eve', 'a new passphrase', '10.0.0.1')
    await access.updateUser('eve', { enabled: false }, 2)
    assert.equal(await access.authenticate(again.token), null)
    await assert.rejects(access.login('eve', 'a new passphrase', '10.0.0.1'), {
      code: 'STRATA_ACCESS_DENIED',
    })
  }))

test('deleteUser removes the user with their sessions and API keys', () =>
  withFixture({}, async ({ access, count }) => {
    await access.createUser({ username: 'root', password: PASSWORD, role: 'admin' })
    await access.createUser({ username: 'op', password: PASSWORD, role: 'operator' })
    const { token } = await access.login('op', PASSWORD, '::1')
    const { key } = await access.createApiKey({ name: 'ci', owner: 'op', scopes: ['devices:read'] })
    assert.ok(await access.authenticate(key))
    await assert.rejects(access.deleteUser('op', 7), ConflictError)
    await access.deleteUser('op', 1)
    assert.equal(await access.authenticate(token), null)
    assert.equal(await access.authenticate(key), null, 'the cached key went with its owner')
    assert.equal(count('api_keys'), 0)
    assert.equal(count('sessions'), 0)
    await assert.rejects(access.deleteUser('op'), NotFoundError)
  }))

test('the last enabled admin cannot be deleted, disabled or demoted', () =>
  withFixture({}, async ({ access }) => {
    await access.createUser({ username: 'root', password: PASSWORD, role: 'admin' })
    for (const attempt of [
      () => access.deleteUser('root'),
      () => access.updateUser('root', { enabled: false }, 1),
      () => access.updateUser('root', { role: 'operator' }, 1),
    ]) {
      await assert.rejects(attempt(), (err: unknown) => {
        assert.ok(err instanceof LastAdminError)
        assert.ok(err instanceof InUseError)
        assert.equal(err.code, 'STRATA_REGISTRY_IN_USE')
        assert.match(err.message, /last enabled admin/)
        return true
      })
    }
    // A disabled admin does not count as a second one.
    await access.createUser({ username: 'spare', password: PASSWORD, role: 'admin' })
    await access.updateUser('spare', { enabled: false }, 1)
    await assert.rejects(access.updateUser('root', { role: 'viewer' }, 1), LastAdminError)
    // Once it is enabled, either may go, but not both.
    await access.updateUser('spare', { enabled: true }, 2)
    await access.updateUser('root', { role: 'viewer' }, 1)
    await assert.rejects(access.deleteUser('spare'), LastAdminError)
    // Other changes to the last admin are fine, and non-admins are never protected.
    assert.equal((await access.updateUser('spare', { enabled: true }, 3)).version, 4)
    await access.deleteUser('root')
  }))
