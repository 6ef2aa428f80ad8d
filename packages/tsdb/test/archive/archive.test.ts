/**
 * The cold tier end to end: partitions of a real SqliteChunkStorage exported to
 * Parquet, read back by series and range, and re-imported, bit for bit.
 */
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { compareKeys } from '../../src/archive/format.js'
import {
  type ArchiveCodec,
  type ArchiveFile,
  type ArchivePoint,
  ArchiveReader,
  archiveFileName,
  exportPartition,
} from '../../src/archive/index.js'
import type { ChunkStorage, PartitionInfo } from '../../src/storage/chunk-storage.js'
import {
  assertSameBatch,
  buildStorage,
  collect,
  DAY,
  HOUR,
  type SeriesData,
  series,
  slice,
  T0,
  withDir,
} from './helpers.js'

/** The storage's raw partitions (rollup tiers, when the storage has them, hold no chunks). */
async function rawPartitions(storage: ChunkStorage): Promise<PartitionInfo[]> {
  return (await storage.partitions()).filter((p) => {
    const tier = (p as { tier?: string }).tier
    return tier === undefined || tier === 'raw'
  })
}

async function onlyPartition(storage: ChunkStorage): Promise<PartitionInfo> {
  const [p, ...rest] = await rawPartitions(storage)
  assert.ok(p !== undefined && rest.length === 0, 'one raw partition')
  return p
}

/** Every point of a file through reimport, grouped by series. */
async function reimported(
  reader: ArchiveReader,
  file: ArchiveFile | string,
): Promise<Map<string, ArchivePoint[]>> {
  const out = new Map<string, ArchivePoint[]>()
  await reader.reimport(
    file,
    async (points) => {
      for (const p of points) {
        const list = out.get(p.series) ?? []
        out.set(p.series, list)
        list.push(p)
      }
    },
    { batchPoints: 1000 },
  )
  return out
}

function asBatch(points: readonly ArchivePoint[]): { timestamps: Float64Array; values: Float64Array } {
  return {
    timestamps: Float64Array.from(points, (p) => p.ts),
    values: Float64Array.from(points, (p) => p.value),
  }
}

const KINDS: SeriesData[] = [
  series('d1/temp', 'quantised', T0, 5000, 1000, 1),
  series('d1/noise', 'noise', T0 + 7, 4000, 2000, 2),
  series('d2/special', 'special', T0 + HOUR / 2, 3000, 1000, 3),
  series('d2/int', 'integers', T0, 2000, 5000, 4),
  series('d3/irregular', 'irregular', T0 + 1, 3000, 1000, 5),
  series('d3/counter', 'counter', T0, 70_000, 1000, 6), // more than a chunk's 65,536 points
  series('d4/one', 'noise', T0 + DAY - 1, 1, 1000, 7), // the partition's last millisecond
  series('ünï/cödé', 'quantised', T0, 100, 60_000, 8),
  series('𝔡/astral', 'quantised', T0, 100, 60_000, 9),
  series('\uffef/bmp-high', 'quantised', T0, 100, 60_000, 10),
]

describe('exportPartition and ArchiveReader', () => {
  test('a round trip of every kind of data, bit for bit, whole and in ranges', async () => {
    await withDir(async (dir) => {
      const storage = await buildStorage(dir, KINDS)
      const partition = await onlyPartition(storage)
      const archive = join(dir, 'archive')
      const file = await exportPartition(storage, partition, archive, { fsync: false })
      const points = KINDS.reduce((a, s) => a + s.timestamps.length, 0)
      assert.equal(file.name, 'raw-20250101.parquet')
      assert.equal(file.points, points)
      assert.equal(file.series, KINDS.length)
      assert.deepEqual([file.start, file.end], [T0, T0 + DAY])

      const reader = new ArchiveReader(archive)
      const listing = await reader.list()
      assert.deepEqual(listing.invalid, [])
      assert.deepEqual(listing.files, [file])

      for (const s of KINDS) {
        assertSameBatch(await collect(reader.raw(s.key, -Infinity, Infinity)), s, s.key)
        const from = T0 + 20 * 60_000 + 1
        const to = T0 + 50 * 60_000
        assertSameBatch(await collect(reader.raw(s.key, from, to)), slice(s, from, to), `${s.key} in a range`)
      }
      assert.equal((await collect(reader.raw('d9/none', -Infinity, Infinity))).timestamps.length, 0)
      assert.equal((await collect(reader.raw('d1/temp', T0 + DAY, Infinity))).timestamps.length, 0)
      assert.equal((await collect(reader.raw('d1/temp', T0 + 5, T0 + 5))).timestamps.length, 0)

      const back = await reimported(reader, file)
      assert.deepEqual(
        [...back.keys()],
        KINDS.map((s) => s.key).sort(compareKeys),
        'series in UTF-8 byte order',
      )
      for (const s of KINDS) assertSameBatch(asBatch(back.get(s.key) ?? []), s, `${s.key} reimported`)
      await storage.close()
    })
  })

  test('every codec reads back', async () => {
    await withDir(async (dir) => {
      const data = KINDS.slice(0, 3)
      const storage = await buildStorage(dir, data)
      const partition = await onlyPartition(storage)
      for (const codec of ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'BROTLI'] as ArchiveCodec[]) {
        const archive = join(dir, codec)
        await exportPartition(storage, partition, archive, { codec, fsync: false })
        const reader = new ArchiveReader(archive)
        for (const s of data)
          assertSameBatch(await collect(reader.raw(s.key, T0, T0 + DAY)), s, `${codec} ${s.key}`)
      }
      await storage.close()
    })
  })

  test('a partition of 3,000 series over many row groups and pages', async () => {
    await withDir(async (dir) => {
      const data: SeriesData[] = []
      for (let i = 0; i < 3000; i++) {
        const kind = i % 3 === 0 ? 'quantised' : i % 3 === 1 ? 'noise' : 'counter'
        data.push(
          series(`dev-${String(i).padStart(4, '0')}/m`, kind, T0 + (i % 60) * 1000, 40 + (i % 17), 60_000, i),
        )
      }
      const storage = await buildStorage(dir, data)
      const partition = await onlyPartition(storage)
      const archive = join(dir, 'archive')
      // Small row groups and pages: series straddle both.
      const file = await exportPartition(storage, partition, archive, {
        rowGroupRows: 5000,
        pageBytes: 4096,
        fsync: false,
      })
      const points = data.reduce((a, s) => a + s.timestamps.length, 0)
      assert.equal(file.points, points)
      assert.equal(file.series, 3000)
      assert.equal(file.rowGroups, Math.ceil(points / 5000))

      const reader = new ArchiveReader(archive)
      for (const i of [0, 1, 116, 117, 1500, 2998, 2999]) {
        const s = data[i] as SeriesData
        assertSameBatch(await collect(reader.raw(s.key, T0, T0 + DAY)), s, s.key)
        const from = T0 + 10 * 60_000
        const to = T0 + 20 * 60_000 + 1
        assertSameBatch(await collect(reader.raw(s.key, from, to)), slice(s, from, to), `${s.key} in a range`)
      }
      const back = await reimported(reader, file)
      assert.equal(back.size, 3000)
      for (const s of data) assertSameBatch(asBatch(back.get(s.key) ?? []), s, `${s.key} reimported`)
      await storage.close()
    })
  })

  test('only the partition’s own day is exported; files list by start; ranges span files', async () => {
    await withDir(async (dir) => {
      const a = series('d1/t', 'quantised', T0 + DAY - HOUR, 2 * 3600, 1000, 1) // across midnight
      const b = series('d2/t', 'noise', T0 + DAY + 5, 100, 1000, 2) // the second day only
      const storage = await buildStorage(dir, [a, b])
      const [day1, day2] = await rawPartitions(storage)
      assert.ok(day1 !== undefined && day2 !== undefined)
      const archive = join(dir, 'archive')
      const f2 = await exportPartition(storage, day2, archive, { fsync: false })
      const f1 = await exportPartition(storage, day1, archive, { fsync: false })
      assert.deepEqual([f1.name, f2.name], ['raw-20250101.parquet', 'raw-20250102.parquet'])
      assert.deepEqual([f1.points, f1.series, f2.points, f2.series], [3600, 1, 3700, 2])

      const reader = new ArchiveReader(archive)
      assert.deepEqual(
        (await reader.list()).files.map((f) => f.name),
        [f1.name, f2.name],
      )
      assertSameBatch(await collect(reader.raw('d1/t', -Infinity, Infinity)), a, 'across two files')
      const from = T0 + DAY - 10_000
      const to = T0 + DAY + 10_000
      assertSameBatch(
        await collect(reader.raw('d1/t', from, to)),
        slice(a, from, to),
        'a range across midnight',
      )
      await storage.close()
    })
  })

  test('exporting again replaces the file; an empty partition gives an empty file', async () => {
    await withDir(async (dir) => {
      const s = series('d1/t', 'quantised', T0, 1000, 1000, 1)
      const storage = await buildStorage(dir, [s])
      const partition = await onlyPartition(storage)
      const archive = join(dir, 'archive')
      const first = await exportPartition(storage, partition, archive, { fsync: false })
      const again = await exportPartition(storage, partition, archive, { fsync: false })
      assert.deepEqual(again, first)
      assert.deepEqual(await readdir(archive), ['raw-20250101.parquet'])

      // Not a literal: PartitionInfo is gaining a tier field meanwhile.
      const empty = {
        start: T0 + 5 * DAY,
        end: T0 + 6 * DAY,
        bytes: 0,
        name: 'chunks-20250106.db',
        tier: 'raw' as const,
      }
      const none = await exportPartition(storage, empty, archive, { fsync: false })
      assert.deepEqual(
        [none.name, none.points, none.series, none.rowGroups],
        ['raw-20250106.parquet', 0, 0, 0],
      )
      const reader = new ArchiveReader(archive)
      assert.equal((await collect(reader.raw('d1/t', -Infinity, Infinity))).timestamps.length, 1000)
      assert.equal(await reader.reimport(none, async () => assert.fail('no points')), 0)
      await storage.close()
    })
  })

  test('file names and bad arguments', async () => {
    assert.equal(archiveFileName(T0), 'raw-20250101.parquet')
    assert.equal(archiveFileName(Date.UTC(1969, 11, 31)), 'raw-19691231.parquet')
    assert.equal(archiveFileName(T0 + 6 * HOUR + 30_000), 'raw-20250101T060030.parquet')
    assert.throws(() => archiveFileName(T0 + 1), RangeError)
    await withDir(async (dir) => {
      const storage = await buildStorage(dir, [series('d1/t', 'quantised', T0, 10)])
      const partition = await onlyPartition(storage)
      await assert.rejects(exportPartition(storage, { ...partition, end: partition.start }, dir), RangeError)
      await assert.rejects(
        exportPartition(storage, { ...partition, tier: '1m' } as PartitionInfo, dir),
        RangeError,
      )
      await assert.rejects(exportPartition(storage, partition, dir, { rowGroupRows: 0 }), RangeError)
      const reader = new ArchiveReader(join(dir, 'nowhere'))
      assert.deepEqual(await reader.list(), { files: [], invalid: [] })
      await assert.rejects(collect(reader.raw('d1/t', Number.NaN, 0)), RangeError)
      await storage.close()
    })
  })
})
