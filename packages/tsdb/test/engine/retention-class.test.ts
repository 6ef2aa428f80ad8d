/**
 * Retention per class (issue 4): each series gets a class when it is
 * created, each class keeps its resolutions for its own durations, and
 * retention drops each class's files whole by its own horizons.
 */
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { AGGREGATE_FUNCTIONS, type EnginePoint, TimeSeriesEngine } from '../../src/index.js'
import {
  assertSameAggregate,
  assertSamePoints,
  DAY,
  HOUR,
  Model,
  readAggregate,
  readRaw,
  T0,
  withDir,
} from './helpers.js'

const MINUTE = 60_000
/** Devices named `short-…` are the 'short' class. */
const classOf = (_key: string, device: string) => (device.startsWith('short') ? 'short' : 'default')
const KEYS = ['short-1/t', 'long-1/t']

function points(from: number, days: number): EnginePoint[] {
  const out: EnginePoint[] = []
  for (let t = from; t < from + days * DAY; t += 45_000) {
    for (const series of KEYS) out.push({ series, ts: t, value: ((t / 45_000) % 101) / 7 })
  }
  return out
}

const dayFiles = async (dir: string) =>
  (await readdir(dir)).filter((f) => f.startsWith('chunks-') && f.endsWith('.db')).sort()

describe('retention classes', () => {
  test('two classes with different raw horizons: the shorter one dropped, the other kept', async () => {
    await withDir(async (dir) => {
      const model = new Model()
      let engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 0,
        retentionClassOf: classOf,
      })
      const all = points(T0, 5)
      await engine.write(all)
      model.write(all)
      await engine.flush()
      await engine.close()
      const days = ['20250101', '20250102', '20250103', '20250104', '20250105']
      assert.deepEqual(await dayFiles(dir), [
        ...days.map((d) => `chunks-${d}.db`),
        ...days.map((d) => `chunks-short-${d}.db`),
      ])

      engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 5,
        now: () => T0 + 5 * DAY + HOUR,
        retentionClassOf: classOf,
        retention: { rawMs: 30 * DAY },
        retentionClasses: { short: { rawMs: 2 * DAY, minuteMs: 400 * DAY } },
      })
      for (let i = 0; i < 200 && (await dayFiles(dir)).length > 7; i++)
        await new Promise((r) => setTimeout(r, 5))
      assert.deepEqual(await dayFiles(dir), [
        ...days.map((d) => `chunks-${d}.db`),
        ...days.slice(3).map((d) => `chunks-short-${d}.db`),
      ])
      const check = async (e: TimeSeriesEngine, what: string) => {
        assertSamePoints(await readRaw(e, 'long-1/t'), model.raw('long-1/t'), `${what}: long kept`)
        assertSamePoints(
          await readRaw(e, 'short-1/t'),
          model.raw('short-1/t', T0 + 3 * DAY),
          `${what}: short`,
        )
        // Minute buckets: the short class's dropped days from its rollups.
        for (const fn of AGGREGATE_FUNCTIONS) {
          const got = await readAggregate(e, KEYS, T0, T0 + 5 * DAY, 10 * MINUTE, fn)
          for (const key of KEYS) {
            const want = model.aggregate(key, T0, T0 + 5 * DAY, 10 * MINUTE, fn)
            assertSameAggregate(got.get(key) ?? [], want, `${what}: ${fn} ${key}`)
          }
        }
        // A second bucket is fine for the long class alone, refused where short's points are gone.
        await readAggregate(e, ['long-1/t'], T0, T0 + 5 * DAY, 1000, 'max')
        assert.throws(() => e.aggregate(KEYS, T0, T0 + 5 * DAY, 1000, 'max'), /multiple of 60000/)
        assert.equal(e.pickBucket(T0, T0 + HOUR, 10_000), MINUTE)
      }
      await check(engine, 'after retention')
      // Late points: refused for the short class's dropped days only.
      const expired = engine.stats.expiredPoints
      await engine.write([
        { series: 'short-1/t', ts: T0 + 7, value: 1 },
        { series: 'long-1/t', ts: T0 + 7, value: 1 },
      ])
      model.write([{ series: 'long-1/t', ts: T0 + 7, value: 1 }])
      assert.equal(engine.stats.expiredPoints, expired + 1)
      await engine.close()

      // Reopened with a classifier that changed its mind: existing series keep their class.
      engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 0,
        retentionClassOf: () => 'default',
      })
      await engine.flush()
      await check(engine, 'reopened')
      await engine.write([
        { series: 'short-1/t', ts: T0 + 5 * DAY, value: 1 },
        { series: 'short-2/t', ts: T0 + 5 * DAY, value: 2 },
      ])
      await engine.flush()
      assert.ok((await dayFiles(dir)).includes('chunks-short-20250106.db'))
      assert.ok((await dayFiles(dir)).includes('chunks-20250106.db'))
      const partitions = await engine.partitions()
      const short6 = partitions.find((p) => p.name === 'chunks-short-20250106.db')
      assert.equal(short6?.retentionClass, 'short')
      await engine.close()
    })
  })

  test('the class of a series not yet in the catalogue comes back from the log', async () => {
    await withDir(async (dir) => {
      let engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 0,
        retentionClassOf: classOf,
      })
      await engine.write(points(T0, 1))
      await engine.close()
      engine = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0 })
      await engine.flush()
      await engine.close()
      assert.ok((await dayFiles(dir)).includes('chunks-short-20250101.db'))
      engine = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0 })
      assert.equal((await readRaw(engine, 'short-1/t')).length, DAY / 45_000)
      await engine.close()
    })
  })

  test('a window sealed for one class but not the other (a crash between) replays only the other', async () => {
    await withDir(async (dir) => {
      // One log record with points of two windows: sealing the first leaves the record in the log.
      const batch = points(T0, 1).filter((p) => p.ts < T0 + 2 * HOUR)
      const model = new Model()
      model.write(batch)
      const engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 5,
        graceMs: 60_000,
        now: () => T0 + HOUR + 120_000,
        retentionClassOf: classOf,
      })
      await engine.write(batch)
      for (let i = 0; i < 200 && engine.stats.seals === 0; i++) await new Promise((r) => setTimeout(r, 5))
      assert.equal(engine.stats.seals, 1)
      await engine.close()
      // As if the process died between the 'short' class's write and the default class's.
      const { default: Database } = await import('better-sqlite3')
      const db = new Database(join(dir, 'chunks-20250101.db'))
      db.exec('DELETE FROM chunks; DELETE FROM sealed;')
      db.close()
      const again = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 0,
        retentionClassOf: classOf,
      })
      for (const key of KEYS) assertSamePoints(await readRaw(again, key), model.raw(key), `${key} replayed`)
      await again.flush()
      await again.close()
      const last = await TimeSeriesEngine.open(dir, { fsync: false, sealCheckMs: 0 })
      for (const key of KEYS) assertSamePoints(await readRaw(last, key), model.raw(key), `${key} sealed`)
      await last.close()
    })
  })

  test('setRetentionClasses changes the horizons of a class at run time (a device type retention changed)', async () => {
    await withDir(async (dir) => {
      const model = new Model()
      const engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 5,
        now: () => T0 + 5 * DAY + HOUR,
        retentionClassOf: classOf,
        // Nothing is dropped at first: 'short' is not configured yet (keeps everything).
        retention: { rawMs: 30 * DAY },
      })
      const all = points(T0, 5)
      await engine.write(all)
      model.write(all)
      await engine.flush()
      const days = ['20250101', '20250102', '20250103', '20250104', '20250105']
      const everything = [...days.map((d) => `chunks-${d}.db`), ...days.map((d) => `chunks-short-${d}.db`)]
      await new Promise((r) => setTimeout(r, 30))
      assert.deepEqual(await dayFiles(dir), everything)

      // A bad name or duration throws and changes nothing.
      assert.throws(() => engine.setRetentionClasses({ 'Not A Class': { rawMs: DAY } }), RangeError)
      assert.throws(() => engine.setRetentionClasses({ short: { rawMs: -1 } }), RangeError)
      await new Promise((r) => setTimeout(r, 30))
      assert.deepEqual(await dayFiles(dir), everything)

      engine.setRetentionClasses({ short: { rawMs: 2 * DAY } })
      for (let i = 0; i < 200 && (await dayFiles(dir)).length > 7; i++)
        await new Promise((r) => setTimeout(r, 5))
      assert.deepEqual(await dayFiles(dir), [
        ...days.map((d) => `chunks-${d}.db`),
        ...days.slice(3).map((d) => `chunks-short-${d}.db`),
      ])
      assertSamePoints(await readRaw(engine, 'long-1/t'), model.raw('long-1/t'), 'the default class kept')
      assertSamePoints(
        await readRaw(engine, 'short-1/t'),
        model.raw('short-1/t', T0 + 3 * DAY),
        'short dropped to its new horizon',
      )
      // Longer again: what is gone stays gone, and nothing more is dropped.
      engine.setRetentionClasses({ short: { rawMs: 4 * DAY } })
      await new Promise((r) => setTimeout(r, 30))
      assert.equal((await dayFiles(dir)).length, 7)
      await engine.close()
      assert.throws(() => engine.setRetentionClasses({}), /closed/)
    })
  })

  test('class names are checked', async () => {
    await withDir(async (dir) => {
      await assert.rejects(
        TimeSeriesEngine.open(dir, { retentionClasses: { 'Bad Name': { rawMs: DAY } } }),
        RangeError,
      )
      await assert.rejects(TimeSeriesEngine.open(dir, { retentionClasses: { ok: { rawMs: 0 } } }), RangeError)
      const engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 0,
        retentionClassOf: () => '-x',
      })
      await assert.rejects(engine.write([{ series: 'a/t', ts: T0, value: 1 }]), RangeError)
      await engine.close()
    })
  })

  test('the archive keeps each class apart', async () => {
    await withDir(async (dir) => {
      const model = new Model()
      const engine = await TimeSeriesEngine.open(dir, {
        fsync: false,
        sealCheckMs: 0,
        retentionClassOf: classOf,
        archive: {},
      })
      const all = points(T0, 3)
      await engine.write(all)
      model.write(all)
      await engine.flush()
      await engine.dropBefore(T0 + 2 * DAY, 'raw', 'short')
      await engine.dropBefore(T0 + DAY, 'raw')
      assert.deepEqual((await readdir(join(dir, 'archive'))).sort(), [
        'raw-20250101.parquet',
        'raw-short-20250101.parquet',
        'raw-short-20250102.parquet',
      ])
      for (const key of KEYS) {
        assertSamePoints(await readRaw(engine, key), model.raw(key), `${key} across the horizon`)
        const got = await readAggregate(engine, [key], T0, T0 + 3 * DAY, 7_000, 'sum')
        assertSameAggregate(got.get(key) ?? [], model.aggregate(key, T0, T0 + 3 * DAY, 7_000, 'sum'), key)
      }
      await engine.close()
    })
  })
})
