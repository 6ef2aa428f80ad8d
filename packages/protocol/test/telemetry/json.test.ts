/** Plain JSON telemetry: objects, arrays of objects, ts forms, flattening, limits. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeTelemetry } from '../../src/index.js'
import { assertRejects, NOW, utf8 } from './helpers.js'

const json = (text: string, limits?: Record<string, number>) =>
  decodeTelemetry('json', utf8(text), NOW, limits === undefined ? {} : { limits })

describe('json: happy paths', () => {
  test('one object without ts takes receivedAt; types are kept', () => {
    assert.deepEqual(json('{"temperature": 21.5, "count": 42, "door.open": false, "mode": "eco"}'), [
      { metric: 'temperature', ts: NOW, value: 21.5 },
      { metric: 'count', ts: NOW, value: 42 },
      { metric: 'door.open', ts: NOW, value: false },
      { metric: 'mode', ts: NOW, value: 'eco' },
    ])
  })

  test('ts as integer ms, wherever it appears among the keys', () => {
    assert.deepEqual(json('{"a": 1, "ts": 1714564800000}'), [{ metric: 'a', ts: 1714564800000, value: 1 }])
  })

  test('ts as RFC 3339 with Z, offsets and fractions (truncated to ms)', () => {
    const base = Date.UTC(2024, 4, 1, 12, 0, 0)
    const cases: [string, number][] = [
      ['2024-05-01T12:00:00Z', base],
      ['2024-05-01T12:00:00.25Z', base + 250],
      ['2024-05-01T12:00:00.123456789Z', base + 123],
      ['2024-05-01T14:30:00+02:30', base],
      ['2024-05-01T09:00:00-03:00', base],
      ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
      ['1970-01-01T00:00:00Z', 0],
    ]
    for (const [text, ts] of cases) {
      assert.deepEqual(json(`{"ts": "${text}", "a": 1}`), [{ metric: 'a', ts, value: 1 }], text)
    }
  })

  test('array of objects, each with its own ts or receivedAt', () => {
    assert.deepEqual(
      json('[{"ts": 1000, "a": 1}, {"a": 2, "b": true}, {"ts": "1970-01-01T00:00:03Z", "a": 3}]'),
      [
        { metric: 'a', ts: 1000, value: 1 },
        { metric: 'a', ts: NOW, value: 2 },
        { metric: 'b', ts: NOW, value: true },
        { metric: 'a', ts: 3000, value: 3 },
      ],
    )
  })

  test('an empty array is zero points', () => {
    assert.deepEqual(json('[]'), [])
  })

  test('nested objects flatten with "." up to maxDepth levels', () => {
    assert.deepEqual(json('{"ts": 5, "env": {"temp": 21, "air": {"co2": 400, "ok": true}}, "x": 1}'), [
      { metric: 'env.temp', ts: 5, value: 21 },
      { metric: 'env.air.co2', ts: 5, value: 400 },
      { metric: 'env.air.ok', ts: 5, value: true },
      { metric: 'x', ts: 5, value: 1 },
    ])
    assert.deepEqual(json('{"a": {"b": {"c": {"d": 1}}}}'), [{ metric: 'a.b.c.d', ts: NOW, value: 1 }])
  })

  test('a nested "ts" is an ordinary metric', () => {
    assert.deepEqual(json('{"ts": 7, "gps": {"ts": 6, "lat": 1.5}}'), [
      { metric: 'gps.ts', ts: 7, value: 6 },
      { metric: 'gps.lat', ts: 7, value: 1.5 },
    ])
  })

  test('integers up to 2^53 and booleans stay exact; BOM and whitespace are accepted', () => {
    const [p, q] = json('\uFEFF { "big": 9007199254740991, "on": true } ')
    assert.equal(p?.value, Number.MAX_SAFE_INTEGER)
    assert.equal(q?.value, true)
  })

  test('__proto__ keys never touch Object.prototype', () => {
    assertRejects(
      () => json('{"__proto__": {"polluted": 1}}'),
      'STRATA_TELEMETRY_INVALID',
      /reserved segment/,
    )
    assertRejects(() => json('[{"a": {"__proto__": 1}}]'), 'STRATA_TELEMETRY_INVALID', /reserved segment/)
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
  })

  test('exactly maxPoints is accepted, one more is not', () => {
    const row = (n: number) => `{${Array.from({ length: n }, (_, i) => `"m${i}": ${i}`).join(',')}}`
    assert.equal(json(row(10_000)).length, 10_000)
    assertRejects(() => json(row(10_001)), 'STRATA_TELEMETRY_TOO_LARGE', /more than 10000 points/)
  })
})
