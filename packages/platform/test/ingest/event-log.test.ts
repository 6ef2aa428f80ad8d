// The event log on real SQLite files: group commit, paging, filters and retention.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import Database from 'better-sqlite3'
import { SqliteEventStore, type TelemetryEvent } from '../../src/ingest/event-log.js'
import { ValidationError } from '../../src/registry/errors.js'

const dirs: string[] = []
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})
async function dbPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-events-'))
  dirs.push(dir)
  return join(dir, 'events.db')
}

const ev = (deviceId: string, metric: string, ts: number, value: string): TelemetryEvent => ({
  deviceId,
  metric,
  ts,
  value,
})

test('appends of one turn share one commit, and resolve once durable; a reopened store has them', async () => {
  const path = await dbPath()
  const store = new SqliteEventStore(path, { pruneEveryMs: 0 })
  const appends = Array.from({ length: 50 }, (_, i) => store.append([ev('d1', 'state', 1000 + i, `s${i}`)]))
  assert.equal(store.stats().pending, 50)
  await Promise.all(appends)
  assert.deepEqual(
    { ...store.stats(), pruned: undefined },
    { pending: 0, commits: 1, events: 50, pruned: undefined },
  )
  await store.append([])
  await store.close()
  await assert.rejects(store.append([ev('d1', 'state', 1, 'late')]), /closed/)

  const db = new Database(path, { readonly: true })
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n, 50)
  db.close()
})

test('queries filter by metric and time, page oldest first, and refuse a foreign cursor', async () => {
  const store = new SqliteEventStore(await dbPath(), { pruneEveryMs: 0 })
  await store.append([
    ev('d1', 'state', 3000, 'c'),
    ev('d1', 'state', 1000, 'a'),
    ev('d1', 'fw', 2000, 'b'),
    ev('d1', 'state', 3000, 'c2'),
    ev('d2', 'state', 1500, 'other device'),
  ])
  const all = await store.query({ deviceId: 'd1', limit: 10 })
  assert.deepEqual(
    all.items.map((e) => e.value),
    ['a', 'b', 'c', 'c2'],
  )
  assert.equal(all.nextCursor, null)
  const states = await store.query({ deviceId: 'd1', metric: 'state', from: 1000, to: 3000, limit: 10 })
  assert.deepEqual(states.items, [{ metric: 'state', ts: 1000, value: 'a' }])
  // Pages of 1: the two events at the same ms come one after the other, none twice.
  const seen: string[] = []
  let cursor: string | undefined
  do {
    const page = await store.query({ deviceId: 'd1', limit: 1, ...(cursor ? { cursor } : {}) })
    seen.push(...page.items.map((e) => e.value))
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  assert.deepEqual(seen, ['a', 'b', 'c', 'c2'])
  await assert.rejects(
    store.query({ deviceId: 'd1', limit: 1, cursor: Buffer.from('d:x').toString('base64url') }),
    ValidationError,
  )
  await store.close()
})

test('retention deletes by age and keeps at most maxEvents, the newest', async () => {
  const now = 10 * 86_400_000
  const store = new SqliteEventStore(await dbPath(), {
    pruneEveryMs: 0,
    retentionMs: 86_400_000,
    maxEvents: 1000,
    now: () => now,
  })
  const old = Array.from({ length: 20 }, (_, i) => ev('d1', 'state', i, 'old'))
  const recent = Array.from({ length: 1500 }, (_, i) => ev('d1', 'state', now - 1000 + i, `new${i}`))
  await store.append([...old, ...recent])
  assert.equal(await store.prune(), 20 + 500)
  const page = await store.query({ deviceId: 'd1', limit: 1000 })
  assert.equal(page.items.length, 1000)
  assert.equal(page.items[0]?.value, 'new500')
  assert.equal(page.nextCursor, null)
  assert.equal(store.stats().pruned, 520)
  assert.equal(await store.prune(), 0)
  await store.close()
})
