import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { test } from 'node:test'
import { SqliteChunkStorage } from '../../src/index.js'
import { dayFileName } from '../../src/storage/sqlite-storage.js'
import { chunkStorageSuite } from './chunk-storage-suite.js'
import { HOUR, T0, withDir } from './helpers.js'

chunkStorageSuite('SqliteChunkStorage', (dir) => SqliteChunkStorage.open(dir, { fsync: false }))

test('one SQLite file per UTC day, named chunks-YYYYMMDD.db', async () => {
  assert.equal(dayFileName(T0), 'chunks-20250101.db')
  assert.equal(dayFileName(Date.UTC(1969, 11, 31)), 'chunks-19691231.db')
  await withDir(async (dir) => {
    const s = await SqliteChunkStorage.open(dir, { fsync: false })
    const chunk = { seriesId: 1, count: 1, min: 1, max: 1, sum: 1, first: 1, last: 1, data: Uint8Array.of(1) }
    for (const start of [T0 + 23 * HOUR, T0 + 24 * HOUR]) {
      await s.writeWindow({
        start,
        end: start + HOUR,
        replace: false,
        sealPosition: 0,
        chunks: [{ ...chunk, startTs: start, endTs: start }],
      })
    }
    await assert.rejects(
      s.writeWindow({
        start: T0 + HOUR / 2,
        end: T0 + 25 * HOUR,
        replace: false,
        sealPosition: 0,
        chunks: [],
      }),
      RangeError,
    )
    await s.close()
    const files = (await readdir(dir)).filter((f) => f.startsWith('chunks-') && f.endsWith('.db')).sort()
    assert.deepEqual(files, ['chunks-20250101.db', 'chunks-20250102.db'])
  })
})
