/**
 * What goes wrong on disk: leftover temporary files, truncated and damaged
 * archive files, files that are not archives, aborts, and SIGKILL mid-export.
 * Each must come out as a TsdbArchiveError with its code, never a crash, a
 * hang, or a partial answer passed off as whole.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { copyFile, open, readdir, readFile, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parquetWriteBuffer } from 'hyparquet-writer'
import {
  type ArchiveErrorCode,
  ArchiveReader,
  exportPartition,
  TsdbArchiveError,
} from '../../src/archive/index.js'
import type { ChunkStorage, PartitionInfo } from '../../src/storage/chunk-storage.js'
import { SqliteChunkStorage } from '../../src/storage/sqlite-storage.js'
import {
  assertSameBatch,
  buildStorage,
  collect,
  DAY,
  prng,
  type SeriesData,
  series,
  T0,
  withDir,
} from './helpers.js'

const isCode = (code: ArchiveErrorCode) => (err: unknown) => {
  assert.ok(err instanceof TsdbArchiveError, `a TsdbArchiveError, got ${String(err)}`)
  assert.equal(err.code, code, err.message)
  return true
}

async function rawPartition(storage: ChunkStorage): Promise<PartitionInfo> {
  const [p] = (await storage.partitions()).filter((x) => {
    const tier = (x as { tier?: string }).tier
    return tier === undefined || tier === 'raw'
  })
  assert.ok(p !== undefined)
  return p
}

const DATA: SeriesData[] = [
  series('d1/t', 'quantised', T0, 3000, 1000, 1),
  series('d2/t', 'special', T0, 3000, 1000, 2),
]

/** An archive with day 1 exported; `fn` gets its directory and the exported file's bytes. */
async function withArchive(fn: (archive: string, bytes: Buffer, reader: ArchiveReader) => Promise<void>) {
  await withDir(async (dir) => {
    const storage = await buildStorage(dir, DATA)
    const archive = join(dir, 'archive')
    const file = await exportPartition(storage, await rawPartition(storage), archive, { fsync: false })
    await storage.close()
    await fn(archive, await readFile(file.path), new ArchiveReader(archive))
  })
}

/** Day 1 still reads whole while a bad file sits next to it. */
async function day1Reads(reader: ArchiveReader): Promise<void> {
  for (const s of DATA) assertSameBatch(await collect(reader.raw(s.key, T0, T0 + DAY)), s, s.key)
}

describe('damaged and foreign files', () => {
  test('leftover temporary files are not listed, and the next export of their partition removes them', async () => {
    await withArchive(async (archive, _bytes, reader) => {
      const mine = '.raw-20250101.parquet.4242-dead.tmp'
      const other = '.raw-20250102.parquet.4242-beef.tmp'
      await writeFile(join(archive, mine), 'PAR1 half a file')
      await writeFile(join(archive, other), '')
      const listing = await reader.list()
      assert.deepEqual([listing.files.map((f) => f.name), listing.invalid], [['raw-20250101.parquet'], []])
      await day1Reads(reader)
      await withDir(async (dir) => {
        const storage = await buildStorage(dir, DATA)
        await exportPartition(storage, await rawPartition(storage), archive, { fsync: false })
        await storage.close()
      })
      assert.deepEqual((await readdir(archive)).sort(), [other, 'raw-20250101.parquet'])
    })
  })

  test('a truncated file: STRATA_TSDB_ARCHIVE_TRUNCATED, listed as invalid, other days still read', async () => {
    await withArchive(async (archive, bytes, reader) => {
      const cut = join(archive, 'raw-20250102.parquet')
      for (const length of [Math.floor(bytes.length / 2), bytes.length - 1, 5, 0]) {
        await writeFile(cut, bytes.subarray(0, length))
        const { files, invalid } = await reader.list()
        assert.deepEqual(
          files.map((f) => f.name),
          ['raw-20250101.parquet'],
        )
        assert.equal(invalid.length, 1)
        assert.equal(invalid[0]?.name, 'raw-20250102.parquet')
        assert.equal(invalid[0]?.start, T0 + DAY)
        assert.equal(invalid[0]?.error.code, 'STRATA_TSDB_ARCHIVE_TRUNCATED', `cut at ${length}`)
        await assert.rejects(
          collect(reader.raw('d1/t', T0, T0 + 2 * DAY)),
          isCode('STRATA_TSDB_ARCHIVE_TRUNCATED'),
        )
        await assert.rejects(
          reader.reimport('raw-20250102.parquet', async () => {}),
          isCode('STRATA_TSDB_ARCHIVE_TRUNCATED'),
        )
        await day1Reads(reader)
      }
    })
  })

  test('not a Parquet file: STRATA_TSDB_ARCHIVE_NOT_PARQUET', async () => {
    await withArchive(async (archive, _bytes, reader) => {
      await writeFile(join(archive, 'raw-20250103.parquet'), 'series,ts,value\nd1/t,0,1\n')
      const { invalid } = await reader.list()
      assert.equal(invalid[0]?.error.code, 'STRATA_TSDB_ARCHIVE_NOT_PARQUET')
      await assert.rejects(
        reader.reimport('raw-20250103.parquet', async () => {}),
        isCode('STRATA_TSDB_ARCHIVE_NOT_PARQUET'),
      )
      await day1Reads(reader)
    })
  })

  test('Parquet that is not an archive: STRATA_TSDB_ARCHIVE_SCHEMA', async () => {
    await withArchive(async (archive, _bytes, reader) => {
      const foreign = (name: string, buffer: ArrayBuffer) =>
        writeFile(join(archive, name), new Uint8Array(buffer))
      // Other columns.
      await foreign(
        'raw-20250103.parquet',
        parquetWriteBuffer({ columnData: [{ name: 'x', data: [1, 2, 3], type: 'INT32' }] }),
      )
      // The right columns, no Strata metadata.
      const columnData = [
        { name: 'series', data: ['a/b'], type: 'STRING' as const },
        { name: 'device', data: ['a'], type: 'STRING' as const },
        { name: 'ts', data: [BigInt(T0)], type: 'INT64' as const },
        { name: 'value', data: [1.5], type: 'DOUBLE' as const },
      ]
      await foreign('raw-20250104.parquet', parquetWriteBuffer({ columnData }))
      // A newer format version.
      const meta = JSON.stringify({ version: 2, start: T0, end: T0 + DAY, points: 1, series: 1 })
      await foreign(
        'raw-20250105.parquet',
        parquetWriteBuffer({ columnData, kvMetadata: [{ key: 'strata.tsdb.archive', value: meta }] }),
      )
      // A value column of another type.
      await foreign(
        'raw-20250106.parquet',
        parquetWriteBuffer({
          columnData: [...columnData.slice(0, 3), { name: 'value', data: ['1.5'], type: 'STRING' }],
        }),
      )
      const { files, invalid } = await reader.list()
      assert.equal(files.length, 1)
      assert.deepEqual(
        invalid.map((f) => [f.name, f.error.code]),
        [3, 4, 5, 6].map((d) => [`raw-2025010${d}.parquet`, 'STRATA_TSDB_ARCHIVE_SCHEMA']),
      )
      assert.match(invalid[2]?.error.message ?? '', /version 2/)
      await day1Reads(reader)
    })
  })

  test('a damaged footer, damaged pages, or a renamed file: STRATA_TSDB_ARCHIVE_CORRUPT', async () => {
    await withArchive(async (archive, bytes, reader) => {
      const name = 'raw-20250101.parquet'
      const path = join(archive, name)
      // A footer length beyond the file.
      const badLength = Buffer.from(bytes)
      badLength.writeUInt32LE(bytes.length, bytes.length - 8)
      await writeFile(path, badLength)
      assert.equal((await reader.list()).invalid[0]?.error.code, 'STRATA_TSDB_ARCHIVE_CORRUPT')
      await assert.rejects(collect(reader.raw('d1/t', T0, T0 + DAY)), isCode('STRATA_TSDB_ARCHIVE_CORRUPT'))
      // Garbage over the pages, footer intact: the footer reads, the pages do not.
      const random = prng(5)
      for (let round = 0; round < 5; round++) {
        const damaged = Buffer.from(bytes)
        const at = 4 + Math.floor(random() * 64)
        for (let i = at; i < at + 256; i++) damaged[i] = Math.floor(random() * 256)
        await writeFile(path, damaged)
        assert.deepEqual((await reader.list()).invalid, [])
        await assert.rejects(
          reader.reimport(name, async () => {}),
          isCode('STRATA_TSDB_ARCHIVE_CORRUPT'),
        )
        await assert.rejects(collect(reader.raw('d1/t', T0, T0 + DAY)), isCode('STRATA_TSDB_ARCHIVE_CORRUPT'))
      }
      await writeFile(path, bytes)
      await day1Reads(reader)
      // A copy under another day's name would double day 1's points.
      await writeFile(join(archive, 'raw-20250102.parquet'), bytes)
      const { files, invalid } = await reader.list()
      assert.deepEqual(
        files.map((f) => f.name),
        [name],
      )
      assert.equal(invalid[0]?.error.code, 'STRATA_TSDB_ARCHIVE_CORRUPT')
      assert.match(invalid[0]?.error.message ?? '', /holds the partition of raw-20250101/)
    })
  })

  test('a file changed under the reader is read with its new footer', async () => {
    await withArchive(async (archive, bytes, reader) => {
      const path = join(archive, 'raw-20250101.parquet')
      await day1Reads(reader)
      await truncate(path, bytes.length - 3)
      await assert.rejects(collect(reader.raw('d1/t', T0, T0 + DAY)), isCode('STRATA_TSDB_ARCHIVE_TRUNCATED'))
      await writeFile(path, bytes)
      await day1Reads(reader)
    })
  })
})

describe('aborts and crashes', () => {
  test('an aborted export leaves no temporary file and the previous file intact', async () => {
    await withDir(async (dir) => {
      const storage = await buildStorage(dir, DATA)
      const partition = await rawPartition(storage)
      const archive = join(dir, 'archive')
      const first = await exportPartition(storage, partition, archive, { fsync: false })
      const before = await readFile(first.path)
      // Aborts once the export has read its first chunk.
      const controller = new AbortController()
      const aborting: ChunkStorage = Object.create(storage, {
        chunks: {
          value: async function* (id: number, q: Parameters<ChunkStorage['chunks']>[1]) {
            for await (const c of storage.chunks(id, q)) {
              yield c
              controller.abort()
            }
          },
        },
      })
      await assert.rejects(
        exportPartition(aborting, partition, archive, { fsync: false, signal: controller.signal }),
        { name: 'AbortError' },
      )
      assert.deepEqual(await readdir(archive), ['raw-20250101.parquet'])
      assert.deepEqual(await readFile(first.path), before)
      const reader = new ArchiveReader(archive)
      await day1Reads(reader)
      await assert.rejects(collect(reader.raw('d1/t', T0, T0 + DAY, { signal: AbortSignal.abort() })), {
        name: 'AbortError',
      })
      await assert.rejects(
        reader.reimport(first, async () => {}, { signal: AbortSignal.abort() }),
        {
          name: 'AbortError',
        },
      )
      await storage.close()
    })
  })

  test('SIGKILL during exports: the archive holds the last complete file or none, never a torn one', {
    timeout: 120_000,
  }, async () => {
    const child = fileURLToPath(new URL('./crash-export.ts', import.meta.url))
    await withDir(async (dir) => {
      const data: SeriesData[] = []
      for (let i = 0; i < 200; i++) data.push(series(`dev-${i}/m`, 'noise', T0, 500, 60_000, i + 1))
      await (await buildStorage(dir, data)).close()
      const archive = join(dir, 'archive')
      const random = prng(0x5eed)
      let completed = 0
      for (let round = 0; round < 6; round++) {
        const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], {
          stdio: ['ignore', 'pipe', 'inherit'],
        })
        const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_c, s) => resolve(s)))
        const kill = () => proc.kill('SIGKILL')
        const guard = setTimeout(kill, 30_000)
        for await (const line of createInterface({ input: proc.stdout })) {
          if (line === 'ready') setTimeout(kill, 50 + Math.floor(random() * 600))
          if (line === 'exported') completed++
        }
        clearTimeout(guard)
        assert.equal(await exited, 'SIGKILL')
        const reader = new ArchiveReader(archive)
        const { files, invalid } = await reader.list()
        assert.deepEqual(invalid, [], `round ${round}`)
        if (completed > 0) assert.equal(files.length, 1, `round ${round}: the file survives`)
        for (const f of files) {
          assert.equal(f.points, 200 * 500)
          for (const s of [data[0], data[199]] as SeriesData[]) {
            assertSameBatch(await collect(reader.raw(s.key, T0, T0 + DAY)), s, `round ${round} ${s.key}`)
          }
        }
      }
      assert.ok(completed > 0, 'at least one export completed in the rounds')
      // The next export removes what the kills left.
      const storage = await SqliteChunkStorage.open(dir, { fsync: false })
      await exportPartition(storage, await rawPartition(storage), archive, { fsync: false })
      await storage.close()
      assert.deepEqual(await readdir(archive), ['raw-20250101.parquet'])
      // The published file is byte for byte one export (no torn tail from a killed writer).
      const fh = await open(join(archive, 'raw-20250101.parquet'))
      const { size } = await fh.stat()
      await fh.close()
      const copy = join(dir, 'copy.parquet')
      await copyFile(join(archive, 'raw-20250101.parquet'), copy)
      assert.equal((await readFile(copy)).length, size)
    })
  })
})
