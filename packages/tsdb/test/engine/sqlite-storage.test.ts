import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { test } from 'node:test'
import { SqliteChunkStorage, type Tier } from '../../src/index.js'
import { CALENDARS } from '../../src/storage/partition-files.js'
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
        rollups: [],
        sealPosition: 0,
        chunks: [{ ...chunk, startTs: start, endTs: start }],
      })
    }
    await assert.rejects(
      s.writeWindow({
        start: T0 + HOUR / 2,
        end: T0 + 25 * HOUR,
        replace: false,
        rollups: [],
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

test('rollup partitions: rollup-1m-YYYYMM.db per UTC month, rollup-1h-YYYY.db per UTC year', () => {
  const cases: [Tier, number, string][] = [
    ['raw', Date.UTC(2025, 11, 31), 'chunks-20251231.db'],
    ['1m', Date.UTC(2025, 0, 1), 'rollup-1m-202501.db'],
    ['1m', Date.UTC(1969, 11, 1), 'rollup-1m-196912.db'],
    ['1h', Date.UTC(2025, 0, 1), 'rollup-1h-2025.db'],
  ]
  for (const [tier, start, name] of cases) {
    const cal = CALENDARS[tier]
    assert.equal(cal.fileName(start), name)
    assert.equal(cal.parse(name), start)
    assert.equal(cal.start(start + 12 * HOUR), start)
  }
  assert.equal(CALENDARS['1m'].next(Date.UTC(2024, 1, 1)), Date.UTC(2024, 2, 1))
  assert.equal(CALENDARS['1h'].next(Date.UTC(2024, 0, 1)), Date.UTC(2025, 0, 1))
  assert.equal(CALENDARS['1m'].parse('rollup-1h-2025.db'), undefined)
  // Years before 100 are years, not 19xx.
  assert.equal(CALENDARS['1h'].parse('rollup-1h-0050.db'), new Date('0050-01-01T00:00:00Z').getTime())
})
