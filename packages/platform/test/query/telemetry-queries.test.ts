// The TypeScript query API (src/query/) on a real engine and registry, without HTTP: input
// parsing, exact values in JSON, raw paging and early exit, exact combining per tag, the guards.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type EnginePoint, TimeSeriesEngine } from '@strata/tsdb'
import { QueryError } from '../../src/query/errors.js'
import { fromJsonValue, type JsonValue, jsonNumber, jsonNumbers } from '../../src/query/json.js'
import { parseDuration, parseTime, resolveRange } from '../../src/query/params.js'
import {
  type GroupBatch,
  type QueryEngine,
  type SeriesBatch,
  TelemetryQueries,
} from '../../src/query/telemetry-queries.js'
import { SqliteDb } from '../../src/registry/sqlite-db.js'
import { sqliteRegistryOn } from '../../src/registry/sqlite-repository.js'

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0)
const H = 3_600_000

const rejects = (fn: () => unknown, code: string, field?: string): void => {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof QueryError, String(err))
    assert.equal(err.code, code)
    if (field !== undefined) assert.equal(err.field, field)
    return true
  })
}

describe('query inputs', () => {
  test('instants: ms, ISO 8601 with a zone, now±duration, Dates', () => {
    assert.equal(parseTime('1714564800000', NOW, 'from'), NOW)
    assert.equal(parseTime(NOW, NOW, 'from'), NOW)
    assert.equal(parseTime(new Date(NOW), NOW, 'from'), NOW)
    assert.equal(parseTime('2024-05-01T12:00:00Z', NOW, 'from'), NOW)
    assert.equal(parseTime('2024-05-01T14:00:00.000+02:00', NOW, 'from'), NOW)
    assert.equal(parseTime('2024-05-01', NOW, 'from'), Date.UTC(2024, 4, 1))
    assert.equal(parseTime('now', NOW, 'to'), NOW)
    assert.equal(parseTime('now-15m', NOW, 'from'), NOW - 900_000)
    assert.equal(parseTime('now+1d', NOW, 'to'), NOW + 86_400_000)
    assert.equal(parseTime('-5', NOW, 'from'), -5)
    for (const bad of ['2024-05-01T12:00:00', 'yesterday', '', '1.5', 'now-', 'now-5y', '1e3', `${2 ** 52}`])
      rejects(() => parseTime(bad, NOW, 'from'), 'STRATA_QUERY_INVALID', 'from')
    rejects(() => parseTime(Number.NaN, NOW, 'to'), 'STRATA_QUERY_INVALID', 'to')
  })

  test('durations: ms or a unit, at least 1 ms', () => {
    assert.equal(parseDuration('250', 'bucket'), 250)
    assert.equal(parseDuration('90s', 'bucket'), 90_000)
    assert.equal(parseDuration('5m', 'bucket'), 300_000)
    assert.equal(parseDuration('1h', 'bucket'), H)
    assert.equal(parseDuration('1w', 'bucket'), 604_800_000)
    assert.equal(parseDuration(60_000, 'bucket'), 60_000)
    for (const bad of ['0', '0m', '5 m', '1.5h', '-1m', 'm', 1.5, 0])
      rejects(() => parseDuration(bad, 'bucket'), 'STRATA_QUERY_INVALID', 'bucket')
  })

  test('ranges: the last hour by default, from before to', () => {
    assert.deepEqual(resolveRange({}, NOW), { from: NOW - H, to: NOW })
    assert.deepEqual(resolveRange({ to: NOW - H }, NOW), { from: NOW - 2 * H, to: NOW - H })
    rejects(() => resolveRange({ from: NOW, to: NOW }, NOW), 'STRATA_QUERY_INVALID', 'from')
    rejects(() => resolveRange({ from: 'now', to: 'now-1m' }, NOW), 'STRATA_QUERY_INVALID', 'from')
  })

  test('values in JSON are exact: -0, NaN and the infinities too', () => {
    assert.equal(jsonNumber(-0), '-0')
    assert.equal(jsonNumber(0), '0')
    assert.equal(jsonNumber(Number.NaN), '"NaN"')
    assert.equal(jsonNumber(Number.NEGATIVE_INFINITY), '"-Infinity"')
    const values = new Float64Array(2000)
    const bytes = new Uint8Array(values.buffer)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 251
    values.set([-0, 0, Number.MIN_VALUE, -Number.MAX_VALUE, 0.1 + 0.2, Number.POSITIVE_INFINITY], 0)
    const back = (JSON.parse(jsonNumbers(values)) as JsonValue[]).map(fromJsonValue)
    back.forEach((v, i) => {
      const want = values[i] as number
      assert.ok(Object.is(v, want) || (Number.isNaN(v) && Number.isNaN(want)), `${i}: ${v} ≠ ${want}`)
    })
  })
})

describe('TelemetryQueries', () => {
  let dir: string
  let engine: TimeSeriesEngine
  let db: SqliteDb
  let queries: TelemetryQueries
  const B = NOW - 2 * H

  const collect = async <T extends SeriesBatch | GroupBatch>(
    it: AsyncIterable<T>,
  ): Promise<[number, number][]> => {
    const out: [number, number][] = []
    for await (const b of it)
      b.timestamps.forEach((ts, i) => {
        out.push([ts, b.values[i] as number])
      })
    return out
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-query-'))
    engine = await TimeSeriesEngine.open(join(dir, 'tsdb'), { fsync: false, sealCheckMs: 0, now: () => NOW })
    db = new SqliteDb(':memory:', () => new Date(NOW))
    const registry = sqliteRegistryOn(db)
    await registry.createDevice({ id: 'd1', tags: { site: 'a' } })
    await registry.createDevice({ id: 'd2', tags: { site: 'a' } })
    await registry.createDevice({ id: 'd3', tags: { site: 'b' } })
    await registry.createDevice({ id: 'd4' })
    const points: EnginePoint[] = []
    for (let i = 0; i < 120; i++) {
      points.push({ series: 'd1/t', ts: B + i * 60_000, value: i })
      points.push({ series: 'd2/t', ts: B + i * 60_000 + 1, value: i % 7 === 0 ? Number.NaN : -i / 2 })
      points.push({ series: 'd3/t', ts: B + i * 60_000, value: 0.25 })
    }
    points.push({ series: 'd4/t', ts: B, value: 42 })
    await engine.write(points)
    queries = new TelemetryQueries({ engine, registry, now: () => NOW })
  })
  after(async () => {
    await engine.close()
    db.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('latest: every metric of a device; a fleet, a page at a time', async () => {
    assert.deepEqual(await queries.latest('d1'), [{ metric: 't', ts: B + 119 * 60_000, value: 119 }])
    assert.deepEqual(await queries.latest('d1', { metrics: ['nope'] }), [])
    const page = await queries.fleetLatest({ selector: 'tag:site=a', limit: 1 })
    assert.deepEqual(
      page.items.map((d) => d.deviceId),
      ['d1'],
    )
    assert.notEqual(page.nextCursor, null)
    await assert.rejects(queries.latest('nobody'), { code: 'STRATA_REGISTRY_NOT_FOUND' })
  })

  test('raw: limit and next page through; breaking out closes the engine read', async () => {
    const range = { from: B, to: B + 2 * H }
    const first = await queries.raw({ deviceId: 'd1', metric: 't', ...range, limit: 50 })
    assert.equal((await collect(first)).length, 50)
    assert.equal(first.next, B + 50 * 60_000)
    const rest = await queries.raw({ deviceId: 'd1', metric: 't', from: first.next as number, to: range.to })
    assert.equal((await collect(rest)).length, 70)
    assert.equal(rest.next, null)

    let returned = false
    const wrapped: QueryEngine = {
      latest: (s) => engine.latest(s),
      series: (f) => engine.series(f),
      aggregate: (...a) => engine.aggregate(...a),
      raw: (...a) => {
        const inner = engine.raw(...a)[Symbol.asyncIterator]()
        return {
          [Symbol.asyncIterator]: () => ({
            next: () => inner.next(),
            return: async () => {
              returned = true
              return (await inner.return?.()) ?? { done: true, value: undefined }
            },
          }),
        }
      },
    }
    const q = new TelemetryQueries({ engine: wrapped, registry: sqliteRegistryOn(db), now: () => NOW })
    for await (const _ of await q.raw({ deviceId: 'd1', metric: 't', ...range })) break
    assert.equal(returned, true)
    await assert.rejects(
      q.raw({ deviceId: 'd1', metric: 't', points: 10 }),
      (err: QueryError) => err.code === 'STRATA_QUERY_UNSUPPORTED' && err.field === 'points',
    )
  })

  test('grouped by tag: exact sums, counts, min/max ignoring NaN, avg = combined sum / combined count', async () => {
    const range = { from: B, to: B + 2 * H }
    const run = async (fn: 'avg' | 'sum' | 'count' | 'min' | 'max') => {
      const r = await queries.fleet({ metrics: ['t'], ...range, bucket: '30m', fn, groupBy: { tag: 'site' } })
      assert.deepEqual(r.groups, ['a', 'b', null])
      const out = new Map<string, [number, number][]>()
      for await (const b of r) {
        assert.equal(b.kind, 'group')
        const key = JSON.stringify((b as GroupBatch).group)
        b.timestamps.forEach((ts, i) => {
          out.set(key, [...(out.get(key) ?? []), [ts, b.values[i] as number]])
        })
      }
      return out
    }
    const count = await run('count')
    assert.deepEqual(count.get('{"site":"a"}')?.[0], [B, 60])
    assert.deepEqual(count.get('{"site":null}'), [[B, 1]])
    // NaN in d2 (every 7th point): min and max skip it, sum and avg carry it.
    const min = await run('min')
    assert.deepEqual(min.get('{"site":"a"}')?.[0], [B, -14.5])
    const max = await run('max')
    assert.deepEqual(max.get('{"site":"a"}')?.[1], [B + 1_800_000, 59])
    const sum = await run('sum')
    assert.ok(Number.isNaN(sum.get('{"site":"a"}')?.[0]?.[1]))
    assert.deepEqual(sum.get('{"site":"b"}')?.[0], [B, 7.5])
    const avg = await run('avg')
    assert.deepEqual(avg.get('{"site":"b"}')?.[0], [B, 0.25])
    // d1 alone vs d1+d3 by hand, where no NaN interferes: site b's avg is d3's.
    const d1 = await collect(
      await queries.aggregate({ deviceId: 'd1', metric: 't', ...range, bucket: '30m', fn: 'avg' }),
    )
    assert.deepEqual(d1[0], [B, 14.5])
  })

  test('sealed chunks answer like the head: the summaries combine exactly too', async () => {
    const range = { from: B, to: B + 2 * H }
    const before = await collect(
      await queries.fleet({ metrics: ['t'], ...range, bucket: '1h', fn: 'sum', groupBy: { tag: 'site' } }),
    )
    await engine.flush()
    const after = await collect(
      await queries.fleet({ metrics: ['t'], ...range, bucket: '1h', fn: 'sum', groupBy: { tag: 'site' } }),
    )
    assert.equal(after.length, before.length)
    after.forEach(([ts, v], i) => {
      assert.equal(ts, before[i]?.[0])
      assert.ok(Object.is(v, before[i]?.[1]), `${v} vs ${before[i]?.[1]}`)
    })
  })

  test('guards: devices, buckets, cells, limit; first/last per tag refused', async () => {
    const small = new TelemetryQueries({
      engine,
      registry: sqliteRegistryOn(db),
      now: () => NOW,
      limits: { maxDevices: 3, maxBuckets: 100, maxCells: 150, maxRawPoints: 10, maxMetrics: 2 },
    })
    const tooLarge = (field: string) => (err: QueryError) =>
      err instanceof QueryError && err.code === 'STRATA_QUERY_TOO_LARGE' && err.field === field
    await assert.rejects(small.fleet({ metrics: ['t'], bucket: '1h' }), tooLarge('selector'))
    await assert.rejects(
      small.fleet({ selector: 'tag:site', metrics: ['t'], bucket: '1m', from: 'now-3h' }),
      tooLarge('bucket'),
    )
    await assert.rejects(
      small.fleet({ selector: 'tag:site', metrics: ['t'], bucket: '1m' }),
      tooLarge('bucket'),
    )
    await assert.rejects(
      small.fleet({ selector: 'tag:site', metrics: ['a', 'b', 'c'], bucket: '1h' }),
      tooLarge('metrics'),
    )
    await assert.rejects(small.raw({ deviceId: 'd1', metric: 't', limit: 11 }), tooLarge('limit'))
    // One tag group of 3 devices is 60 cells where by device it would be 180.
    const grouped = await small.fleet({
      selector: 'tag:site',
      metrics: ['t'],
      bucket: '1m',
      groupBy: { tag: 'site' },
    })
    assert.deepEqual(grouped.groups, ['a', 'b'])
    for (const fn of ['first', 'last'] as const)
      await assert.rejects(
        queries.fleet({ metrics: ['t'], bucket: '1h', fn, groupBy: { tag: 'site' } }),
        (err: QueryError) => err.code === 'STRATA_QUERY_UNSUPPORTED' && err.field === 'fn',
      )
    await assert.rejects(queries.fleet({ metrics: [], bucket: '1h' }), { code: 'STRATA_QUERY_INVALID' })
    await assert.rejects(queries.fleet({ metrics: ['t'], bucket: '1h', groupBy: { tag: 'a b' } }), {
      code: 'STRATA_QUERY_INVALID',
    })
    await assert.rejects(queries.fleet({ selector: 'tag:', metrics: ['t'], bucket: '1h' }), {
      code: 'STRATA_REGISTRY_SELECTOR',
    })
  })
})

describe('TelemetryQueries after retention', () => {
  test('a bucket finer than the rollups retention left (no archive) is a 400 naming bucket, before streaming', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-query-retention-'))
    const engine = await TimeSeriesEngine.open(join(dir, 'tsdb'), { fsync: false, sealCheckMs: 0 })
    const db = new SqliteDb(join(dir, 'registry.db'), () => new Date(NOW))
    try {
      const registry = sqliteRegistryOn(db)
      await registry.createDevice({ id: 'old', tags: { site: 'a' } })
      const day = Math.floor(NOW / 86_400_000) * 86_400_000 - 3 * 86_400_000
      const points: EnginePoint[] = Array.from({ length: 240 }, (_, i) => ({
        series: 'old/t',
        ts: day + i * 15_000,
        value: i,
      }))
      await engine.write(points)
      await engine.flush()
      await engine.dropBefore(day + 86_400_000, 'raw')
      const q = new TelemetryQueries({ engine, registry, now: () => NOW })
      const range = { from: day, to: day + H }
      const refused = (err: QueryError) =>
        err.code === 'STRATA_QUERY_UNSUPPORTED' &&
        err.field === 'bucket' &&
        /multiple of 60000/.test(err.message)
      await assert.rejects(q.aggregate({ deviceId: 'old', metric: 't', ...range, bucket: '30s' }), refused)
      await assert.rejects(q.fleet({ metrics: ['t'], ...range, bucket: '30s' }), refused)
      await assert.rejects(
        q.fleet({ metrics: ['t'], ...range, bucket: '30s', groupBy: { tag: 'site' } }),
        refused,
      )
      // Whole minutes answer from the 1-minute rollups.
      let n = 0
      for await (const b of await q.aggregate({
        deviceId: 'old',
        metric: 't',
        ...range,
        bucket: '1m',
        fn: 'count',
      })) {
        assert.ok((b as SeriesBatch).values.every((v) => v === 4))
        n += b.timestamps.length
      }
      assert.equal(n, 60)
    } finally {
      await engine.close()
      db.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
