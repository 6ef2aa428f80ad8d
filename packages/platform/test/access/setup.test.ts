import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AccessDeniedError } from '../../src/access/errors.js'
import { ValidationError } from '../../src/registry/errors.js'
import { PASSWORD, withFixture } from './fixture.js'

const HOUR = 3600_000

test('a setup token creates the first admin once, then setup is closed', () =>
  withFixture({}, async ({ access, count }) => {
    assert.equal(await access.hasUsers(), false)
    const token = await access.createSetupToken(HOUR)
    assert.match(token, /^ssu_[A-Za-z0-9_-]{43}$/)
    const admin = await access.completeSetup(token, { username: 'root', password: PASSWORD })
    assert.equal(admin.role, 'admin')
    assert.equal(admin.enabled, true)
    assert.equal(await access.hasUsers(), true)
    assert.equal(count('setup_tokens'), 0)
    await assert.rejects(
      access.completeSetup(token, { username: 'root2', password: PASSWORD }),
      AccessDeniedError,
    )
    await assert.rejects(access.createSetupToken(HOUR), AccessDeniedError)
    await access.login('root', PASSWORD, '::1')
  }))

test('a wrong, expired or replaced setup token is refused', () =>
  withFixture({}, async ({ access, advance, count }) => {
    const user = { username: 'root', password: PASSWORD }
    const old = await access.createSetupToken(HOUR)
    const token = await access.createSetupToken(HOUR)
    assert.equal(count('setup_tokens'), 1, 'a new token replaces the earlier')
    for (const bad of [old, `ssu_${'A'.repeat(43)}`, 'stk_x', '', 7 as unknown as string]) {
      await assert.rejects(access.completeSetup(bad, user), (err: unknown) => {
        assert.ok(err instanceof AccessDeniedError)
        assert.equal(err.code, 'STRATA_ACCESS_DENIED')
        return true
      })
    }
    advance(HOUR)
    await assert.rejects(access.completeSetup(token, user), /invalid or expired setup token/)
    assert.equal(await access.hasUsers(), false)
    await assert.rejects(access.createSetupToken(1000), { field: 'ttlMs' })
  }))

test('bad input is refused before the token is looked at; the token is not spent', () =>
  withFixture({}, async ({ access }) => {
    const token = await access.createSetupToken(HOUR)
    await assert.rejects(access.completeSetup(token, { username: 'root', password: 'short' }), {
      name: 'ValidationError',
      field: 'password',
    })
    await assert.rejects(
      access.completeSetup(token, null as never),
      (err: unknown) => err instanceof ValidationError && err.field === 'user',
    )
    await access.completeSetup(token, { username: 'root', password: PASSWORD })
  }))

test('two setups racing with one token: exactly one admin is created', () =>
  withFixture({}, async ({ access }) => {
    const token = await access.createSetupToken(HOUR)
    const results = await Promise.allSettled([
      access.completeSetup(token, { username: 'first', password: PASSWORD }),
      access.completeSetup(token, { username: 'second', password: PASSWORD }),
    ])
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'])
    const rejected = results.find((r) => r.status === 'rejected')
    assert.ok(rejected?.reason instanceof AccessDeniedError)
    assert.equal((await access.listUsers()).length, 1)
  }))
