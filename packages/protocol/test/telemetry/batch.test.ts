/** The binary batch: the documented example, bit-exact round trips (seeded), sizes. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { decodeBatch, decodeTelemetry, encodeBatch, type TelemetryPoint } from '../../src/index.js'
import { assertSamePoints, batchOfPoints, NOW, typicalBatch } from './helpers.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('batch: layout', () => {
  test('the example of section 5 of the layout comment, byte for byte', () => {
    const points: TelemetryPoint[] = [
      { metric: 'temp', ts: 1714564800000, value: 21.5 },
      { metric: 'door', ts: 1714564800000, value: true },
      { metric: 'temp', ts: 1714564801000, value: 21.6 },
    ]
    const bytes = encodeBatch(points)
    assert.equal(
      hex(bytes),
      ['0180bc9aa0f33102', '0474656d7001', '04646f6f7200', '03', '000200ae030b', 'd00f010002'].join(''),
    )
    assert.deepEqual(decodeBatch(bytes), points)
    assert.deepEqual(decodeTelemetry('batch', bytes, NOW), points)
  })

  test('an empty batch', () => {
    assert.equal(hex(encodeBatch([])), '01000000')
    assert.deepEqual(decodeBatch(encodeBatch([])), [])
  })

  test('values that must go raw: NaN, ±Infinity, -0, non-short decimals, past 2^51', () => {
    const values = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      0.1 + 0.2,
      1 / 3,
      2 ** 51 + 1,
      1e300,
      5e-324,
    ]
    const points = values.map((value, i) => ({ metric: 'x', ts: i, value }))
    assertSamePoints(decodeBatch(encodeBatch(points)), points)
  })

  test('strings keep a leading BOM and astral characters', () => {
    const points = [{ metric: 's', ts: 1, value: '\uFEFF😀 é' }]
    assertSamePoints(decodeBatch(encodeBatch(points)), points)
  })

  test('maxDecimals: 0 still round-trips, sending decimals raw', () => {
    const points = [1.5, 2.25, 3].map((value, i) => ({ metric: 'x', ts: i, value }))
    const raw = encodeBatch(points, { maxDecimals: 0 })
    assert.ok(raw.length > encodeBatch(points).length)
    assertSamePoints(decodeBatch(raw), points)
  })
})

describe('batch: round trips (fast-check, seeded)', () => {
  test('decodeBatch(encodeBatch(points)) is the same points, bit for bit, in order', () => {
    fc.assert(
      fc.property(batchOfPoints, fc.integer({ min: 0, max: 15 }), (points, maxDecimals) => {
        const bytes = encodeBatch(points, { maxDecimals })
        assertSamePoints(decodeBatch(bytes), points)
      }),
      { seed: 0xba7c, numRuns: 2000 },
    )
  })

  test('encoding is deterministic: re-encoding the decoded points gives the same bytes', () => {
    fc.assert(
      fc.property(batchOfPoints, (points) => {
        const bytes = encodeBatch(points)
        assert.equal(hex(encodeBatch(decodeBatch(bytes))), hex(bytes))
      }),
      { seed: 0xde7e, numRuns: 1000 },
    )
  })
})

test('batch: a typical batch is much smaller than the same points as JSON', () => {
  const points = typicalBatch()
  const rows = new Map<number, Record<string, unknown>>()
  for (const p of points) rows.set(p.ts, { ...(rows.get(p.ts) ?? { ts: p.ts }), [p.metric]: p.value })
  const jsonBytes = Buffer.byteLength(JSON.stringify([...rows.values()]))
  const batchBytes = encodeBatch(points).length
  assert.ok(batchBytes * 4 < jsonBytes, `batch ${batchBytes} B vs JSON ${jsonBytes} B`)
  assertSamePoints(decodeBatch(encodeBatch(points)), points)
})
