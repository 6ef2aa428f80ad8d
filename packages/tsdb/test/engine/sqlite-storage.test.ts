import assert from 'node:assert/strict'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { encodeChunk } from '../../src/codec/chunk.js'
import { TimeSeriesEngine } from '../../src/engine/engine.js'
import { SqliteChunkStorage, type Tier } from '../../src/index.js'
import { DayFile } from '../../src/storage/day-file.js'
import { CALENDARS, classCalendar, classesIn } from '../../src/storage/partition-files.js'
import { dayFileName } from '../../src/storage/sqlite-storage.js'
import { chunkStorageSuite } from './chunk-storage-suite.js'
import { DAY, HOUR, readRaw, T0, withDir } from './helpers.js'

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

test('other retention classes: the class after the prefix, the default names unchanged', async () => {
  const cases: [Tier, string, number, string][] = [
    ['raw', 'long', T0, 'chunks-long-20250101.db'],
    ['1m', 'a-1', T0, 'rollup-1m-a-1-202501.db'],
    ['1h', '2030', T0, 'rollup-1h-2030-2025.db'],
    ['raw', 'default', T0, 'chunks-20250101.db'],
  ]
  for (const [tier, cls, start, name] of cases) {
    const cal = classCalendar(tier, cls)
    assert.equal(cal.fileName(start), name)
    assert.equal(cal.parse(name), start)
  }
  assert.equal(classCalendar('raw', 'long').parse('chunks-20250101.db'), undefined)
  assert.equal(CALENDARS.raw.parse('chunks-long-20250101.db'), undefined)
  await withDir(async (dir) => {
    const s = await SqliteChunkStorage.open(dir, { fsync: false })
    for (const cls of ['long', 'a-1', '2030']) {
      await s.writeWindow({
        retentionClass: cls,
        start: T0,
        end: T0 + HOUR,
        replace: false,
        chunks: [],
        rollups: [],
        sealPosition: 0,
      })
    }
    await s.close()
    assert.deepEqual(classesIn(dir), ['2030', 'a-1', 'long'])
  })
})

test('a directory from before retention classes opens and reads as the default class', async () => {
  await withDir(async (dir) => {
    // series.db as it was (no retention_class column), and a day file.
    const db = new Database(join(dir, 'series.db'))
    db.exec(`
      CREATE TABLE series (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, device TEXT NOT NULL);
      CREATE INDEX series_device ON series (device);
      CREATE TABLE meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
      INSERT INTO series (id, key, device) VALUES (1, 'old/t', 'old');
      INSERT INTO meta (name, value) VALUES ('dropped_before', ${T0 - DAY});
    `)
    db.close()
    const ts = Float64Array.from({ length: 60 }, (_, i) => T0 + i * 1000)
    const vs = Float64Array.from({ length: 60 }, (_, i) => i / 3)
    const day = new DayFile(join(dir, 'chunks-20250101.db'), T0, { fsync: false, mustExist: false })
    const summary = {
      count: 60,
      min: 0,
      max: 59 / 3,
      sum: vs.reduce((a, v) => a + v, 0),
      first: 0,
      last: 59 / 3,
    }
    day.write(
      [{ seriesId: 1, startTs: T0, endTs: T0 + 59_000, ...summary, data: encodeChunk(ts, vs) }],
      null,
      {
        start: T0,
        position: 0,
      },
    )
    day.close()
    const s = await SqliteChunkStorage.open(dir, { fsync: false })
    const state = await s.load()
    assert.deepEqual(state.series, [{ id: 1, key: 'old/t', device: 'old', retentionClass: 'default' }])
    assert.equal(state.droppedBefore, T0 - DAY)
    assert.equal(state.classes.size, 0)
    await s.close()
    const engine = await TimeSeriesEngine.open(dir, {
      fsync: false,
      sealCheckMs: 0,
      retentionClassOf: () => 'other',
    })
    const got = await readRaw(engine, 'old/t')
    assert.deepEqual(
      got.map(([t]) => t),
      [...ts],
    )
    // The old series stays in the default class; a new one goes where retentionClassOf says.
    await engine.write([
      { series: 'old/t', ts: T0 + 2 * HOUR, value: 1 },
      { series: 'new/t', ts: T0 + 2 * HOUR, value: 2 },
    ])
    await engine.flush()
    await engine.close()
    const files = (await readdir(dir)).filter((f) => f.startsWith('chunks-') && f.endsWith('.db')).sort()
    assert.deepEqual(files, ['chunks-20250101.db', 'chunks-other-20250101.db'])
  })
})

/** One window of one series: a chunk and rollups, whose 1-minute blob is `minutes` (opaque to storage). */
function windowOf(start: number, minutes: Uint8Array, replace = false) {
  const one = { count: 1, min: 1, max: 1, sum: 1, first: 1, last: 1 }
  return {
    start,
    end: start + HOUR,
    replace,
    sealPosition: 0,
    chunks: [{ seriesId: 1, startTs: start, endTs: start, ...one, data: Uint8Array.of(1, 2, 3) }],
    rollups: [{ seriesId: 1, minutes, hour: one }],
  }
}

/** A blob the size of a full-precision series' hour of minutes (2-3 KB). */
const blob = (seed: number, size = 2600) =>
  Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff)

async function minuteBlobs(s: SqliteChunkStorage): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const r of s.minuteRollups(1, { from: T0 - DAY, to: T0 + DAY }))
    out.push(Uint8Array.from(r.data))
  return out
}

test('partition files keep no -wal after a write; new ones: 4 KiB pages, 1-minute rollups in leaves of 16 KiB', async () => {
  await withDir(async (dir) => {
    const s = await SqliteChunkStorage.open(dir, { fsync: false })
    await s.addSeries([{ id: 1, key: 'd/m', device: 'd' }])
    await s.writeWindow(windowOf(T0, blob(1)))
    await s.writeWindow(windowOf(T0 + HOUR, blob(2)))
    // While open: every -wal was folded back and truncated by the write (settle()).
    const wals = (await readdir(dir)).filter((f) => f.endsWith('-wal')).sort()
    assert.deepEqual(wals, [
      'chunks-20250101.db-wal',
      'rollup-1h-2025.db-wal',
      'rollup-1m-202501.db-wal',
      'series.db-wal',
    ])
    for (const f of wals) assert.equal((await stat(join(dir, f))).size, 0, f)
    // A replacing write (late points) upserts the rollups.
    await s.writeWindow(windowOf(T0, blob(3), true))
    assert.deepEqual(await minuteBlobs(s), [blob(3), blob(2)])
    assert.equal((await stat(join(dir, 'rollup-1m-202501.db-wal'))).size, 0)

    const pages = { 'chunks-20250101.db': 4096, 'rollup-1m-202501.db': 16_384, 'rollup-1h-2025.db': 4096 }
    for (const [f, size] of Object.entries(pages)) {
      const db = new Database(join(dir, f), { readonly: true })
      assert.equal(db.pragma('page_size', { simple: true }), size, f)
      db.close()
    }
    const db = new Database(join(dir, 'rollup-1m-202501.db'), { readonly: true })
    const sql = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'rollups'").pluck().get() as string
    assert.ok(!sql.includes('WITHOUT ROWID'), sql)
    // A 2.6 KB blob stays in its b-tree leaf (a WITHOUT ROWID row would spill most of it to an overflow page).
    const overflow = db
      .prepare("SELECT count(*) FROM dbstat WHERE name = 'rollups' AND pagetype = 'overflow'")
      .pluck()
      .get()
    assert.equal(overflow, 0)
    db.close()
    await s.close()
  })
})

test('a 1-minute rollup file from before (WITHOUT ROWID, 8 KiB pages) is read and written as it is', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'rollup-1m-202501.db')
    const old = new Database(path)
    old.pragma('page_size = 8192')
    old.pragma('journal_mode = WAL')
    old.exec(`
      CREATE TABLE rollups (
        series_id INTEGER NOT NULL, window_start INTEGER NOT NULL, data BLOB NOT NULL,
        PRIMARY KEY (series_id, window_start)
      ) WITHOUT ROWID;
      CREATE TABLE complete (window_start INTEGER PRIMARY KEY);
      INSERT INTO complete (window_start) VALUES (${T0});
    `)
    old.prepare('INSERT INTO rollups VALUES (1, ?, ?)').run(T0, blob(1))
    old.close()

    const s = await SqliteChunkStorage.open(dir, { fsync: false })
    assert.deepEqual((await s.load()).rolledUp['1m'], [T0])
    assert.deepEqual(await minuteBlobs(s), [blob(1)])
    await s.writeWindow(windowOf(T0, blob(4), true))
    await s.writeWindow(windowOf(T0 + HOUR, blob(5)))
    assert.deepEqual(await minuteBlobs(s), [blob(4), blob(5)])
    assert.deepEqual((await s.load()).rolledUp['1m'], [T0, T0 + HOUR])
    await s.close()

    const db = new Database(path, { readonly: true })
    assert.equal(db.pragma('page_size', { simple: true }), 8192)
    const sql = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'rollups'").pluck().get() as string
    assert.ok(sql.includes('WITHOUT ROWID'), sql)
    // No index was added to it (its key is the table).
    assert.equal(db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'index'").pluck().get(), 0)
    db.close()
  })
})
