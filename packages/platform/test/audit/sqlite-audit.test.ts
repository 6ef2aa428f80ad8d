import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { AuditEntry, AuditLog, NewAuditEntry } from '../../src/audit/model.js'
import { createAuditLog } from '../../src/audit/sqlite-audit.js'
import { ValidationError } from '../../src/registry/errors.js'
import { SqliteDb } from '../../src/registry/sqlite-db.js'

const START = Date.parse('2030-01-01T00:00:00.000Z')

async function withLog(fn: (log: AuditLog, tick: () => void) => Promise<void>): Promise<void> {
  let now = START
  const db = new SqliteDb(':memory:', () => new Date(now))
  try {
    await fn(createAuditLog(db), () => {
      now += 1000
    })
  } finally {
    db.close()
  }
}

const entry = (over: Partial<NewAuditEntry> = {}): NewAuditEntry => ({
  actor: 'user:alice',
  action: 'device.create',
  targetKind: 'device',
  targetId: 'd1',
  details: {},
  ...over,
})

async function all(log: AuditLog, query: Parameters<AuditLog['list']>[0] = {}): Promise<AuditEntry[]> {
  const out: AuditEntry[] = []
  let cursor: string | null = null
  do {
    const page = await log.list({ ...query, cursor })
    out.push(...page.items)
    cursor = page.nextCursor
  } while (cursor !== null)
  return out
}

test('record returns the entry with a growing seq, the time and the details', () =>
  withLog(async (log, tick) => {
    const first = await log.record(entry({ details: { name: 'Pump 1', tags: { floor: '2' }, n: [1, 2] } }))
    assert.deepEqual(first, {
      seq: 1,
      at: '2030-01-01T00:00:00.000Z',
      actor: 'user:alice',
      action: 'device.create',
      targetKind: 'device',
      targetId: 'd1',
      details: { name: 'Pump 1', tags: { floor: '2' }, n: [1, 2] },
    })
    tick()
    const second = await log.record({ ...entry(), details: undefined as never })
    assert.equal(second.seq, 2)
    assert.equal(second.at, '2030-01-01T00:00:01.000Z')
    assert.deepEqual(second.details, {}, 'absent details are an empty object')
  }))

test('list is newest first and pages with an opaque cursor', () =>
  withLog(async (log) => {
    for (let i = 1; i <= 5; i++) await log.record(entry({ targetId: `d${i}` }))
    const page1 = await log.list({ limit: 2 })
    assert.deepEqual(
      page1.items.map((e) => e.seq),
      [5, 4],
    )
    assert.ok(page1.nextCursor)
    assert.doesNotMatch(page1.nextCursor, /4/, 'the cursor does not show the seq in the clear')
    // An entry recorded between pages neither repeats nor shifts the next page.
    await log.record(entry({ targetId: 'd6' }))
    const page2 = await log.list({ limit: 2, cursor: page1.nextCursor })
    assert.deepEqual(
      page2.items.map((e) => e.seq),
      [3, 2],
    )
    const page3 = await log.list({ limit: 2, cursor: page2.nextCursor })
    assert.deepEqual(
      page3.items.map((e) => e.seq),
      [1],
    )
    assert.equal(page3.nextCursor, null)
    assert.equal((await log.list()).items.length, 6, 'default limit 100')
    assert.equal((await log.list({ limit: 6 })).nextCursor, null, 'no empty last page')
  }))

test('list filters by target kind, target id and actor, alone and together', () =>
  withLog(async (log) => {
    await log.record(entry())
    await log.record(entry({ actor: 'apikey:ak_0123456789abcdef', action: 'device.update' }))
    await log.record(entry({ targetId: 'd2' }))
    await log.record(entry({ targetKind: 'user', targetId: 'd1', action: 'user.update' }))
    await log.record(
      entry({ actor: 'system', targetKind: 'credential', targetId: 'c1', action: 'credential.revoke' }),
    )
    const seqs = async (q: Parameters<AuditLog['list']>[0]) =>
      (await all(log, { ...q, limit: 1 })).map((e) => e.seq)
    assert.deepEqual(await seqs({ targetKind: 'device' }), [3, 2, 1])
    assert.deepEqual(await seqs({ targetId: 'd1' }), [4, 2, 1])
    assert.deepEqual(await seqs({ targetKind: 'device', targetId: 'd1' }), [2, 1])
    assert.deepEqual(await seqs({ actor: 'user:alice' }), [4, 3, 1])
    assert.deepEqual(await seqs({ actor: 'user:alice', targetKind: 'device', targetId: 'd1' }), [1])
    assert.deepEqual(await seqs({ actor: 'nobody' }), [])
  }))

test('bad entries and queries are refused with a ValidationError naming the field', () =>
  withLog(async (log) => {
    const deviceCursor = Buffer.from('d:pump-1').toString('base64url')
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['entry', () => log.record(null as never)],
      ['actor', () => log.record(entry({ actor: '' }))],
      ['actor', () => log.record(entry({ actor: 'user:a\nb' }))],
      ['action', () => log.record(entry({ action: 'create' }))],
      ['action', () => log.record(entry({ action: 'Device.Create' }))],
      ['action', () => log.record(entry({ action: 7 as never }))],
      ['targetKind', () => log.record(entry({ targetKind: '' }))],
      ['targetId', () => log.record(entry({ targetId: 'x'.repeat(257) }))],
      ['details', () => log.record(entry({ details: [] as never }))],
      ['details', () => log.record(entry({ details: { n: Number.NaN } }))],
      ['details', () => log.record(entry({ details: { key: `stk_0123456789abcdef_${'A'.repeat(43)}` } }))],
      ['details', () => log.record(entry({ details: { nested: { token: `sst_${'b'.repeat(43)}` } } }))],
      ['limit', () => log.list({ limit: 0 })],
      ['limit', () => log.list({ limit: 1001 })],
      ['limit', () => log.list({ limit: 1.5 })],
      ['cursor', () => log.list({ cursor: 'garbage' })],
      ['cursor', () => log.list({ cursor: deviceCursor })],
      ['cursor', () => log.list({ cursor: Buffer.from('a:0').toString('base64url') })],
      ['targetKind', () => log.list({ targetKind: 3 as never })],
      ['actor', () => log.list({ actor: '' })],
    ]
    for (const [field, call] of cases) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof ValidationError, `${field}: ${String(err)}`)
        assert.equal(err.field, field, err.message)
        return true
      })
    }
    assert.equal((await log.list()).items.length, 0, 'nothing bad was recorded')
    // A metric that merely starts like a token prefix is not a secret.
    await log.record(entry({ details: { metric: 'sst_celsius_daily_average' } }))
    assert.equal((await log.list({ limit: 1000 })).items.length, 1)
  }))

test('an aborted call rejects with the signal’s reason', () =>
  withLog(async (log) => {
    const controller = new AbortController()
    controller.abort(new Error('stop'))
    await assert.rejects(log.record(entry(), { signal: controller.signal }), /stop/)
    await assert.rejects(log.list({}, { signal: controller.signal }), /stop/)
  }))
