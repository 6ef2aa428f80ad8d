// Back-off between connection attempts: doubling, capped, jittered within [d/2, d].
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Backoff } from '../src/backoff.js'

test('delays double from initialMs to maxMs, each within [d/2, d], and reset starts over', () => {
  const low = new Backoff({ initialMs: 1_000, maxMs: 60_000, random: () => 0 })
  const high = new Backoff({ initialMs: 1_000, maxMs: 60_000, random: () => 0.999_999 })
  const lows = Array.from({ length: 9 }, () => low.next())
  const highs = Array.from({ length: 9 }, () => high.next())
  assert.deepEqual(lows, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000])
  assert.deepEqual(highs, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000])
  low.reset()
  assert.equal(low.next(), 500)
})

test('a thousand attempts never overflow', () => {
  const b = new Backoff({ initialMs: 1, maxMs: 10 })
  for (let i = 0; i < 1_000; i++) assert.ok(b.next() <= 10)
})

test('bad bounds are refused', () => {
  assert.throws(() => new Backoff({ initialMs: 0 }), RangeError)
  assert.throws(() => new Backoff({ initialMs: 10, maxMs: 5 }), RangeError)
})
