/**
 * The cold tier with the engine around it, as retention will use it: points
 * written to a TimeSeriesEngine and sealed, the day exported from its storage
 * and then dropped, read back from the archive, and re-imported into a fresh
 * engine, bit for bit.
 */
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { ArchiveReader, exportPartition } from '../../src/archive/index.js'
import { type EnginePoint, TimeSeriesEngine } from '../../src/engine/engine.js'
import { SqliteChunkStorage } from '../../src/storage/sqlite-storage.js'
import { assertSamePoints, Model, readRaw } from '../engine/helpers.js'
import { collect, DAY, SPECIALS, T0, withDir } from './helpers.js'

function points(day: number): EnginePoint[] {
  const out: EnginePoint[] = []
  for (let d = 0; d < 20; d++) {
    for (let i = 0; i < 300; i++) {
      const ts = day + i * 287_000 + d
      const value =
        d === 0 ? (SPECIALS[i % SPECIALS.length] as number) : Math.round(Math.sin(i / 9 + d) * 1000) / 100
      out.push({ series: `dev-${d}/temp`, ts, value })
    }
  }
  return out
}

test('export a sealed day, drop it, query the archive, and reimport it into another engine', async () => {
  await withDir(async (dir) => {
    const hot = join(dir, 'hot')
    await mkdir(hot)
    const storage = await SqliteChunkStorage.open(hot, { fsync: false })
    const engine = await TimeSeriesEngine.open(hot, { storage, fsync: false, sealCheckMs: 0 })
    const model = new Model()
    for (const day of [T0, T0 + DAY]) {
      const batch = points(day)
      await engine.write(batch)
      model.write(batch)
    }
    await engine.flush()

    const [day1] = (await storage.partitions()).filter((p) => {
      const tier = (p as { tier?: string }).tier
      return tier === undefined || tier === 'raw'
    })
    assert.ok(day1 !== undefined && day1.start === T0)
    const archive = join(dir, 'archive')
    const file = await exportPartition(storage, day1, archive, { fsync: false })
    assert.equal(file.points, 20 * 300)
    await engine.dropBefore(T0 + DAY)
    assert.deepEqual(await readRaw(engine, 'dev-3/temp', T0, T0 + DAY), [])

    const reader = new ArchiveReader(archive)
    for (const key of ['dev-0/temp', 'dev-3/temp', 'dev-19/temp']) {
      const got = await collect(reader.raw(key, T0, T0 + DAY))
      const pairs: [number, number][] = Array.from(got.timestamps, (t, i) => [t, got.values[i] as number])
      assertSamePoints(pairs, model.raw(key, T0, T0 + DAY), `archive ${key}`)
    }
    await engine.close()

    const cold = join(dir, 'restored')
    const restored = await TimeSeriesEngine.open(cold, { fsync: false, sealCheckMs: 0 })
    const n = await reader.reimport(file, (batch) => restored.write(batch), { batchPoints: 777 })
    assert.equal(n, 20 * 300)
    await restored.flush()
    for (let d = 0; d < 20; d++) {
      const key = `dev-${d}/temp`
      assertSamePoints(await readRaw(restored, key), model.raw(key, T0, T0 + DAY), `restored ${key}`)
    }
    await restored.close()
  })
})
