/**
 * The behaviour every ChunkStorage must show (as Aedes' persistence suite):
 * run it with a factory for each implementation (sqlite-storage.test.ts; a
 * PostgreSQL one later).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type {
  ChunkStorage,
  ChunkSummary,
  HourRollup,
  MinuteRollup,
  SeriesRollup,
  StoredChunk,
} from '../../src/index.js'
import { bits, DAY, HOUR, T0, withDir } from './helpers.js'

const NAN_PAYLOAD = new Float64Array(new BigUint64Array([0x7ff4_0000_0000_0001n]).buffer)[0] as number

function chunk(seriesId: number, startTs: number, endTs: number, tag = 0): StoredChunk {
  return {
    seriesId,
    startTs,
    endTs,
    count: 2,
    min: -0,
    max: Infinity,
    sum: NAN_PAYLOAD,
    first: tag,
    last: -Infinity,
    data: Uint8Array.of(1, 2, 3, tag),
  }
}

/** A rollup whose blob and first value carry a tag; summary values that SQL would not keep as is. */
function rollup(seriesId: number, tag = 0): SeriesRollup {
  return {
    seriesId,
    minutes: Uint8Array.of(9, tag, 7),
    hour: { count: 3 + tag, min: -0, max: Infinity, sum: NAN_PAYLOAD, first: tag, last: -Infinity },
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out = []
  for await (const c of it) out.push(c)
  return out
}

const MONTH = 31 * DAY

export function chunkStorageSuite(name: string, open: (dir: string) => Promise<ChunkStorage>): void {
  describe(`ChunkStorage contract: ${name}`, () => {
    test('an empty storage', async () => {
      await withDir(async (dir) => {
        const s = await open(dir)
        const state = await s.load()
        assert.deepEqual(state.series, [])
        assert.equal(state.sealMarks.size, 0)
        assert.equal(state.droppedBefore, Number.NEGATIVE_INFINITY)
        assert.equal(await s.lastChunk(1), undefined)
        assert.deepEqual(await collect(s.chunks(1, { from: 0, to: T0 * 2, data: true })), [])
        assert.deepEqual(await s.windowChunks(1, T0, T0 + HOUR), [])
        await s.close()
      })
    })

    test('series, chunks with bit-exact summaries, and seal marks survive a reopen', async () => {
      await withDir(async (dir) => {
        let s = await open(dir)
        await s.addSeries([
          { id: 1, key: 'd1/t', device: 'd1' },
          { id: 2, key: 'd2/t', device: 'd2' },
        ])
        await s.addSeries([{ id: 1, key: 'd1/t', device: 'd1' }])
        await s.writeWindow({
          start: T0,
          end: T0 + HOUR,
          replace: false,
          chunks: [chunk(1, T0, T0 + 10), chunk(2, T0 + 5, T0 + 6)],
          rollups: [],
          sealPosition: 100,
        })
        await s.close()
        s = await open(dir)
        const state = await s.load()
        assert.deepEqual(
          state.series.map((r) => [r.id, r.key, r.device]),
          [
            [1, 'd1/t', 'd1'],
            [2, 'd2/t', 'd2'],
          ],
        )
        assert.deepEqual([...state.sealMarks], [[T0, 100]])
        const [c] = await s.windowChunks(1, T0, T0 + HOUR)
        assert.ok(c !== undefined)
        const want = chunk(1, T0, T0 + 10)
        for (const k of ['min', 'max', 'sum', 'first', 'last'] as const)
          assert.equal(bits(c[k]), bits(want[k]), k)
        assert.deepEqual([...c.data], [...want.data])
        await s.close()
      })
    })

    test('chunks() streams overlapping chunks in order, across pages and days, with or without bytes', async () => {
      await withDir(async (dir) => {
        const s = await open(dir)
        // 300 chunks of 10 s in the first hour of two days: more than a page either way.
        for (const day of [0, 1]) {
          const chunks = Array.from({ length: 300 }, (_, i) =>
            chunk(7, T0 + day * DAY + i * 10_000, T0 + day * DAY + i * 10_000 + 9_999, i % 256),
          )
          await s.writeWindow({
            start: T0 + day * DAY,
            end: T0 + day * DAY + HOUR,
            replace: false,
            chunks,
            rollups: [],
            sealPosition: day,
          })
        }
        for (const data of [true, false]) {
          const all = await collect(s.chunks(7, { from: T0, to: T0 + 2 * DAY, data }))
          assert.equal(all.length, 600)
          assert.ok(all.every((c, i) => i === 0 || c.startTs > (all[i - 1] as ChunkSummary).startTs))
          assert.equal(
            all.every((c) => 'data' in c),
            data,
          )
        }
        // Overlap: a chunk that starts before `from` but ends at or after it is included.
        const part = await collect(s.chunks(7, { from: T0 + 15_000, to: T0 + 30_000, data: false }))
        assert.deepEqual(
          part.map((c) => c.startTs - T0),
          [10_000, 20_000],
        )
        assert.equal((await s.lastChunk(7))?.startTs, T0 + DAY + 299 * 10_000)
        await s.close()
      })
    })

    test("a replacing write swaps the listed series' chunks in the window and keeps the others", async () => {
      await withDir(async (dir) => {
        const s = await open(dir)
        await s.writeWindow({
          start: T0,
          end: T0 + HOUR,
          replace: false,
          chunks: [chunk(1, T0, T0 + 10), chunk(1, T0 + 20, T0 + 30), chunk(2, T0, T0 + 10)],
          rollups: [],
          sealPosition: 5,
        })
        await s.writeWindow({
          start: T0,
          end: T0 + HOUR,
          replace: true,
          chunks: [chunk(1, T0 + 5, T0 + 40, 9)],
          rollups: [],
          sealPosition: 9,
        })
        assert.deepEqual(
          (await s.windowChunks(1, T0, T0 + HOUR)).map((c) => [c.startTs - T0, c.first]),
          [[5, 9]],
        )
        assert.equal((await s.windowChunks(2, T0, T0 + HOUR)).length, 1)
        assert.deepEqual([...(await s.load()).sealMarks], [[T0, 9]])
        await s.close()
      })
    })

    test('dropBefore drops whole partitions and remembers the horizon', async () => {
      await withDir(async (dir) => {
        let s = await open(dir)
        for (const day of [0, 1, 2]) {
          const start = T0 + day * DAY
          await s.writeWindow({
            start,
            end: start + HOUR,
            replace: false,
            chunks: [chunk(1, start, start + 1)],
            rollups: [],
            sealPosition: day,
          })
        }
        const raw = async () => (await s.partitions()).filter((p) => p.tier === 'raw')
        assert.equal((await raw()).length, 3)
        const r = await s.dropBefore(T0 + DAY + 5)
        assert.equal(r.droppedBefore, T0 + DAY)
        assert.deepEqual(
          r.partitions.map((p) => p.start),
          [T0],
        )
        assert.deepEqual(
          (await raw()).map((p) => p.start),
          [T0 + DAY, T0 + 2 * DAY],
        )
        assert.deepEqual(
          (await collect(s.chunks(1, { from: 0, to: T0 + 3 * DAY, data: false }))).map((c) => c.startTs),
          [T0 + DAY, T0 + 2 * DAY],
        )
        await s.close()
        s = await open(dir)
        const state = await s.load()
        assert.equal(state.droppedBefore, T0 + DAY)
        assert.deepEqual([...state.sealMarks.keys()].sort(), [T0 + DAY, T0 + 2 * DAY])
        // The horizon never moves back.
        assert.equal((await s.dropBefore(T0)).droppedBefore, T0 + DAY)
        await s.close()
      })
    })
    test('retention classes: partitions, seal marks, rollups and horizons per class', async () => {
      await withDir(async (dir) => {
        let s = await open(dir)
        await s.addSeries([
          { id: 1, key: 'a/t', device: 'a' },
          { id: 2, key: 'b/t', device: 'b', retentionClass: 'long' },
        ])
        for (const day of [0, 1, 2]) {
          const start = T0 + day * DAY
          const w = { start, end: start + HOUR, replace: false, sealPosition: 10 + day }
          await s.writeWindow({ ...w, chunks: [chunk(1, start, start + 1)], rollups: [rollup(1)] })
          await s.writeWindow({
            ...w,
            retentionClass: 'long',
            chunks: [chunk(2, start, start + 2, 7)],
            rollups: [rollup(2, 7)],
            sealPosition: 20 + day,
          })
        }
        const starts = async (id: number, retentionClass?: string) =>
          (await collect(s.chunks(id, { from: 0, to: T0 + 9 * DAY, data: false, retentionClass }))).map(
            (c) => (c.startTs - T0) / DAY,
          )
        assert.deepEqual(await starts(1), [0, 1, 2])
        assert.deepEqual(await starts(2, 'long'), [0, 1, 2])
        assert.deepEqual(await starts(2), [], "a class's chunks are in its own partitions")
        assert.equal((await s.windowChunks(2, T0, T0 + HOUR, 'long')).length, 1)
        assert.equal((await s.lastChunk(2, 'long'))?.startTs, T0 + 2 * DAY)
        assert.equal(await s.lastChunk(2), undefined)
        // The default class's raw days go; the other class's stay.
        const r = await s.dropBefore(T0 + 2 * DAY, 'raw')
        assert.deepEqual(
          r.partitions.map((p) => [p.retentionClass ?? 'default', (p.start - T0) / DAY]),
          [
            ['default', 0],
            ['default', 1],
          ],
        )
        assert.deepEqual(await starts(1), [2])
        assert.deepEqual(await starts(2, 'long'), [0, 1, 2])
        await s.dropBefore(T0 + DAY, 'raw', 'long')
        await s.close()

        s = await open(dir)
        const state = await s.load()
        assert.deepEqual(
          state.series.map((x) => [x.id, x.retentionClass ?? 'default']),
          [
            [1, 'default'],
            [2, 'long'],
          ],
        )
        assert.equal(state.droppedBefore, T0 + 2 * DAY)
        assert.deepEqual([...state.sealMarks], [[T0 + 2 * DAY, 12]])
        const long = state.classes.get('long')
        assert.ok(long !== undefined)
        assert.equal(long.droppedBefore, T0 + DAY)
        assert.deepEqual([...long.sealMarks].sort(), [
          [T0 + DAY, 21],
          [T0 + 2 * DAY, 22],
        ])
        assert.deepEqual(long.rolledUp['1m'], [T0, T0 + DAY, T0 + 2 * DAY])
        const minutes = await collect<MinuteRollup>(
          s.minuteRollups(2, { from: T0, to: T0 + DAY, retentionClass: 'long' }),
        )
        assert.deepEqual(
          minutes.map((m) => [...m.data]),
          [[9, 7, 7]],
        )
        assert.equal((await collect(s.minuteRollups(2, { from: T0, to: T0 + DAY }))).length, 0)
        const byClass: Record<string, number> = {}
        for (const p of await s.partitions()) {
          const k = `${p.retentionClass ?? 'default'} ${p.tier}`
          byClass[k] = (byClass[k] ?? 0) + 1
        }
        assert.deepEqual(byClass, {
          'default raw': 1,
          'default 1m': 1,
          'default 1h': 1,
          'long raw': 2,
          'long 1m': 1,
          'long 1h': 1,
        })
        await s.close()
      })
    })

    test('rollups: upserted per series and window, bit-exact, complete after a first seal only', async () => {
      await withDir(async (dir) => {
        let s = await open(dir)
        const w = (start: number, replace: boolean, rollups: SeriesRollup[]) =>
          s.writeWindow({ start, end: start + HOUR, replace, chunks: [], rollups, sealPosition: 1 })
        await w(T0, false, [rollup(1), rollup(2)])
        // A window first written by a replacing write (sealed before rollups existed): not complete.
        await w(T0 + HOUR, true, [rollup(1)])
        // A re-seal replaces series 1's rollups and keeps series 2's, and the window stays complete.
        await w(T0, true, [rollup(1, 5)])
        await s.close()
        s = await open(dir)
        const state = await s.load()
        assert.deepEqual(state.rolledUp, { '1m': [T0], '1h': [T0] })
        assert.deepEqual(state.rollupDroppedBefore, { '1m': -Infinity, '1h': -Infinity })
        const minutes = await collect<MinuteRollup>(s.minuteRollups(1, { from: T0, to: T0 + DAY }))
        assert.deepEqual(
          minutes.map((r) => [r.seriesId, r.windowStart - T0, [...r.data]]),
          [
            [1, 0, [9, 5, 7]],
            [1, HOUR, [9, 0, 7]],
          ],
        )
        const hours = await collect<HourRollup>(s.hourRollups(2, { from: T0, to: T0 + DAY }))
        assert.equal(hours.length, 1)
        const h = hours[0] as HourRollup
        const want = rollup(2).hour
        assert.equal(h.count, want.count)
        for (const k of ['min', 'max', 'sum', 'first', 'last'] as const)
          assert.equal(bits(h[k]), bits(want[k]), k)
        // Window starts are half-open: [from, to).
        assert.equal((await collect(s.minuteRollups(1, { from: T0 + 1, to: T0 + HOUR }))).length, 0)
        await s.close()
      })
    })

    test('rollups stream in window order across pages and partitions', async () => {
      await withDir(async (dir) => {
        const s = await open(dir)
        // 100 windows in each of two months, more than a page.
        const starts = [0, MONTH + DAY].flatMap((base) =>
          Array.from({ length: 100 }, (_, i) => T0 + base + i * HOUR),
        )
        for (const start of starts) {
          await s.writeWindow({
            start,
            end: start + HOUR,
            replace: false,
            chunks: [],
            rollups: [rollup(4, start % 251)],
            sealPosition: 0,
          })
        }
        for (const tier of ['1m', '1h'] as const) {
          const rows = await collect<MinuteRollup | HourRollup>(
            tier === '1m'
              ? s.minuteRollups(4, { from: T0, to: T0 + 3 * MONTH })
              : s.hourRollups(4, { from: T0, to: T0 + 3 * MONTH }),
          )
          assert.deepEqual(
            rows.map((r) => r.windowStart),
            starts,
            tier,
          )
        }
        assert.deepEqual((await s.load()).rolledUp['1m'], starts)
        await s.close()
      })
    })

    test('rollups live in partitions of their own, dropped per tier', async () => {
      await withDir(async (dir) => {
        let s = await open(dir)
        const days = [0, 1, 40, 400].map((d) => T0 + d * DAY)
        for (const start of days) {
          await s.writeWindow({
            start,
            end: start + HOUR,
            replace: false,
            chunks: [chunk(1, start, start + 1)],
            rollups: [rollup(1)],
            sealPosition: 0,
          })
        }
        const tiers = async () => {
          const out: Record<string, number> = {}
          for (const p of await s.partitions()) out[p.tier] = (out[p.tier] ?? 0) + 1
          return out
        }
        assert.deepEqual(await tiers(), { raw: 4, '1m': 3, '1h': 2 })
        // Raw points go; every rollup stays.
        await s.dropBefore(T0 + 400 * DAY, 'raw')
        assert.deepEqual(await tiers(), { raw: 1, '1m': 3, '1h': 2 })
        assert.equal((await collect(s.minuteRollups(1, { from: T0, to: T0 + 500 * DAY }))).length, 4)
        // 1-minute rollups by month: the horizon is rounded down to one.
        const r = await s.dropBefore(T0 + 45 * DAY, '1m')
        assert.equal(r.droppedBefore, Date.UTC(2025, 1, 1))
        assert.deepEqual(
          r.partitions.map((p) => [p.tier, p.start]),
          [['1m', T0]],
        )
        assert.equal((await collect(s.minuteRollups(1, { from: T0, to: T0 + 500 * DAY }))).length, 2)
        assert.equal((await collect(s.hourRollups(1, { from: T0, to: T0 + 500 * DAY }))).length, 4)
        // A window before a tier's horizon gets no rollups of that tier (a late seal after retention).
        await s.writeWindow({
          start: T0 + 2 * HOUR,
          end: T0 + 3 * HOUR,
          replace: false,
          chunks: [],
          rollups: [rollup(1)],
          sealPosition: 0,
        })
        assert.equal((await collect(s.minuteRollups(1, { from: T0, to: T0 + DAY }))).length, 0)
        await s.close()
        s = await open(dir)
        const state = await s.load()
        assert.deepEqual(state.rollupDroppedBefore, { '1m': Date.UTC(2025, 1, 1), '1h': -Infinity })
        assert.deepEqual(state.rolledUp['1m'], [T0 + 40 * DAY, T0 + 400 * DAY])
        assert.equal(state.droppedBefore, T0 + 400 * DAY)
        await s.dropBefore(Date.UTC(2026, 5, 1), '1h')
        assert.deepEqual((await s.load()).rolledUp['1h'], [T0 + 400 * DAY])
        await s.close()
      })
    })
  })
}
