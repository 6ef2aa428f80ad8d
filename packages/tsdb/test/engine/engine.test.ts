import assert from 'node:assert/strict'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { type EnginePoint, MAX_CHUNK_POINTS, TimeSeriesEngine, TsdbEngineError } from '../../src/index.js'
import {
  assertSamePoints,
  DAY,
  HOUR,
  Model,
  pointValue,
  prng,
  readAggregate,
  readRaw,
  T0,
  withDir,
} from './helpers.js'

const open = (dir: string, now?: () => number) =>
  TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0, ...(now ? { now } : {}) })

/** Three hours of three series at 1 s, values of every kind (NaN payloads, -0, raw bits). */
function threeHours(): EnginePoint[] {
  const points: EnginePoint[] = []
  for (let i = 0; i < 3 * 3600; i++) {
    for (let s = 0; s < 3; s++)
      points.push({ series: `dev-${s}/m${s}`, ts: T0 + i * 1000, value: pointValue(s, i) })
  }
  return points
}

async function assertModel(engine: TimeSeriesEngine, model: Model, what: string): Promise<void> {
  for (const series of model.series.keys()) {
    assertSamePoints(await readRaw(engine, series), model.raw(series), `${what}, ${series}`)
  }
}

describe('TimeSeriesEngine', () => {
  test('reads back bit-exact from the head, after a seal, and after a reopen', async () => {
    await withDir(async (dir) => {
      const model = new Model()
      const points = threeHours()
      model.write(points)
      let engine = await open(dir)
      for (let i = 0; i < points.length; i += 1000) await engine.write(points.slice(i, i + 1000))
      await assertModel(engine, model, 'head')
      // A range in the middle, cut inside windows.
      const from = T0 + 1800_000 + 500
      const to = T0 + 2 * HOUR + 123_456
      assertSamePoints(await readRaw(engine, 'dev-1/m1', from, to), model.raw('dev-1/m1', from, to), 'range')
      await engine.flush()
      assert.equal(engine.stats.headPoints, 0)
      assert.equal(engine.stats.seals, 3)
      await assertModel(engine, model, 'sealed')
      assertSamePoints(
        await readRaw(engine, 'dev-1/m1', from, to),
        model.raw('dev-1/m1', from, to),
        'sealed range',
      )
      await engine.close()
      engine = await open(dir)
      assert.equal(engine.stats.replayedPoints, 0, 'the checkpoint covers everything sealed')
      await assertModel(engine, model, 'reopened')
      assert.deepEqual(engine.series({ device: 'dev-2' }), ['dev-2/m2'])
      assert.deepEqual(engine.series().sort(), ['dev-0/m0', 'dev-1/m1', 'dev-2/m2'])
      assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.db')).sort(), [
        'chunks-20250101.db',
        'rollup-1h-2025.db',
        'rollup-1m-202501.db',
        'series.db',
      ])
      await engine.close()
    })
  })

  test('after flush() the directory holds the data: the log one empty segment, no -wal bytes', async () => {
    await withDir(async (dir) => {
      const model = new Model()
      const points = threeHours()
      model.write(points)
      const engine = await open(dir)
      for (let i = 0; i < points.length; i += 1000) await engine.write(points.slice(i, i + 1000))
      const logBytes = async () => {
        let n = 0
        for (const f of await readdir(join(dir, 'wal'))) {
          if (f.startsWith('wal-')) n += (await stat(join(dir, 'wal', f))).size
        }
        return n
      }
      assert.ok((await logBytes()) > 100_000, 'the points are in the log before the seal')
      await engine.flush()
      // While still open: what flush() leaves on disk.
      assert.equal(await logBytes(), 16, 'one segment, its header only')
      for (const f of (await readdir(dir)).filter((f) => f.endsWith('-wal'))) {
        assert.equal((await stat(join(dir, f))).size, 0, f)
      }
      // Writes go on in the new segment, and a reopen replays them.
      await engine.write([{ series: 'dev-0/m0', ts: T0 + 5 * HOUR, value: 1 }])
      model.write([{ series: 'dev-0/m0', ts: T0 + 5 * HOUR, value: 1 }])
      await engine.close()
      const again = await open(dir)
      assert.equal(again.stats.replayedPoints, 1)
      await assertModel(again, model, 'reopened')
      await again.close()
    })
  })

  test('replays unsealed points after a close, and skips those a seal already stored', async () => {
    await withDir(async (dir) => {
      let now = T0 + HOUR
      const model = new Model()
      let engine = await open(dir, () => now)
      // Interleaved: window 0's points go on after window 1's first ones.
      const a = [0, 1, 2].map((i) => ({ series: 'd/x', ts: T0 + HOUR - 10 + i, value: i }))
      const b = [0, 1].map((i) => ({ series: 'd/y', ts: T0 + HOUR + i, value: 10 + i }))
      const c = [{ series: 'd/x', ts: T0 + HOUR - 1, value: 99 }]
      for (const batch of [a, b, c]) {
        model.write(batch)
        await engine.write(batch)
      }
      now = T0 + HOUR + 10 * 60_000
      await (engine as unknown as { seal(s: number[]): Promise<void> }).seal([T0])
      assert.equal(engine.stats.headWindows, 1)
      await engine.close()
      engine = await open(dir)
      // Window 1's record comes before c in the log: replay reads c again and must skip it.
      assert.equal(engine.stats.replayedPoints, 2)
      await assertModel(engine, model, 'after replay')
      await engine.close()
    })
  })

  test('out-of-order points, and a later write of the same timestamp replacing the earlier one', async () => {
    await withDir(async (dir) => {
      const random = prng(7)
      const model = new Model()
      const engine = await open(dir)
      for (let round = 0; round < 20; round++) {
        const batch = Array.from({ length: 500 }, () => ({
          series: `dev-${Math.floor(random() * 4)}/v`,
          ts: T0 + Math.floor(random() * 2 * HOUR),
          value: Math.floor(random() * 1000) / 10,
        }))
        model.write(batch)
        await engine.write(batch)
      }
      await assertModel(engine, model, 'head')
      await engine.flush()
      await assertModel(engine, model, 'sealed')
      await engine.close()
    })
  })

  test('late points: merged at read until the next seal, then into the stored chunk', async () => {
    await withDir(async (dir) => {
      const model = new Model()
      let engine = await open(dir)
      const first = Array.from({ length: 100 }, (_, i) => ({ series: 'd/t', ts: T0 + i * 1000, value: i }))
      model.write(first)
      await engine.write(first)
      await engine.flush()
      // After the seal: new timestamps inside the window and a replacement of a stored one.
      const late = [
        { series: 'd/t', ts: T0 + 500, value: -1 },
        { series: 'd/t', ts: T0 + 50_000, value: -2 },
        { series: 'd/t', ts: T0 + HOUR + 5, value: -3 },
      ]
      model.write(late)
      await engine.write(late)
      await assertModel(engine, model, 'merged at read')
      const counts = await readAggregate(engine, ['d/t'], T0, T0 + 2 * HOUR, HOUR, 'count')
      assert.deepEqual(counts.get('d/t'), [
        [T0, 101],
        [T0 + HOUR, 1],
      ])
      await engine.close()
      engine = await open(dir)
      await assertModel(engine, model, 'replayed late points')
      await engine.flush()
      assert.equal(engine.stats.lateMerges, 1)
      await assertModel(engine, model, 'merged into storage')
      await engine.close()
      engine = await open(dir)
      assert.equal(engine.stats.replayedPoints, 0)
      await assertModel(engine, model, 'reopened')
      await engine.close()
    })
  })

  test('a window with more points than a chunk holds is cut into several chunks', async () => {
    await withDir(async (dir) => {
      const engine = await open(dir)
      const n = MAX_CHUNK_POINTS * 2 + 100
      const points = Array.from({ length: n }, (_, i) => ({
        series: 'fast/vib',
        ts: T0 + i * 20,
        value: i * 0.5,
      }))
      const model = new Model()
      model.write(points)
      await engine.write(points)
      await engine.flush()
      await assertModel(engine, model, 'split')
      const sum = await readAggregate(engine, ['fast/vib'], T0, T0 + HOUR, HOUR, 'sum')
      assert.equal(sum.get('fast/vib')?.[0]?.[1], (0.5 * (n - 1) * n) / 2)
      await engine.close()
    })
  })

  test('latest() from storage, head and late writes', async () => {
    await withDir(async (dir) => {
      let engine = await open(dir)
      await engine.write([
        { series: 'a/x', ts: T0 + 10, value: 1 },
        { series: 'b/x', ts: T0 + 20, value: 2 },
      ])
      await engine.flush()
      await engine.write([{ series: 'b/x', ts: T0 + HOUR, value: 3 }])
      assert.deepEqual(await engine.latest(['a/x', 'b/x', 'c/x']), [
        { series: 'a/x', ts: T0 + 10, value: 1 },
        { series: 'b/x', ts: T0 + HOUR, value: 3 },
        undefined,
      ])
      // Kept up by writes once loaded: an older point does not replace it, an equal timestamp does.
      await engine.write([
        { series: 'a/x', ts: T0 + 5, value: 9 },
        { series: 'b/x', ts: T0 + HOUR, value: 4 },
      ])
      assert.deepEqual(
        (await engine.latest(['a/x', 'b/x'])).map((p) => p?.value),
        [1, 4],
      )
      await engine.close()
      engine = await open(dir)
      assert.deepEqual(
        (await engine.latest(['a/x', 'b/x'])).map((p) => p?.value),
        [1, 4],
      )
      await engine.close()
    })
  })

  test('seals a window once the clock passes its end plus the grace period', async () => {
    await withDir(async (dir) => {
      let now = T0 + 30 * 60_000
      const engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 5,
        graceMs: 60_000,
        now: () => now,
      })
      await engine.write([{ series: 'd/x', ts: T0 + 1000, value: 1 }])
      await new Promise((r) => setTimeout(r, 30))
      assert.equal(engine.stats.seals, 0)
      now = T0 + HOUR + 60_000
      for (let i = 0; i < 100 && engine.stats.seals === 0; i++) await new Promise((r) => setTimeout(r, 5))
      assert.equal(engine.stats.seals, 1)
      assert.equal(engine.stats.headPoints, 0)
      assertSamePoints(await readRaw(engine, 'd/x'), [[T0 + 1000, 1]], 'sealed by the clock')
      await engine.close()
    })
  })

  test('retention drops whole day files, and points older than the horizon', async () => {
    await withDir(async (dir) => {
      let engine = await open(dir)
      const points = [0, 1, 2].map((d) => ({ series: 'd/x', ts: T0 + d * DAY + 5, value: d }))
      await engine.write(points)
      await engine.flush()
      const files = async () =>
        (await readdir(dir)).filter((f) => f.startsWith('chunks-') && f.endsWith('.db')).sort()
      assert.deepEqual(await files(), ['chunks-20250101.db', 'chunks-20250102.db', 'chunks-20250103.db'])
      // Mid-day: rounded down, so the 2nd of January stays.
      await engine.dropBefore(T0 + DAY + 12 * HOUR)
      assert.deepEqual(await files(), ['chunks-20250102.db', 'chunks-20250103.db'])
      assertSamePoints(
        await readRaw(engine, 'd/x'),
        [
          [T0 + DAY + 5, 1],
          [T0 + 2 * DAY + 5, 2],
        ],
        'after drop',
      )
      await engine.write([{ series: 'd/x', ts: T0 + 7, value: 7 }])
      assert.equal(engine.stats.expiredPoints, 1)
      await engine.close()
      engine = await open(dir)
      assert.equal((await readRaw(engine, 'd/x')).length, 2)
      await engine.flush()
      assert.deepEqual(await files(), ['chunks-20250102.db', 'chunks-20250103.db'])
      await engine.close()
      // retentionMs: the timer drops what is older.
      engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 5,
        retentionMs: DAY,
        now: () => T0 + 3 * DAY + HOUR,
      })
      for (let i = 0; i < 100 && (await files()).length > 1; i++) await new Promise((r) => setTimeout(r, 5))
      assert.deepEqual(await files(), ['chunks-20250103.db'])
      await engine.close()
    })
  })

  test('bad input and closed engine', async () => {
    await withDir(async (dir) => {
      const engine = await open(dir)
      await assert.rejects(engine.write([{ series: 'd/x', ts: 1.5, value: 1 }]), RangeError)
      await assert.rejects(engine.write([{ series: '', ts: 1, value: 1 }]), RangeError)
      await assert.rejects(engine.write([{ series: 'd/x', ts: 2 ** 51, value: 1 }]), RangeError)
      await assert.rejects(
        engine.write([{ series: 'd/x', ts: 1, value: '1' as unknown as number }]),
        RangeError,
      )
      assert.equal((await readRaw(engine, 'd/x')).length, 0, 'a rejected batch writes nothing')
      assert.throws(() => engine.aggregate(['d/x'], 0, 1, 0, 'avg'), RangeError)
      assert.throws(() => engine.aggregate(['d/x'], 0, 1, 10, 'median' as 'avg'), RangeError)
      await engine.close()
      await assert.rejects(
        engine.write([{ series: 'd/x', ts: 1, value: 1 }]),
        (err) => err instanceof TsdbEngineError && err.code === 'STRATA_TSDB_CLOSED',
      )
    })
  })
})
