import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ConnectionRateLimiter, DEFAULT_LIMITS, resolveLimits } from '../../src/limits.js'

describe('limits', () => {
  test('resolveLimits merges over defaults and clamps 16-bit values', () => {
    const l = resolveLimits({ maxInflight: 1_000_000, maxConnections: 5 })
    assert.equal(l.maxInflight, 65535)
    assert.equal(l.maxConnections, 5)
    assert.equal(l.maxPacketSize, DEFAULT_LIMITS.maxPacketSize)
    assert.ok(Object.isFrozen(l))
  })

  test('token bucket: burst, refill, sweep', () => {
    const r = new ConnectionRateLimiter(2, 3)
    assert.ok(r.take('a', 0) && r.take('a', 0) && r.take('a', 0))
    assert.equal(r.take('a', 0), false)
    assert.ok(r.take('b', 0), 'other addresses are independent')
    assert.equal(r.take('a', 499), false)
    assert.ok(r.take('a', 500))
    r.sweep(10_000)
    assert.equal(r.size, 0)
    assert.ok(new ConnectionRateLimiter(0, 0).take('x'))
  })
})
