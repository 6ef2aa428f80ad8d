/**
 * Rollups in the engine: aggregates read from them agree with aggregates
 * read from points; they are what is read for sealed windows; late points
 * keep them exact; they outlive raw points under retention; and a window
 * without complete rollups (sealed before they existed) is read from points.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { toChunks } from '../../src/engine/points.js'
import {
  AGGREGATE_FUNCTIONS,
  type AggregateFunction,
  type ChunkStorage,
  type EnginePoint,
  SqliteChunkStorage,
  type StoredChunk,
  TimeSeriesEngine,
} from '../../src/index.js'
import { assertSameAggregate, DAY, HOUR, Model, pointValue, readAggregate, T0, withDir } from './helpers.js'

const MINUTE = 60_000

/** A storage that counts the reads the engine makes. */
function counting(inner: ChunkStorage): { storage: ChunkStorage; calls: Map<string, number> } {
  const calls = new Map<string, number>()
  const storage = new Proxy(inner, {
    get(target, name, receiver) {
      const v = Reflect.get(target, name, receiver)
      if (typeof v !== 'function') return v
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1)
        return (v as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { storage, calls }
}

/** Three series over three hours: 1 s quantised readings, one series with NaN, -0 and gaps. */
function points(): EnginePoint[] {
  const out: EnginePoint[] = []
  for (let i = 0; i < 3 * 3600; i++) {
    out.push({ series: 'a/t', ts: T0 + i * 1000, value: Math.round(200 + 50 * Math.sin(i / 300)) / 10 })
    if (i % 7 !== 0) out.push({ series: 'b/v', ts: T0 + i * 1000 + 17, value: pointValue(2, i) })
    if (i % 600 < 300) out.push({ series: 'c/x', ts: T0 + i * 1000, value: i % 11 === 0 ? Number.NaN : -0 })
  }
  return out
}

const SERIES = ['a/t', 'b/v', 'c/x']

async function compare(
  engine: TimeSeriesEngine,
  model: Model,
  from: number,
  to: number,
  bucketMs: number,
  fn: AggregateFunction,
  what: string,
): Promise<void> {
  const got = await readAggregate(engine, SERIES, from, to, bucketMs, fn)
  for (const s of SERIES) {
    assertSameAggregate(got.get(s) ?? [], model.aggregate(s, from, to, bucketMs, fn), `${what}: ${fn} ${s}`)
  }
}

describe('rollups', () => {
  test('aggregates from rollups match the points, and sealed windows are read from rollups', async () => {
    await withDir(async (dir) => {
      const { storage, calls } = counting(await SqliteChunkStorage.open(dir, { fsync: false }))
      const engine = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0, storage })
      const model = new Model()
      const all = points()
      model.write(all)
      await engine.write(all)
      await engine.flush()
      assert.equal(engine.stats.rollupWindows['1m'], 3)
      const ranges: [number, number][] = [
        [T0, T0 + 3 * HOUR],
        [T0 + 90_500, T0 + 2 * HOUR + 61_001], // edges inside minutes
        [T0 - DAY, T0 + DAY],
      ]
      for (const bucketMs of [MINUTE, 5 * MINUTE, 7 * MINUTE, HOUR, 2 * HOUR]) {
        for (const [from, to] of ranges) {
          for (const fn of AGGREGATE_FUNCTIONS)
            await compare(engine, model, from, to, bucketMs, fn, `${bucketMs}`)
        }
      }
      // A 1-minute average over the three hours: rollups only, no chunk decoded.
      calls.clear()
      await readAggregate(engine, SERIES, T0, T0 + 3 * HOUR, MINUTE, 'avg')
      assert.equal(calls.get('minuteRollups'), 3)
      assert.equal(calls.get('chunks'), undefined)
      assert.equal(calls.get('windowChunks'), undefined)
      calls.clear()
      await readAggregate(engine, SERIES, T0, T0 + 3 * HOUR, HOUR, 'max')
      assert.equal(calls.get('hourRollups'), 3)
      assert.equal(calls.get('chunks'), undefined)
      // Edges inside a minute come from the chunks; the rest from the rollups.
      calls.clear()
      await readAggregate(engine, ['a/t'], T0 + 500, T0 + HOUR + 500, MINUTE, 'avg')
      assert.equal(calls.get('minuteRollups'), 1)
      assert.equal(calls.get('chunks'), 2)
      // Asked not to: points only.
      calls.clear()
      for await (const _ of engine.aggregate(['a/t'], T0, T0 + HOUR, MINUTE, 'avg', { rollups: false }));
      assert.equal(calls.get('minuteRollups'), undefined)
      // A window with points in memory (a late point) is read from points until it is sealed again.
      const late = { series: 'a/t', ts: T0 + 30 * MINUTE + 500, value: 1000 }
      model.write([late])
      await engine.write([late])
      calls.clear()
      await compare(engine, model, T0, T0 + 3 * HOUR, MINUTE, 'max', 'late, in memory')
      assert.equal(calls.get('chunks'), 1, 'the late window of a/t merges storage and memory')
      assert.equal(calls.get('minuteRollups'), 3, "a/t's other windows (one run), and the other series")
      await engine.flush()
      assert.equal(engine.stats.lateMerges, 1)
      calls.clear()
      for (const fn of AGGREGATE_FUNCTIONS)
        await compare(engine, model, T0, T0 + 3 * HOUR, MINUTE, fn, 'late, re-sealed')
      assert.equal(calls.get('windowChunks'), undefined)
      assert.equal(calls.get('chunks'), undefined)
      await engine.close()
    })
  })

  test('retention per resolution: rollups answer where points are gone', async () => {
    await withDir(async (dir) => {
      let engine = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0 })
      const model = new Model()
      // One point a minute for 45 days (into February), and a day of 1 s points at the end.
      const all: EnginePoint[] = []
      for (let m = 0; m < 45 * 1440; m++)
        all.push({ series: 'a/t', ts: T0 + m * MINUTE + 7, value: (m % 97) / 4 })
      for (let i = 0; i < 86_400; i += 5)
        all.push({ series: 'a/t', ts: T0 + 45 * DAY + i * 1000, value: i % 13 })
      model.write(all)
      for (let i = 0; i < all.length; i += 10_000) await engine.write(all.slice(i, i + 10_000))
      await engine.flush()
      const before = await readAggregate(engine, ['a/t'], T0, T0 + 46 * DAY, HOUR, 'sum')
      await engine.dropBefore(T0 + 35 * DAY)
      const partitions = await engine.partitions()
      assert.equal(partitions.filter((p) => p.tier === 'raw').length, 11)
      assert.deepEqual(
        partitions.filter((p) => p.tier !== 'raw').map((p) => p.name),
        ['rollup-1m-202501.db', 'rollup-1m-202502.db', 'rollup-1h-2025.db'],
      )
      // Minute buckets over the whole range: from rollups before the horizon, from points after.
      for (const fn of AGGREGATE_FUNCTIONS) {
        const got = await readAggregate(engine, ['a/t'], T0, T0 + 46 * DAY, 10 * MINUTE, fn)
        assertSameAggregate(
          got.get('a/t') ?? [],
          model.aggregate('a/t', T0, T0 + 46 * DAY, 10 * MINUTE, fn),
          fn,
        )
      }
      assert.deepEqual(await readAggregate(engine, ['a/t'], T0, T0 + 46 * DAY, HOUR, 'sum'), before)
      // Finer than a minute where points are gone: refused, with the reason.
      assert.throws(() => engine.aggregate(['a/t'], T0, T0 + 46 * DAY, 1000, 'avg'), /multiple of 60000/)
      // ... but fine where points are left.
      await readAggregate(engine, ['a/t'], T0 + 35 * DAY, T0 + 46 * DAY, 1000, 'avg')
      // A rollup bucket cut by the range edge is left out where its points are gone.
      const cut = await readAggregate(engine, ['a/t'], T0 + 30_000, T0 + 3 * MINUTE, MINUTE, 'count')
      assert.deepEqual(cut.get('a/t'), [
        [T0 + MINUTE, 1],
        [T0 + 2 * MINUTE, 1],
      ])
      // The point budget picks a bucket the rollups can answer.
      assert.equal(engine.pickBucket(T0, T0 + HOUR, 10_000), MINUTE)
      assert.equal(engine.pickBucket(T0 + 35 * DAY, T0 + 35 * DAY + HOUR, 10_000), 500)
      const budget = engine.aggregate(['a/t'], T0, T0 + 46 * DAY, 1, 'avg', { maxPoints: 200 })
      for await (const b of budget) {
        assert.equal(b.bucketMs, 6 * HOUR)
        assert.ok(b.values.length <= 200)
      }

      // 1-minute rollups dropped too: 1-hour ones are left.
      await engine.dropBefore(T0 + 33 * DAY, '1m')
      assert.throws(() => engine.aggregate(['a/t'], T0, T0 + 46 * DAY, MINUTE, 'avg'), /1-hour/)
      assert.equal(engine.pickBucket(T0, T0 + 46 * DAY, 1_000_000), HOUR)
      await engine.close()
      engine = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0 })
      for (const fn of AGGREGATE_FUNCTIONS) {
        const got = await readAggregate(engine, ['a/t'], T0, T0 + 46 * DAY, 6 * HOUR, fn)
        assertSameAggregate(got.get('a/t') ?? [], model.aggregate('a/t', T0, T0 + 46 * DAY, 6 * HOUR, fn), fn)
      }
      assert.throws(() => engine.aggregate(['a/t'], T0, T0 + DAY, MINUTE, 'avg'), RangeError)
      // Downsampling where only hours are left: their averages, at their starts.
      const d = await engine.downsample('a/t', T0, T0 + 2 * DAY, 1000)
      assert.equal(d.timestamps.length, 48)
      assert.ok(d.timestamps.every((t) => (t - T0) % HOUR === 0))
      await engine.close()
    })
  })

  test('the timer applies each retention; retentionMs still means raw', async () => {
    await withDir(async (dir) => {
      let engine = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0 })
      const days = [0, 50, 150, 250, 300, 330, 360, 390, 391, 392, 393, 394, 395, 396, 397, 398, 399]
      const all = days.map((d) => ({ series: 'a/t', ts: T0 + d * DAY, value: d }))
      await engine.write(all)
      await engine.flush()
      await engine.close()
      const tiers = async () => {
        const out: Record<string, number> = {}
        for (const p of await engine.partitions()) out[p.tier] = (out[p.tier] ?? 0) + 1
        return out
      }
      engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 5,
        retention: { rawMs: 10 * DAY, minuteMs: 100 * DAY, hourMs: 30 * DAY },
        now: () => T0 + 400 * DAY,
      })
      // Days, months (from October 2025) and years (2026) kept.
      const want = { raw: 10, '1m': 5, '1h': 1 }
      for (let i = 0; i < 200 && JSON.stringify(await tiers()) !== JSON.stringify(want); i++) {
        await new Promise((r) => setTimeout(r, 5))
      }
      assert.deepEqual(await tiers(), want)
      await engine.close()
      await assert.rejects(TimeSeriesEngine.open(dir, { retention: { minuteMs: -1 } }), RangeError)
      engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 5,
        retentionMs: DAY,
        now: () => T0 + 400 * DAY,
      })
      for (let i = 0; i < 200 && (await tiers()).raw !== 1; i++) await new Promise((r) => setTimeout(r, 5))
      assert.equal((await tiers()).raw, 1)
      await engine.close()
    })
  })

  test('a window sealed without complete rollups is read from its chunks', async () => {
    await withDir(async (dir) => {
      // As a version before rollups left it: chunks and a seal mark, no rollups.
      const storage = await SqliteChunkStorage.open(dir, { fsync: false })
      await storage.addSeries([{ id: 1, key: 'a/t', device: 'a' }])
      const ts = Float64Array.from({ length: 3600 }, (_, i) => T0 + i * 1000)
      const vs = Float64Array.from(ts, (_, i) => i % 10)
      const chunks: StoredChunk[] = []
      toChunks(1, { timestamps: ts, values: vs }, chunks)
      await storage.writeWindow({
        start: T0,
        end: T0 + HOUR,
        replace: true,
        chunks,
        rollups: [],
        sealPosition: 0,
      })
      await storage.close()
      const engine = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0 })
      assert.equal(engine.stats.rollupWindows['1m'], 0)
      const got = await readAggregate(engine, ['a/t'], T0, T0 + HOUR, MINUTE, 'sum')
      assert.equal(got.get('a/t')?.length, 60)
      assert.ok(got.get('a/t')?.every(([, v]) => v === 270))
      // A late point re-seals the window: a/t's rollups are written, but the window stays
      // incomplete (other series of it may have none), so it is still read from points.
      await engine.write([{ series: 'a/t', ts: T0 + 500, value: 100 }])
      await engine.flush()
      assert.equal(engine.stats.rollupWindows['1m'], 0)
      const after = await readAggregate(engine, ['a/t'], T0, T0 + HOUR, MINUTE, 'sum')
      assert.equal(after.get('a/t')?.[0]?.[1], 370)
      await engine.close()
    })
  })
})
