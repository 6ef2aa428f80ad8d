/** Shared arbitraries and checks for the telemetry tests. */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  DEFAULT_TELEMETRY_LIMITS,
  MAX_TIMESTAMP,
  METRIC_PATTERN,
  TelemetryFormatError,
  type TelemetryPoint,
} from '../../src/index.js'

export const NOW = 1_700_000_000_000
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** Valid metric names: mostly from a small set (so series repeat), sometimes generated. */
export const metricName: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('temperature', 'humidity', 'env.pressure', 'door_open', 'status', '_x'),
  },
  {
    weight: 1,
    arbitrary: fc
      .stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.]{0,20}$/)
      .filter((s) => !/(?:^|\.)(?:__proto__|constructor|prototype)(?:\.|$)/.test(s)),
  },
)

/** Any value the model allows: every float64 (NaN, ±Infinity, -0), short decimals, integers, booleans, strings. */
export const pointValue: fc.Arbitrary<number | boolean | string> = fc.oneof(
  fc.double(),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc
    .tuple(fc.integer({ min: -10_000_000, max: 10_000_000 }), fc.integer({ min: 0, max: 6 }))
    .map(([m, s]) => m / 10 ** s),
  fc.constantFrom(
    2 ** 51,
    -(2 ** 51),
    2 ** 51 + 1,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_VALUE,
    5e-324,
  ),
  fc.boolean(),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constant('\uFEFFstarts with a BOM'),
)

export const timestamp: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: NOW - 86_400_000, max: NOW + 86_400_000 }),
  fc.integer({ min: 0, max: MAX_TIMESTAMP }),
)

export const point: fc.Arbitrary<TelemetryPoint> = fc.record({
  metric: metricName,
  ts: timestamp,
  value: pointValue,
})

/** Points as a device produces them: runs at a shared time, times ascending. */
export const batchOfPoints: fc.Arbitrary<TelemetryPoint[]> = fc.oneof(
  fc.array(point, { maxLength: 60 }),
  fc
    .tuple(
      timestamp,
      fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: 5000 }),
          fc.array(fc.tuple(metricName, pointValue), { maxLength: 8 }),
        ),
        {
          maxLength: 12,
        },
      ),
    )
    .map(([start, groups]) => {
      const out: TelemetryPoint[] = []
      let ts = Math.min(start, MAX_TIMESTAMP - 12 * 5000)
      for (const [step, values] of groups) {
        ts += step
        for (const [metric, value] of values) out.push({ metric, ts, value })
      }
      return out
    }),
)

const f64 = new Float64Array(2)
const u32 = new Uint32Array(f64.buffer)
/** Same float64 bits (NaN payload included). */
export function sameBits(a: number, b: number): boolean {
  f64[0] = a
  f64[1] = b
  return u32[0] === u32[2] && u32[1] === u32[3]
}

export function assertSamePoints(actual: TelemetryPoint[], expected: readonly TelemetryPoint[]): void {
  assert.equal(actual.length, expected.length)
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as TelemetryPoint
    const e = expected[i] as TelemetryPoint
    assert.equal(a.metric, e.metric, `point ${i} metric`)
    assert.equal(a.ts, e.ts, `point ${i} ts`)
    assert.equal(typeof a.value, typeof e.value, `point ${i} value type`)
    if (typeof e.value === 'number') {
      assert.ok(sameBits(a.value as number, e.value), `point ${i}: ${a.value} is not bit-exact ${e.value}`)
    } else {
      assert.equal(a.value, e.value, `point ${i} value`)
    }
  }
}

/** What any decoder may return: points the model allows, within the limits. */
export function assertValidPoints(points: unknown): void {
  assert.ok(Array.isArray(points))
  assert.ok(points.length <= DEFAULT_TELEMETRY_LIMITS.maxPoints)
  for (const p of points as TelemetryPoint[]) {
    assert.ok(METRIC_PATTERN.test(p.metric), p.metric)
    assert.ok(Number.isSafeInteger(p.ts) && p.ts >= 0 && p.ts <= MAX_TIMESTAMP, String(p.ts))
    const t = typeof p.value
    assert.ok(t === 'number' || t === 'boolean' || t === 'string', t)
    if (typeof p.value === 'string') assert.ok(p.value.length <= DEFAULT_TELEMETRY_LIMITS.maxStringLength)
    if (p.unit !== undefined) assert.equal(typeof p.unit, 'string')
  }
}

/** Asserts `fn` throws a TelemetryFormatError with `code` whose message matches `message`. */
export function assertRejects(fn: () => unknown, code: string, message: RegExp): TelemetryFormatError {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown instanceof TelemetryFormatError, `expected TelemetryFormatError, got ${String(thrown)}`)
  assert.equal(thrown.code, code, thrown.message)
  assert.match(thrown.message, message)
  return thrown
}

/** 100 readings of 10 sensors, one per second: the benchmark's batch too. */
export function typicalBatch(): TelemetryPoint[] {
  const metrics = [
    'temperature',
    'humidity',
    'pressure',
    'co2',
    'voltage',
    'current',
    'rssi',
    'uptime',
    'door_open',
    'fan.rpm',
  ]
  const points: TelemetryPoint[] = []
  for (let t = 0; t < 100; t++) {
    const ts = NOW + t * 1000
    points.push(
      { metric: metrics[0] as string, ts, value: Math.round((21 + Math.sin(t / 10) * 2) * 10) / 10 },
      { metric: metrics[1] as string, ts, value: Math.round((45 + Math.cos(t / 7) * 5) * 10) / 10 },
      { metric: metrics[2] as string, ts, value: Math.round((1013 + Math.sin(t / 20)) * 100) / 100 },
      { metric: metrics[3] as string, ts, value: 400 + ((t * 7) % 23) },
      { metric: metrics[4] as string, ts, value: Math.round((3.3 - t * 0.001) * 1000) / 1000 },
      { metric: metrics[5] as string, ts, value: Math.round((0.12 + Math.sin(t) * 0.01) * 1000) / 1000 },
      { metric: metrics[6] as string, ts, value: -60 - (t % 5) },
      { metric: metrics[7] as string, ts, value: 86_400 + t },
      { metric: metrics[8] as string, ts, value: t % 30 === 0 },
      { metric: metrics[9] as string, ts, value: 1200 + (t % 3) * 10 },
    )
  }
  return points
}
