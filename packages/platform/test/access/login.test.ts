import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AccessDeniedError, RateLimitedError } from '../../src/access/errors.js'
import { ROLE_SCOPES } from '../../src/access/model.js'
import { type Fixture, PASSWORD, START, withFixture } from './fixture.js'

const MINUTE = 60_000
const limit = { perUser: 3, perAddress: 5, windowMs: 10 * MINUTE }

async function denied(f: Fixture, username: string, password: string, address: string): Promise<void> {
  await assert.rejects(f.access.login(username, password, address), (err: unknown) => {
    assert.ok(err instanceof AccessDeniedError, String(err))
    assert.equal(err.message, 'invalid credentials')
    return true
  })
}

async function limited(f: Fixture, username: string, address: string, seconds: number): Promise<void> {
  // With the right password: a locked account must not tell whether it was right.
  await assert.rejects(f.access.login(username, PASSWORD, address), (err: unknown) => {
    assert.ok(err instanceof RateLimitedError, String(err))
    assert.equal(err.code, 'STRATA_ACCESS_RATE_LIMITED')
    assert.equal(err.retryAfterSeconds, seconds)
    return true
  })
}

test('login opens a session that authenticates as the user with the scopes of their role', () =>
  withFixture({}, async ({ access }) => {
    const created = await access.createUser({ username: 'op', password: PASSWORD, role: 'operator' })
    const result = await access.login('OP', PASSWORD, '192.0.2.1')
    assert.match(result.token, /^sst_[A-Za-z0-9_-]{43}$/)
    assert.equal(result.expiresAt, new Date(START.getTime() + 12 * 3600_000).toISOString())
    assert.deepEqual(result.user, created)
    assert.deepEqual(await access.authenticate(result.token), {
      kind: 'user',
      username: 'op',
      role: 'operator',
      scopes: ROLE_SCOPES.operator,
    })
  }))

test('a wrong password and an unknown user fail alike, and take comparable time', () =>
  withFixture({}, async (f) => {
    await f.access.createUser({ username: 'op', password: PASSWORD, role: 'operator' })
    await denied(f, 'nobody', PASSWORD, '192.0.2.1') // the first one also makes the dummy hash
    const t0 = performance.now()
    await denied(f, 'op', 'not the password', '192.0.2.1')
    const wrongPassword = performance.now() - t0
    const t1 = performance.now()
    await denied(f, 'nobody', PASSWORD, '192.0.2.1')
    const unknownUser = performance.now() - t1
    // Both run one scrypt; a lookup alone would take well under a millisecond.
    assert.ok(unknownUser > wrongPassword / 3, `${unknownUser} ms vs ${wrongPassword} ms`)
    await denied(f, 'NOT A VALID NAME', PASSWORD, '192.0.2.1')
    await denied(f, 'op', 42 as unknown as string, '192.0.2.1')
  }))

test('sessions expire, are purged on a later login, and end at logout', () =>
  withFixture({}, async ({ access, advance, count }) => {
    await access.createUser({ username: 'op', password: PASSWORD, role: 'operator' })
    const first = await access.login('op', PASSWORD, '192.0.2.1')
    advance(12 * 3600_000 - 1)
    assert.ok(await access.authenticate(first.token))
    advance(1)
    assert.equal(await access.authenticate(first.token), null, 'expired, though cached a moment ago')
    assert.equal(count('sessions'), 1)
    const second = await access.login('op', PASSWORD, '192.0.2.1')
    assert.equal(count('sessions'), 1, 'the expired one was purged')
    assert.ok(await access.authenticate(second.token))
    await access.logout(second.token)
    assert.equal(await access.authenticate(second.token), null, 'also through the cache')
    await access.logout(second.token) // twice is fine
    await access.logout('not a token')
    assert.equal(count('sessions'), 0)
  }))

test('failed logins per username are limited before the password is checked', () =>
  withFixture({ loginLimit: limit }, async (f) => {
    await f.access.createUser({ username: 'op', password: PASSWORD, role: 'operator' })
    await denied(f, 'op', 'wrong 1', '192.0.2.1')
    f.advance(MINUTE)
    await denied(f, 'op', 'wrong 2', '192.0.2.2')
    f.advance(MINUTE)
    await denied(f, 'Op', 'wrong 3', '192.0.2.3') // usernames compare in lower case
    await limited(f, 'op', '192.0.2.4', 8 * 60) // the first failure leaves the window in 8 minutes
    f.advance(8 * MINUTE - 1000)
    await limited(f, 'op', '192.0.2.4', 1)
    f.advance(1000)
    // One failure has left the window: one more attempt is allowed, and the right one succeeds.
    await f.access.login('op', PASSWORD, '192.0.2.4')
    // Success resets the username's count.
    await denied(f, 'op', 'wrong 4', '192.0.2.1')
    await denied(f, 'op', 'wrong 5', '192.0.2.1')
    await f.access.login('op', PASSWORD, '192.0.2.1')
  }))

test('failed logins per address are limited whatever the usernames; other addresses are not', () =>
  withFixture({ loginLimit: limit }, async (f) => {
    await f.access.createUser({ username: 'op', password: PASSWORD, role: 'operator' })
    for (const name of ['a', 'b', 'c', 'd', 'e']) await denied(f, name, PASSWORD, '::ffff:198.51.100.7')
    await limited(f, 'op', '198.51.100.7', 600) // the IPv4-mapped form is the same address
    await f.access.login('op', PASSWORD, '198.51.100.8')
    f.advance(10 * MINUTE)
    await f.access.login('op', PASSWORD, '198.51.100.7')
  }))

test('a success does not reset the count of its address', () =>
  withFixture({ loginLimit: limit }, async (f) => {
    await f.access.createUser({ username: 'op', password: PASSWORD, role: 'operator' })
    for (const name of ['a', 'b', 'c', 'd']) await denied(f, name, PASSWORD, '203.0.113.9')
    await f.access.login('op', PASSWORD, '203.0.113.9')
    await denied(f, 'e', PASSWORD, '203.0.113.9')
    await limited(f, 'op', '203.0.113.9', 600)
  }))

test('a burst of parallel attempts cannot slip under the limit', () =>
  withFixture({ loginLimit: limit }, async (f) => {
    await f.access.createUser({ username: 'op', password: PASSWORD, role: 'operator' })
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => f.access.login('op', `wrong ${i}`, `192.0.2.${i}`)),
    )
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : 'fulfilled'))
    assert.equal(reasons.filter((n) => n === 'AccessDeniedError').length, 3)
    assert.equal(reasons.filter((n) => n === 'RateLimitedError').length, 5)
  }))

test('an aborted login rejects with the reason before doing anything', () =>
  withFixture({}, async ({ access }) => {
    const controller = new AbortController()
    controller.abort(new Error('gone'))
    await assert.rejects(access.login('op', PASSWORD, '::1', { signal: controller.signal }), /gone/)
    await assert.rejects(access.authenticate('sst_x', { signal: controller.signal }), /gone/)
  }))
