/**
 * Shared pieces of the engine tests: a temporary directory, a reference model
 * of what the engine must return (last write wins per series and timestamp),
 * and bit-exact comparisons.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AggregateFunction, EnginePoint, TimeSeriesEngine } from '../../src/index.js'

export { bits, pointValue, prng } from '../wal/helpers.js'

/** 2025-01-01T00:00:00Z: windows and days start here. */
export const T0 = Date.UTC(2025, 0, 1)
export const HOUR = 3_600_000
export const DAY = 86_400_000

/** A temporary directory removed after `fn`. */
export async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), 'strata-engine-'))
  try {
    return await fn(root)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

const view = new DataView(new ArrayBuffer(8))
const bitsOf = (v: number): bigint => {
  view.setFloat64(0, v)
  return view.getBigUint64(0)
}

/** What the engine should hold: per series, timestamp → the last value written. */
export class Model {
  readonly series = new Map<string, Map<number, number>>()

  write(points: readonly EnginePoint[]): void {
    for (const p of points) {
      const m = this.series.get(p.series) ?? new Map<number, number>()
      this.series.set(p.series, m)
      m.set(p.ts, p.value)
    }
  }

  /** Sorted points of a series in [from, to). */
  raw(series: string, from = -Infinity, to = Infinity): [number, number][] {
    const m = this.series.get(series) ?? new Map<number, number>()
    return [...m.entries()].filter(([t]) => t >= from && t < to).sort((a, b) => a[0] - b[0])
  }

  /**
   * The naive aggregate: per epoch-aligned bucket, by aggregate.ts's definitions,
   * as [bucket start, value, tolerance]. The engine adds sums chunk by chunk, so
   * its rounding differs: the tolerance is the bound on summation error,
   * n·2^-52·Σ|v| (over n for an average); 0 for the exact functions.
   */
  aggregate(
    series: string,
    from: number,
    to: number,
    bucketMs: number,
    fn: AggregateFunction,
  ): [number, number, number][] {
    const buckets = new Map<number, number[]>()
    for (const [t, v] of this.raw(series, from, to)) {
      const b = Math.floor(t / bucketMs) * bucketMs
      const list = buckets.get(b) ?? []
      buckets.set(b, list)
      list.push(v)
    }
    return [...buckets.entries()].map(([b, vs]) => {
      const abs = vs.reduce((a, v) => a + Math.abs(v), 0)
      const tolerance = fn === 'sum' ? vs.length * 2 ** -52 * abs : fn === 'avg' ? 2 ** -52 * abs : 0
      return [b, naive(vs, fn), tolerance]
    })
  }
}

function naive(vs: number[], fn: AggregateFunction): number {
  const sum = vs.reduce((a, v) => a + v, 0)
  const real = vs.filter((v) => !Number.isNaN(v))
  // The first of equal values stays (0 before -0 or the reverse).
  const pick = (better: (a: number, b: number) => boolean) =>
    real.length === 0 ? Number.NaN : real.reduce((a, v) => (better(v, a) ? v : a))
  switch (fn) {
    case 'avg':
      return sum / vs.length
    case 'sum':
      return sum
    case 'count':
      return vs.length
    case 'min':
      return pick((v, a) => v < a)
    case 'max':
      return pick((v, a) => v > a)
    case 'first':
      return vs[0] as number
    case 'last':
      return vs[vs.length - 1] as number
  }
}

export async function readRaw(
  engine: TimeSeriesEngine,
  series: string,
  from = -(2 ** 51),
  to = 2 ** 51,
): Promise<[number, number][]> {
  const out: [number, number][] = []
  for await (const b of engine.raw(series, from, to)) {
    for (let i = 0; i < b.timestamps.length; i++) out.push([b.timestamps[i] as number, b.values[i] as number])
  }
  return out
}

export async function readAggregate(
  engine: TimeSeriesEngine,
  series: string[],
  from: number,
  to: number,
  bucketMs: number,
  fn: AggregateFunction,
): Promise<Map<string, [number, number][]>> {
  const out = new Map<string, [number, number][]>()
  for await (const b of engine.aggregate(series, from, to, bucketMs, fn)) {
    const list = out.get(b.series) ?? []
    out.set(b.series, list)
    for (let i = 0; i < b.timestamps.length; i++)
      list.push([b.timestamps[i] as number, b.values[i] as number])
  }
  return out
}

/** Points equal timestamp for timestamp and bit for bit. */
export function assertSamePoints(
  actual: [number, number][],
  expected: [number, number][],
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: point count`)
  for (let i = 0; i < expected.length; i++) {
    const [at, av] = actual[i] as [number, number]
    const [et, ev] = expected[i] as [number, number]
    if (at !== et || bitsOf(av) !== bitsOf(ev)) {
      assert.fail(`${what}: point ${i} is (${at}, ${av}), expected (${et}, ${ev})`)
    }
  }
}

/** Aggregates equal: bit for bit, or within the reference's tolerance for sums and averages. */
export function assertSameAggregate(
  actual: [number, number][],
  expected: [number, number, number][],
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: bucket count`)
  for (let i = 0; i < expected.length; i++) {
    const [at, av] = actual[i] as [number, number]
    const [et, ev, tolerance] = expected[i] as [number, number, number]
    assert.equal(at, et, `${what}: bucket ${i} start`)
    if (tolerance > 0 && Number.isFinite(ev)) {
      assert.ok(Math.abs(av - ev) <= tolerance, `${what}: bucket ${at}: ${av} vs ${ev} (±${tolerance})`)
    } else if ((tolerance > 0 || Number.isNaN(tolerance)) && Number.isNaN(ev)) {
      // A sum with NaN in it: NaN, but which payload survives an addition of two is up to the JIT.
      assert.ok(Number.isNaN(av), `${what}: bucket ${at}: ${av} vs NaN`)
    } else if (bitsOf(av) !== bitsOf(ev)) {
      assert.fail(`${what}: bucket ${at} is ${av}, expected ${ev}`)
    }
  }
}
