// The telemetry query API on a real platform, with fetch: raw ranges with paging, aggregates per
// device, latest values, fleet queries grouped by device and by tag (combined exactly), the
// guards, MQTT ingest read back over HTTP, and the NDJSON stream of a large range (several
// chunks; the engine read closed when the client goes away).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { EnginePoint } from '@strata/tsdb'
import { fromJsonValue, type JsonValue } from '../../src/query/json.js'
import { connect, waitUntil } from '../integration/lib.js'
import {
  assertSamePoints,
  type DataLine,
  pointsOf,
  query,
  startTelemetryPlatform,
  type TelemetryTestPlatform,
} from './telemetry-helpers.js'

const HOUR = 3_600_000
/** A whole hour, 3 hours ago: every bucket below starts on it. */
const B = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR
const STEP = 10_000
const N = 360

const DEVICES: [string, Record<string, string>][] = [
  ['q-a1', { building: 'north' }],
  ['q-a2', { building: 'north' }],
  ['q-b1', { building: 'south' }],
  ['q-c', {}],
]

/** Values with few significant bits: every sum is exact whatever the order of additions. */
const valueAt = (k: number, i: number, metric: string): number =>
  metric === 'temp' ? 10 * k + ((i * 7) % 13) / 4 - 1 : (k + 1) * ((i % 5) - 2)

function series(k: number, metric: string): [number, number][] {
  return Array.from({ length: N }, (_, i) => [B + i * STEP, valueAt(k, i, metric)])
}

type Fn = 'avg' | 'min' | 'max' | 'sum' | 'count' | 'first' | 'last'

/** Buckets of several series combined (one series: that series' buckets). */
function expectedBuckets(all: [number, number][][], bucketMs: number, fn: Fn): [number, number][] {
  const acc = new Map<number, number[]>()
  for (const s of all)
    for (const [ts, v] of s) {
      const b = Math.floor(ts / bucketMs) * bucketMs
      const list = acc.get(b) ?? []
      list.push(v)
      acc.set(b, list)
    }
  return [...acc.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, vs]) => {
      const sum = vs.reduce((x, y) => x + y, 0)
      const value = {
        avg: sum / vs.length,
        sum,
        count: vs.length,
        min: Math.min(...vs),
        max: Math.max(...vs),
        first: vs[0] as number,
        last: vs[vs.length - 1] as number,
      }[fn]
      return [b, value]
    })
}

async function errorOf(t: TelemetryTestPlatform, path: string, body?: unknown, token = t.reader) {
  const res = await fetch(`${t.base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const json = (await res.json()) as { statusCode: number; code: string; message: string; field?: string }
  assert.equal(json.statusCode, res.status)
  return json
}

describe('telemetry queries over HTTP', () => {
  let t: TelemetryTestPlatform

  before(async () => {
    t = await startTelemetryPlatform()
    const points: EnginePoint[] = []
    for (const [k, [id, tags]] of DEVICES.entries()) {
      await t.device(id, { tags })
      for (const metric of ['temp', 'power'])
        for (const [ts, value] of series(k, metric)) points.push({ series: `${id}/${metric}`, ts, value })
    }
    await t.platform.engine.write(points)
  })
  after(() => t.close())

  test('a raw range pages with limit and next, every point once, in order', async () => {
    const all: [number, number][] = []
    let from: number | null = B
    let pages = 0
    while (from !== null) {
      const { ndjson } = await query(
        t,
        `/api/devices/q-a1/telemetry/temp?from=${from}&to=${B + HOUR}&limit=100`,
      )
      all.push(...pointsOf(ndjson.data))
      from = ndjson.end.next as number | null
      pages++
    }
    assert.equal(pages, 4)
    assertSamePoints(all, series(0, 'temp'), 'paged')
    // ISO 8601 and relative times are accepted too.
    const iso = await query(
      t,
      `/api/devices/q-a1/telemetry/temp?from=${new Date(B).toISOString()}&to=${encodeURIComponent(new Date(B + STEP * 3).toISOString())}`,
    )
    assertSamePoints(pointsOf(iso.ndjson.data), series(0, 'temp').slice(0, 3), 'iso')
    const relative = await query(t, '/api/devices/q-a1/telemetry/temp?from=now-4h&to=now&limit=1000')
    assert.equal(pointsOf(relative.ndjson.data).length, N)
  })

  test('buckets of one device: every function, exact', async () => {
    for (const fn of ['avg', 'min', 'max', 'sum', 'count', 'first', 'last'] as const) {
      for (const [bucket, ms] of [
        ['5m', 300_000],
        ['600000', 600_000],
        ['1h', HOUR],
      ] as const) {
        const { ndjson } = await query(
          t,
          `/api/devices/q-b1/telemetry/temp?from=${B}&to=${B + HOUR}&bucket=${bucket}&fn=${fn}`,
        )
        assert.deepEqual(ndjson.header, { from: B, to: B + HOUR, bucket: ms, fn })
        const expected = expectedBuckets([series(2, 'temp')], ms, fn)
        assertSamePoints(pointsOf(ndjson.data), expected, `${fn} ${bucket}`)
        assert.deepEqual(ndjson.end, { done: true, points: expected.length, next: null })
      }
    }
  })

  test('the latest point of each metric of a device, and of a fleet', async () => {
    const r = await fetch(`${t.base}/api/devices/q-a2/telemetry`, {
      headers: { authorization: `Bearer ${t.reader}` },
    })
    assert.equal(r.status, 200)
    const last = B + (N - 1) * STEP
    assert.deepEqual(await r.json(), {
      deviceId: 'q-a2',
      values: ['power', 'temp'].map((metric) => ({
        metric,
        ts: last,
        time: new Date(last).toISOString(),
        value: valueAt(1, N - 1, metric),
      })),
    })
    const page1 = (await (
      await fetch(
        `${t.base}/api/telemetry/latest?selector=${encodeURIComponent('id:q-*')}&metrics=temp&limit=3`,
        {
          headers: { authorization: `Bearer ${t.reader}` },
        },
      )
    ).json()) as {
      items: { deviceId: string; values: { metric: string; value: JsonValue }[] }[]
      nextCursor: string
    }
    assert.deepEqual(
      page1.items.map((d) => d.deviceId),
      ['q-a1', 'q-a2', 'q-b1'],
    )
    assert.deepEqual(
      page1.items.map((d) => d.values.map((v) => v.metric)),
      [['temp'], ['temp'], ['temp']],
    )
    assert.equal(page1.items[2]?.values[0]?.value, valueAt(2, N - 1, 'temp'))
    const page2 = (await (
      await fetch(
        `${t.base}/api/telemetry/latest?selector=${encodeURIComponent('id:q-*')}&metrics=temp&limit=3&cursor=${encodeURIComponent(page1.nextCursor)}`,
        { headers: { authorization: `Bearer ${t.reader}` } },
      )
    ).json()) as { items: { deviceId: string }[]; nextCursor: string | null }
    assert.deepEqual(
      page2.items.map((d) => d.deviceId),
      ['q-c'],
    )
    assert.equal(page2.nextCursor, null)
  })

  test('a fleet query grouped by device: one series per device and metric', async () => {
    const { ndjson } = await query(t, '/api/telemetry/query', {
      selector: 'tag:building',
      metrics: ['temp', 'power'],
      from: B,
      to: new Date(B + HOUR).toISOString(),
      bucket: '15m',
      fn: 'max',
    })
    assert.deepEqual(ndjson.header, {
      from: B,
      to: B + HOUR,
      bucket: 900_000,
      fn: 'max',
      groupBy: 'device',
      devices: 3,
    })
    const byKey = new Map<string, DataLine[]>()
    for (const line of ndjson.data) {
      const key = `${line.device}/${line.metric}`
      byKey.set(key, [...(byKey.get(key) ?? []), line])
    }
    assert.deepEqual([...byKey.keys()].sort(), [
      'q-a1/power',
      'q-a1/temp',
      'q-a2/power',
      'q-a2/temp',
      'q-b1/power',
      'q-b1/temp',
    ])
    for (const [k, [id]] of DEVICES.slice(0, 3).entries())
      for (const metric of ['temp', 'power'])
        assertSamePoints(
          pointsOf(byKey.get(`${id}/${metric}`) ?? []),
          expectedBuckets([series(k, metric)], 900_000, 'max'),
          `${id}/${metric}`,
        )
  })

  test('a fleet query grouped by tag combines exactly: sums and counts, not averages', async () => {
    for (const fn of ['avg', 'sum', 'count', 'min', 'max'] as const) {
      const { ndjson } = await query(t, '/api/telemetry/query', {
        metrics: ['temp'],
        from: B,
        to: B + HOUR,
        bucket: '10m',
        fn,
        groupBy: { tag: 'building' },
      })
      assert.deepEqual(ndjson.header.groups, ['north', 'south', null])
      assert.equal(ndjson.header.devices, 4)
      const groups = new Map<string, DataLine[]>()
      for (const line of ndjson.data) {
        assert.equal(line.device, undefined)
        const key = JSON.stringify(line.group)
        groups.set(key, [...(groups.get(key) ?? []), line])
      }
      const members: [string, number[]][] = [
        ['{"building":"north"}', [0, 1]],
        ['{"building":"south"}', [2]],
        ['{"building":null}', [3]],
      ]
      for (const [key, ks] of members) {
        const expected = expectedBuckets(
          ks.map((k) => series(k, 'temp')),
          600_000,
          fn,
        )
        assertSamePoints(pointsOf(groups.get(key) ?? []), expected, `${fn} ${key}`)
      }
    }
    // An average of averages would differ here: north's devices have different counts in a bucket.
    const extra: EnginePoint[] = [{ series: 'q-a1/temp', ts: B + 1, value: 1000 }]
    await t.platform.engine.write(extra)
    const { ndjson } = await query(t, '/api/telemetry/query', {
      selector: 'tag:building=north',
      metrics: ['temp'],
      from: B,
      to: B + 600_000,
      bucket: '10m',
      groupBy: { tag: 'building' },
    })
    const a1 = [
      ...series(0, 'temp')
        .filter(([ts]) => ts < B + 600_000)
        .map(([, v]) => v),
      1000,
    ]
    const a2 = series(1, 'temp')
      .filter(([ts]) => ts < B + 600_000)
      .map(([, v]) => v)
    const sum = [...a1, ...a2].reduce((x, y) => x + y, 0)
    const [[, got]] = pointsOf(ndjson.data) as [[number, number]]
    assert.equal(got, sum / (a1.length + a2.length))
    const avgOfAvgs = (a1.reduce((x, y) => x + y) / a1.length + a2.reduce((x, y) => x + y) / a2.length) / 2
    assert.notEqual(got, avgOfAvgs)
  })

  test('first and last cannot be combined over a tag group: 400, clear; by device they work', async () => {
    for (const fn of ['first', 'last']) {
      const err = await errorOf(t, '/api/telemetry/query', {
        metrics: ['temp'],
        bucket: '1h',
        fn,
        groupBy: { tag: 'building' },
      })
      assert.equal(err.code, 'STRATA_QUERY_UNSUPPORTED')
      assert.equal(err.field, 'fn')
      assert.match(err.message, /group by device/)
    }
    const { ndjson } = await query(t, '/api/telemetry/query', {
      selector: 'id:q-c',
      metrics: ['temp'],
      from: B,
      to: B + HOUR,
      bucket: '1h',
      fn: 'first',
    })
    assertSamePoints(pointsOf(ndjson.data), [[B, valueAt(3, 0, 'temp')]])
  })

  test('guards and bad input: clear 400s, 404 for an unknown device, 403 without telemetry:read', async () => {
    const cases: [string, string, unknown?][] = [
      ['/api/devices/q-a1/telemetry/temp?from=0&to=86400000&bucket=1ms', 'STRATA_QUERY_TOO_LARGE'],
      ['/api/devices/q-a1/telemetry/temp?limit=2000000', 'STRATA_QUERY_TOO_LARGE'],
      [`/api/devices/q-a1/telemetry/temp?from=${B}&to=${B}`, 'STRATA_QUERY_INVALID'],
      ['/api/devices/q-a1/telemetry/temp?from=yesterday', 'STRATA_QUERY_INVALID'],
      ['/api/devices/q-a1/telemetry/temp?from=2024-05-01T12:00:00', 'STRATA_QUERY_INVALID'],
      ['/api/devices/q-a1/telemetry/temp?bucket=5parsecs', 'STRATA_QUERY_INVALID'],
      ['/api/devices/q-a1/telemetry/temp?fn=avg', 'STRATA_API_INVALID_REQUEST'],
      ['/api/devices/q-a1/telemetry/temp?bucket=1m&limit=5', 'STRATA_API_INVALID_REQUEST'],
      ['/api/devices/q-a1/telemetry/temp?fn=median&bucket=1m', 'STRATA_API_INVALID_REQUEST'],
      ['/api/devices/q-a1/telemetry/2bad', 'STRATA_API_INVALID_REQUEST'],
      ['/api/devices/q-a1/telemetry?metrics=temp,2bad', 'STRATA_QUERY_INVALID'],
      [
        '/api/telemetry/query',
        'STRATA_QUERY_TOO_LARGE',
        { metrics: ['temp'], bucket: 1, from: 0, to: 10 * HOUR },
      ],
      [
        '/api/telemetry/query',
        'STRATA_REGISTRY_SELECTOR',
        { selector: 'tag:', metrics: ['temp'], bucket: '1m' },
      ],
      [
        '/api/telemetry/query',
        'STRATA_QUERY_INVALID',
        { metrics: ['temp'], bucket: '1m', groupBy: { tag: '%' } },
      ],
      ['/api/telemetry/query', 'STRATA_API_INVALID_REQUEST', { metrics: [], bucket: '1m' }],
    ]
    for (const [path, code, body] of cases) {
      const err = await errorOf(t, path, body)
      assert.equal(err.statusCode, 400, `${path} ${JSON.stringify(body)}: ${err.message}`)
      assert.equal(err.code, code, `${path}: ${err.message}`)
    }
    const both = await errorOf(t, '/api/devices/q-a1/telemetry/temp?points=100&limit=5')
    assert.equal(both.code, 'STRATA_QUERY_INVALID')
    const missing = await errorOf(t, '/api/devices/nobody/telemetry/temp')
    assert.equal(missing.statusCode, 404)
    const { key } = await t.platform.access.createApiKey({
      name: 'no-telemetry',
      owner: 'reader',
      scopes: ['devices:read'],
    })
    for (const path of [
      '/api/devices/q-a1/telemetry',
      '/api/devices/q-a1/telemetry/temp',
      '/api/telemetry/latest',
    ]) {
      const err = await errorOf(t, path, undefined, key)
      assert.equal(err.statusCode, 403, path)
      assert.match(err.message, /telemetry:read/)
    }
  })

  test('points=N: at most N real points of the range by LTTB, the first and last kept', async () => {
    const { ndjson } = await query(t, `/api/devices/q-a1/telemetry/temp?from=${B}&to=${B + HOUR}&points=50`)
    assert.deepEqual(ndjson.header, { from: B, to: B + HOUR, points: 50 })
    const got = pointsOf(ndjson.data)
    assert.equal(got.length, 50)
    // Every point of the range, as stored (an earlier test added one).
    const raw = await query(t, `/api/devices/q-a1/telemetry/temp?from=${B}&to=${B + HOUR}&limit=1000`)
    const all = pointsOf(raw.ndjson.data)
    const byTs = new Map(all)
    for (const [ts, v] of got) assert.ok(Object.is(byTs.get(ts), v), `${ts} is a real point`)
    assert.deepEqual(got[0], all[0])
    assert.deepEqual(got[got.length - 1], all[all.length - 1])
    assert.deepEqual(ndjson.end, { done: true, points: 50, next: null })
  })

  test('MQTT ingest, then the HTTP query reads it back exactly', async () => {
    const token = await t.device('q-mqtt')
    const client = await connect(`mqtt://127.0.0.1:${t.platform.port('MQTT')}`, {
      clientId: 'q-mqtt',
      username: 'q-mqtt',
      password: token,
      protocolVersion: 5,
    })
    try {
      await client.publishAsync(
        'devices/q-mqtt/telemetry',
        JSON.stringify([
          { ts: B, rpm: 1234.5678 },
          { ts: B + 1, rpm: 0.1 + 0.7 },
        ]),
        { qos: 1 },
      )
    } finally {
      await client.endAsync()
    }
    const { ndjson } = await query(t, `/api/devices/q-mqtt/telemetry/rpm?from=${B}&to=${B + 2}`)
    assertSamePoints(pointsOf(ndjson.data), [
      [B, 1234.5678],
      [B + 1, 0.1 + 0.7],
    ])
  })
})

describe('telemetry queries: streaming a large range', () => {
  let t: TelemetryTestPlatform
  const COUNT = 200_000
  // Over four hours: several windows, so the engine hands out several batches.
  const SPACING = 72
  const S = B - 2 * HOUR
  const SPAN = COUNT * SPACING

  before(async () => {
    t = await startTelemetryPlatform()
    await t.device('big')
    const points: EnginePoint[] = new Array(COUNT)
    for (let i = 0; i < COUNT; i++) points[i] = { series: 'big/v', ts: S + i * SPACING, value: i * 0.5 }
    await t.platform.engine.write(points)
  })
  after(() => t.close())

  test('200,000 points arrive as many NDJSON lines and chunks, all of them, exactly', async () => {
    const res = await fetch(`${t.base}/api/devices/big/telemetry/v?from=${S}&to=${S + SPAN}&limit=${COUNT}`, {
      headers: { authorization: `Bearer ${t.reader}` },
    })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('transfer-encoding'), 'chunked')
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let chunks = 0
    let text = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      chunks++
      text += decoder.decode(value, { stream: true })
    }
    assert.ok(chunks > 10, `${chunks} chunks`)
    const lines = text.trimEnd().split('\n')
    assert.ok(lines.length >= COUNT / 2048 + 2, `${lines.length} lines`)
    const end = JSON.parse(lines[lines.length - 1] as string) as { done: boolean; points: number; next: null }
    assert.deepEqual(end, { done: true, points: COUNT, next: null })
    let i = 0
    for (const line of lines.slice(1, -1)) {
      const { ts, values } = JSON.parse(line) as { ts: number[]; values: JsonValue[] }
      assert.ok(ts.length <= 2048)
      for (let j = 0; j < ts.length; j++, i++) {
        if (ts[j] !== S + i * SPACING || fromJsonValue(values[j] as JsonValue) !== i * 0.5)
          assert.fail(`point ${i}: ${ts[j]} ${values[j]}`)
      }
    }
    assert.equal(i, COUNT)
  })

  test('a client that goes away mid-stream stops the engine read (aborted, its iterator closed)', async () => {
    const engine = t.platform.engine
    const original = engine.raw
    /** closed: return() was called; failed: the read threw (the engine stops an aborted read so). */
    const reads: { closed: boolean; failed?: Error; signal?: AbortSignal }[] = []
    engine.raw = function (this: typeof engine, ...args: Parameters<typeof original>) {
      const inner = original.apply(this, args)
      const signal = args[3]?.signal
      const read: (typeof reads)[number] = { closed: false, signal }
      reads.push(read)
      let calls = 0
      return {
        [Symbol.asyncIterator]() {
          const it = inner[Symbol.asyncIterator]()
          return {
            // The second batch waits until the server saw the client go: the read is mid-stream then.
            next: async () => {
              if (calls++ === 1 && signal && !signal.aborted)
                await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
              try {
                return await it.next()
              } catch (err) {
                read.failed = err as Error
                throw err
              }
            },
            return: async (value?: unknown) => {
              read.closed = true
              return (await it.return?.(value)) ?? { done: true as const, value: undefined }
            },
          }
        },
      }
    } as typeof original
    try {
      const controller = new AbortController()
      const res = await fetch(
        `${t.base}/api/devices/big/telemetry/v?from=${S}&to=${S + SPAN}&limit=${COUNT}`,
        {
          headers: { authorization: `Bearer ${t.reader}` },
          signal: controller.signal,
        },
      )
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      await reader.read()
      controller.abort()
      await reader.read().catch(() => undefined)
      await waitUntil(
        () => reads[0]?.closed === true || reads[0]?.failed !== undefined,
        'the engine read to end',
      )
      assert.equal(reads.length, 1)
      assert.equal(reads[0]?.signal?.aborted, true, 'the read was aborted')
      // Either the engine saw the abort and threw, or the iterator was returned at a yield.
      assert.ok(reads[0]?.closed || reads[0]?.failed?.name === 'AbortError', String(reads[0]?.failed))
    } finally {
      engine.raw = original
    }
    // The platform still answers.
    const { ndjson } = await query(t, `/api/devices/big/telemetry/v?from=${S}&to=${S + 3 * SPACING}`)
    assert.equal(ndjson.end.points, 3)
  })
})
