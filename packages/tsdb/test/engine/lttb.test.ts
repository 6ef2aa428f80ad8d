/**
 * LTTB (lttb.ts) on known small inputs, against a plain (non-streaming)
 * reference of the same time-bucketed definition on random inputs fed in
 * random batches, and its edge cases: budgets, NaN, the engine's downsample().
 * Also pickBucket's choices.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { bucketCount, Lttb, lttb, pickBucket, TimeSeriesEngine } from '../../src/index.js'
import { HOUR, prng, T0, withDir } from './helpers.js'

const pairs = (b: { timestamps: Float64Array; values: Float64Array }) =>
  [...b.timestamps].map((t, i) => [t, b.values[i] as number])

/** The definition, over arrays held whole (no NaN). */
function reference(ts: number[], vs: number[], from: number, to: number, m: number): number[][] {
  const n = ts.length
  if (n <= m) return ts.map((t, i) => [t, vs[i] as number])
  const picked = [0]
  const k = m - 2
  const buckets: number[][] = Array.from({ length: k }, () => [])
  for (let i = 1; i < n - 1; i++) {
    const b = Math.min(k - 1, Math.max(0, Math.floor((((ts[i] as number) - from) / (to - from)) * k)))
    buckets[b]?.push(i)
  }
  const full = buckets.filter((b) => b.length > 0)
  for (let j = 0; j < full.length; j++) {
    const next = full[j + 1]
    const cT = next ? next.reduce((s, i) => s + (ts[i] as number), 0) / next.length : (ts[n - 1] as number)
    const cV = next ? next.reduce((s, i) => s + (vs[i] as number), 0) / next.length : (vs[n - 1] as number)
    const a = picked[picked.length - 1] as number
    const [aT, aV] = [ts[a] as number, vs[a] as number]
    let best = -1
    let bestArea = -1
    for (const i of full[j] as number[]) {
      const area = Math.abs((aT - cT) * ((vs[i] as number) - aV) - (aT - (ts[i] as number)) * (cV - aV))
      if (area > bestArea) {
        bestArea = area
        best = i
      }
    }
    picked.push(best)
  }
  picked.push(n - 1)
  return picked.map((i) => [ts[i] as number, vs[i] as number])
}

describe('LTTB', () => {
  test('a known small input', () => {
    const ts = Float64Array.from({ length: 10 }, (_, i) => i)
    const vs = Float64Array.of(0, 0, 0, 5, 0, 0, 0, 0, -3, 0)
    // Two buckets, [0, 5) and [5, 10): the spike at 3, then the dip at 8 (worked by hand).
    assert.deepEqual(pairs(lttb(ts, vs, 4, 0, 10)), [
      [0, 0],
      [3, 5],
      [8, -3],
      [9, 0],
    ])
    assert.deepEqual(pairs(lttb(ts, vs, 2, 0, 10)), [
      [0, 0],
      [9, 0],
    ])
  })

  test('a budget of at least the points returns them all', () => {
    const ts = Float64Array.of(1, 2, 3, 50)
    const vs = Float64Array.of(1, Number.NaN, 3, 4)
    for (const m of [4, 5, 1000])
      assert.deepEqual(pairs(lttb(ts, vs, m, 0, 100)), pairs({ timestamps: ts, values: vs }))
    assert.deepEqual(pairs(lttb(new Float64Array(0), new Float64Array(0), 10, 0, 1)), [])
    assert.throws(() => new Lttb(0, 10, 1), RangeError)
    assert.throws(() => new Lttb(0, Number.POSITIVE_INFINITY, 10), RangeError)
  })

  test('matches the reference on random series, streamed in random batches (seeded)', () => {
    const random = prng(0x1778)
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(random() * 400)
      const ts: number[] = []
      let t = Math.floor(random() * 100)
      for (let i = 0; i < n; i++) {
        ts.push(t)
        t += 1 + Math.floor(random() * (random() < 0.1 ? 500 : 20))
      }
      const vs = ts.map(() => Math.round((random() - 0.5) * 1000) / 10)
      const from = (ts[0] as number) - Math.floor(random() * 50)
      const to = t + Math.floor(random() * 50)
      const m = 2 + Math.floor(random() * 60)
      const l = new Lttb(from, to, m)
      for (let i = 0; i < n; ) {
        const j = Math.min(n, i + 1 + Math.floor(random() * 40))
        l.push(Float64Array.from(ts), Float64Array.from(vs), i, j)
        i = j
      }
      const got = pairs(l.finish())
      assert.deepEqual(got, reference(ts, vs, from, to, m), `round ${round}: n ${n}, m ${m}`)
      assert.ok(got.length <= m)
    }
  })

  test('NaN: never chosen next to real values, chosen (first) from a bucket of nothing else', () => {
    const ts = Float64Array.from({ length: 12 }, (_, i) => i)
    const N = Number.NaN
    // Buckets of 3: [1,2] real and NaN, [3..5] all NaN, [6..8] with a NaN, [9,10]. Past the
    // NaN bucket the triangles start from the last real point chosen, (2, 9): 6 makes the larger one.
    const vs = Float64Array.of(0, N, 9, N, N, N, 1, N, 2, 3, 4, 5)
    const got = pairs(lttb(ts, vs, 6, 0, 12))
    assert.deepEqual(
      got.map(([t]) => t),
      [0, 2, 3, 6, 9, 11],
    )
    // A NaN first point is kept; the next choice is still a real point.
    const first = pairs(lttb(Float64Array.of(0, 1, 2, 3, 4), Float64Array.of(N, 1, 8, 2, 0), 3, 0, 5))
    assert.equal(first.length, 3)
    assert.ok(Number.isNaN(first[0]?.[1] as number))
    assert.deepEqual(first[1], [2, 8])
  })
})

describe('pickBucket', () => {
  test('the smallest round bucket within the budget', () => {
    assert.equal(pickBucket(T0, T0 + 3 * HOUR, 10_000), 2000)
    assert.equal(pickBucket(T0, T0 + 3 * HOUR, 180), 60_000)
    assert.equal(pickBucket(T0, T0 + 3 * HOUR, 179), 2 * 60_000)
    assert.equal(pickBucket(T0, T0 + 3 * HOUR, 10_000, { multipleOf: 60_000 }), 60_000)
    assert.equal(pickBucket(T0, T0 + 3 * HOUR, 10_000, { minBucketMs: 7000 }), 10_000)
    assert.equal(pickBucket(T0, T0 + 365 * 24 * HOUR, 100), 4 * 24 * HOUR)
    // An unaligned range meets one more bucket.
    assert.equal(bucketCount(T0 + 1, T0 + HOUR + 1, HOUR), 2)
    for (const m of [1, 7, 100, 1000]) {
      const b = pickBucket(T0 + 12_345, T0 + 40 * 24 * HOUR, m)
      assert.ok(bucketCount(T0 + 12_345, T0 + 40 * 24 * HOUR, b) <= m)
    }
    assert.throws(() => pickBucket(0, Number.POSITIVE_INFINITY, 10), RangeError)
    assert.throws(() => pickBucket(0, 10, 0), RangeError)
  })
})

test('engine.downsample(): real points, first and last kept, within the budget', async () => {
  await withDir(async (dir) => {
    const engine = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0 })
    const points = Array.from({ length: 3 * 3600 }, (_, i) => ({
      series: 'a/t',
      ts: T0 + i * 1000,
      value: i === 5000 ? 99 : Math.round(Math.sin(i / 600) * 100) / 10,
    }))
    await engine.write(points)
    const check = async (what: string) => {
      const d = await engine.downsample('a/t', T0, T0 + 3 * HOUR, 500)
      assert.ok(d.timestamps.length <= 500 && d.timestamps.length > 400, what)
      assert.equal(d.timestamps[0], T0)
      assert.equal(d.timestamps[d.timestamps.length - 1], T0 + (3 * 3600 - 1) * 1000)
      for (let i = 0; i < d.timestamps.length; i++) {
        const k = ((d.timestamps[i] as number) - T0) / 1000
        assert.equal(d.values[i], points[k]?.value, `${what}: a real point`)
      }
      assert.ok(d.values.includes(99), `${what}: the spike survives`)
    }
    await check('head')
    await engine.flush()
    await check('sealed')
    assert.equal((await engine.downsample('nope/x', T0, T0 + HOUR, 10)).timestamps.length, 0)
    await assert.rejects(engine.downsample('a/t', T0, T0 + HOUR, 1), RangeError)
    // Points gone: the 1-minute averages stand in.
    await engine.dropBefore(T0 + 24 * HOUR)
    const d = await engine.downsample('a/t', T0, T0 + 3 * HOUR, 100)
    assert.ok(d.timestamps.length <= 100 && d.timestamps.length > 90)
    assert.ok(d.timestamps.every((t) => (t - T0) % 60_000 === 0))
    await engine.close()
  })
})
