/**
 * The cold tier wired into the engine: retention exports raw days to the
 * archive before dropping them, and queries read them back below the raw
 * horizon (engine/cold.ts): raw points bit-exact and in order across the
 * boundary, aggregates over archived days at any bucket, a kill between the
 * export and the drop, a failed export retried, and a damaged archive file
 * failing the query with its error code.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdir, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { TsdbArchiveError } from '../../src/archive/index.js'
import { AGGREGATE_FUNCTIONS } from '../../src/engine/aggregate.js'
import { type EngineOptions, type EnginePoint, TimeSeriesEngine } from '../../src/engine/engine.js'
import { assertSameAggregate, assertSamePoints, Model, readAggregate, readRaw } from '../engine/helpers.js'
import { DAY, HOUR, SPECIALS, T0, withDir } from './helpers.js'

const MINUTE = 60_000
const SERIES = ['dev-0/t', 'dev-1/t', 'dev-2/t']

/** Five days of points every 37 s for three series; dev-0 carries the awkward doubles. */
function days(n = 5): EnginePoint[] {
  const out: EnginePoint[] = []
  for (let t = T0; t < T0 + n * DAY; t += 37_000) {
    SERIES.forEach((series, d) => {
      const i = (t - T0) / 37_000
      const value =
        d === 0 ? (SPECIALS[i % SPECIALS.length] as number) : Math.round(Math.sin(i / 50 + d) * 1e4) / 100
      out.push({ series, ts: t + d, value })
    })
  }
  return out
}

async function filled(
  dir: string,
  options: EngineOptions,
  points = days(),
): Promise<[TimeSeriesEngine, Model]> {
  const engine = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0, ...options })
  const model = new Model()
  for (let i = 0; i < points.length; i += 20_000) await engine.write(points.slice(i, i + 20_000))
  model.write(points)
  await engine.flush()
  return [engine, model]
}

const rawDays = async (engine: TimeSeriesEngine) =>
  (await engine.partitions()).filter((p) => p.tier === 'raw').map((p) => (p.start - T0) / DAY)

async function assertQueries(engine: TimeSeriesEngine, model: Model, what: string): Promise<void> {
  const ranges: [number, number][] = [
    [-(2 ** 51), 2 ** 51],
    [T0 + DAY + 5 * HOUR + 17, T0 + 3 * DAY + 2 * HOUR], // across the horizon (day 3)
    [T0 + DAY / 2, T0 + DAY], // archive only
    [T0 + 4 * DAY, T0 + 5 * DAY], // hot only
  ]
  for (const key of SERIES) {
    for (const [from, to] of ranges) {
      assertSamePoints(
        await readRaw(engine, key, from, to),
        model.raw(key, from, to),
        `${what} raw ${key} ${from}`,
      )
    }
  }
  // A bucket finer than any rollup over archived days, and one the rollups answer (edges from the archive).
  const from = T0 + 7_777
  const to = T0 + 4 * DAY + 123_456
  for (const bucketMs of [10_000, 10 * MINUTE, 6 * HOUR]) {
    for (const fn of AGGREGATE_FUNCTIONS) {
      const got = await readAggregate(engine, SERIES, from, to, bucketMs, fn)
      for (const key of SERIES) {
        const want = model.aggregate(key, from, to, bucketMs, fn)
        assertSameAggregate(got.get(key) ?? [], want, `${what} ${fn}/${bucketMs} ${key}`)
      }
    }
  }
}

describe('the engine with an archive', () => {
  test('retention exports raw days, queries read across the horizon bit-exact and in order', async () => {
    await withDir(async (dir) => {
      const [engine, model] = await filled(dir, { archive: {} })
      assert.deepEqual(await rawDays(engine), [0, 1, 2, 3, 4])
      await engine.dropBefore(T0 + 3 * DAY + 5 * HOUR)
      assert.deepEqual(await rawDays(engine), [3, 4])
      assert.deepEqual((await readdir(join(dir, 'archive'))).sort(), [
        'raw-20250101.parquet',
        'raw-20250102.parquet',
        'raw-20250103.parquet',
      ])
      const archivedPoints = model.raw(SERIES[0] as string, T0, T0 + 3 * DAY).length * 3
      assert.deepEqual(engine.stats.archived, { partitions: 3, points: archivedPoints })
      await assertQueries(engine, model, 'after the drop')
      // Late points for archived days are refused, as without an archive.
      const expired = engine.stats.expiredPoints
      await engine.write([{ series: 'dev-1/t', ts: T0 + 5, value: 1 }])
      assert.equal(engine.stats.expiredPoints, expired + 1)
      // Downsampling reads the rollups where points are gone, as before.
      const d = await engine.downsample('dev-1/t', T0, T0 + 5 * DAY, 500)
      assert.ok(d.timestamps.length > 0 && d.timestamps.length <= 500)
      await engine.close()

      // Reopened: the horizon comes from storage, the archive is read again.
      const again = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0, archive: {} })
      await assertQueries(again, model, 'reopened')
      // Without reading the archive: what retention left, as before (a fine bucket is refused).
      await again.close()
      const hotOnly = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 0,
        archive: { query: false },
      })
      assertSamePoints(await readRaw(hotOnly, 'dev-1/t'), model.raw('dev-1/t', T0 + 3 * DAY), 'query: false')
      assert.throws(() => hotOnly.aggregate(SERIES, T0, T0 + 5 * DAY, 10_000, 'avg'), RangeError)
      await hotOnly.close()
    })
  })

  test('aggregates over days whose rollups are gone too come from the archive', async () => {
    await withDir(async (dir) => {
      const [engine, model] = await filled(dir, { archive: { dir: join(dir, 'cold') } })
      await engine.dropBefore(T0 + 2 * DAY)
      await engine.dropBefore(T0 + 40 * DAY, '1m')
      await engine.dropBefore(T0 + 400 * DAY, '1h')
      assert.deepEqual(
        (await engine.partitions()).map((p) => p.tier),
        ['raw', 'raw', 'raw'],
      )
      await assertQueries(engine, model, 'no rollups')
      // Downsampling with no rollup left: archived points.
      const d = await engine.downsample('dev-2/t', T0, T0 + DAY, 100)
      assert.ok(d.timestamps.length === 100)
      await engine.close()
    })
  })

  test('the retention timer archives, and retries a failed export at the next check', async () => {
    await withDir(async (dir) => {
      const archive = join(dir, 'cold')
      // A file where the archive directory should be: exports fail.
      await writeFile(archive, 'in the way')
      const errors: unknown[] = []
      const [filledEngine, model] = await filled(dir, {})
      await filledEngine.close()
      const engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 5,
        retention: { rawMs: 2 * DAY },
        now: () => T0 + 5 * DAY + HOUR,
        archive: { dir: archive },
        onError: (err) => errors.push(err),
      })
      for (let i = 0; i < 200 && errors.length < 2; i++) await new Promise((r) => setTimeout(r, 5))
      assert.ok(errors.length >= 2, 'told, and retried')
      assert.deepEqual(await rawDays(engine), [0, 1, 2, 3, 4], 'nothing dropped without its export')
      assertSamePoints(await readRaw(engine, 'dev-1/t'), model.raw('dev-1/t'), 'all still hot')
      await rm(archive)
      for (let i = 0; i < 400 && (await rawDays(engine)).length > 2; i++)
        await new Promise((r) => setTimeout(r, 5))
      assert.deepEqual(await rawDays(engine), [3, 4])
      await assertQueries(engine, model, 'after the retry')
      await engine.close()
    })
  })

  test('a raw read streaming while retention archives the day it is in sees every point once', async () => {
    await withDir(async (dir) => {
      const [engine, model] = await filled(dir, { archive: {} })
      const it = engine.raw('dev-0/t', T0, T0 + 5 * DAY)[Symbol.asyncIterator]()
      const got: [number, number][] = []
      const take = (b: { timestamps: Float64Array; values: Float64Array }) => {
        for (let i = 0; i < b.timestamps.length; i++)
          got.push([b.timestamps[i] as number, b.values[i] as number])
      }
      for (let i = 0; i < 3; i++) take((await it.next()).value)
      await engine.dropBefore(T0 + 2 * DAY)
      for (let r = await it.next(); !r.done; r = await it.next()) take(r.value)
      assertSamePoints(got, model.raw('dev-0/t', T0, T0 + 5 * DAY), 'read across a drop')
      await engine.close()
    })
  })

  test('a damaged archive file fails the query with its error code, not a partial answer', async () => {
    await withDir(async (dir) => {
      const [engine, model] = await filled(dir, { archive: {} })
      await engine.dropBefore(T0 + 3 * DAY)
      await truncate(join(dir, 'archive', 'raw-20250102.parquet'), 1000)
      const code = (err: unknown) =>
        err instanceof TsdbArchiveError && err.code === 'STRATA_TSDB_ARCHIVE_TRUNCATED'
      await assert.rejects(readRaw(engine, 'dev-1/t', T0, T0 + 5 * DAY), code)
      await assert.rejects(readAggregate(engine, SERIES, T0, T0 + 5 * DAY, 1000, 'max'), code)
      // Ranges that do not reach the damaged day are answered.
      assertSamePoints(
        await readRaw(engine, 'dev-1/t', T0, T0 + DAY),
        model.raw('dev-1/t', T0, T0 + DAY),
        'day 0',
      )
      assertSamePoints(
        await readRaw(engine, 'dev-1/t', T0 + 2 * DAY),
        model.raw('dev-1/t', T0 + 2 * DAY),
        'days 2-4',
      )
      await engine.close()
    })
  })

  test('SIGKILL between the export and the drop: nothing lost or doubled, and the drop is redone', {
    timeout: 120_000,
  }, async () => {
    await withDir(async (dir) => {
      const [engine, model] = await filled(dir, {})
      await engine.close()
      const child = fileURLToPath(new URL('./crash-drop.ts', import.meta.url))
      const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, String(T0 + 2 * DAY)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_c, s) => resolve(s)))
      const lines: string[] = []
      for await (const line of createInterface({ input: proc.stdout })) lines.push(line)
      assert.equal(await exited, 'SIGKILL')
      assert.deepEqual(lines, ['exported'])
      // Both days are in the archive and still in storage.
      assert.deepEqual((await readdir(join(dir, 'archive'))).sort(), [
        'raw-20250101.parquet',
        'raw-20250102.parquet',
      ])
      const again = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0, archive: {} })
      assert.deepEqual(await rawDays(again), [0, 1, 2, 3, 4])
      await assertQueries(again, model, 'after the kill')
      // The next retention run exports again (same files) and drops.
      await again.dropBefore(T0 + 2 * DAY)
      assert.deepEqual(await rawDays(again), [2, 3, 4])
      assert.deepEqual((await readdir(join(dir, 'archive'))).sort(), [
        'raw-20250101.parquet',
        'raw-20250102.parquet',
      ])
      await assertQueries(again, model, 'after the redone drop')
      await again.close()
    })
  })
})
