import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createFixture, type Fixture } from './fixture.js'

describe('API: rate limits', () => {
  let f: Fixture
  before(async () => {
    f = await createFixture({ users: false, rateLimit: { perKeyPerMinute: 5, perAddressPerMinute: 3 } })
  })
  after(() => f.close())

  test('per address without a token: the 4th request in a minute is 429 with Retry-After', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await f.send('GET', '/api/devices', { headers: { 'x-forwarded-for': '10.9.9.9' } })
      assert.equal(r.status, 401)
      assert.equal(r.headers['x-ratelimit-limit'], '3')
    }
    const limited = await f.send('GET', '/api/devices')
    assert.equal(limited.status, 429)
    assert.equal(limited.json.code, 'STRATA_API_RATE_LIMITED')
    assert.equal(typeof limited.json.message, 'string')
    const retry = Number(limited.headers['retry-after'])
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`)
    // Made-up API keys do not buy fresh buckets: they count against the address.
    const fake = await f.send('GET', '/api/devices', { token: `stk_${'0'.repeat(16)}_${'a'.repeat(43)}` })
    assert.equal(fake.status, 429)
  })

  test('/health and /ready are never limited', async () => {
    for (let i = 0; i < 10; i++) {
      assert.equal((await f.send('GET', '/health')).status, 200)
      assert.equal((await f.send('GET', '/ready')).status, 200)
    }
  })

  test('an API key has its own bucket, apart from the address', async () => {
    await f.access.createUser({ username: 'rl', password: 'rate-limit-password', role: 'viewer' })
    const { key } = await f.access.createApiKey({ name: 'rl', owner: 'rl', scopes: ['devices:read'] })
    for (let i = 0; i < 5; i++) {
      const r = await f.send('GET', '/api/devices', { token: key })
      assert.equal(r.status, 200, r.body)
    }
    const limited = await f.send('GET', '/api/devices', { token: key })
    assert.equal(limited.status, 429)
    assert.ok(Number(limited.headers['retry-after']) >= 1)
  })
})
