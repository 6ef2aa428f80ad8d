/**
 * The behaviour every ChunkStorage must show (as Aedes' persistence suite):
 * run it with a factory for each implementation (sqlite-storage.test.ts; a
 * PostgreSQL one later).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ChunkStorage, ChunkSummary, StoredChunk } from '../../src/index.js'
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

async function collect(
  it: AsyncIterable<ChunkSummary | StoredChunk>,
): Promise<(ChunkSummary | StoredChunk)[]> {
  const out = []
  for await (const c of it) out.push(c)
  return out
}

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
          sealPosition: 5,
        })
        await s.writeWindow({
          start: T0,
          end: T0 + HOUR,
          replace: true,
          chunks: [chunk(1, T0 + 5, T0 + 40, 9)],
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
            sealPosition: day,
          })
        }
        assert.equal((await s.partitions()).length, 3)
        const r = await s.dropBefore(T0 + DAY + 5)
        assert.equal(r.droppedBefore, T0 + DAY)
        assert.deepEqual(
          r.partitions.map((p) => p.start),
          [T0],
        )
        assert.deepEqual(
          (await s.partitions()).map((p) => p.start),
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
  })
}
