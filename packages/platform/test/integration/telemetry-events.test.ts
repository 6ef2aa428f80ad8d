// String telemetry into the event log, device-type profiles (flagged points and their
// rate-limited error events), the events and ledger routes, and the bad-input rules of the new
// device-type fields: mqtt.js v5 devices and HTTP against a real in-process platform.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import Database from 'better-sqlite3'
import type { MqttClient } from 'mqtt'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { assertOneLineError, runStrata } from '../helpers/run-cli.js'
import { collect, connect, type Received, waitUntil } from './lib.js'

const T0 = 1_700_000_000_000

describe('telemetry events and device-type profiles', () => {
  let platform: TestPlatform
  let device: MqttClient
  let errors: Received[]
  let api: string
  let key: string

  const send = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(api + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: r.status, json: (await r.json()) as Record<string, unknown> }
  }
  const metricsText = async (): Promise<string> => (await fetch(`${api}/metrics`)).text()
  const flagEvents = () =>
    errors
      .map((e) => JSON.parse(e.payload.toString()) as { code: string; metric: string; reason: string })
      .filter((e) => e.code === 'STRATA_TELEMETRY_FLAGGED')

  before(async () => {
    platform = await startTestPlatform()
    api = `http://127.0.0.1:${platform.port('HTTP')}`
    await platform.access.createUser({ username: 'ops', password: 'a long enough password', role: 'admin' })
    key = (
      await platform.access.createApiKey({
        name: 'test',
        owner: 'ops',
        scopes: ['devices:read', 'devices:write'],
      })
    ).key
    const created = await send('POST', '/api/device-types', {
      id: 'thermo',
      telemetry: [
        { metric: 'temp', valueType: 'number', unit: 'Cel', min: -40, max: 85 },
        { metric: 'count', valueType: 'integer' },
        { metric: 'mode', valueType: 'string' },
      ],
    })
    assert.equal(created.status, 201, JSON.stringify(created.json))
    assert.deepEqual(created.json.ingest, { strategy: 'buffer' })
    await platform.registry.createDevice({ id: 'th-1', typeId: 'thermo' })
    const { token } = await platform.identity.issueToken('th-1')
    device = await connect(`mqtt://127.0.0.1:${platform.port('MQTT')}`, {
      clientId: 'th-1',
      username: 'th-1',
      password: token,
      protocolVersion: 5,
    })
    errors = collect(device)
    await device.subscribeAsync('devices/th-1/errors', { qos: 0 })
  })
  after(async () => {
    await device.endAsync()
    await platform.close()
  })

  test('strings go to the event log, committed before the PUBACK, and count as stored', async () => {
    await device.publishAsync(
      'devices/th-1/telemetry',
      JSON.stringify([{ ts: T0, temp: 21.5, mode: 'heating', status: 'ok' }]),
      { qos: 1 },
    )
    // Acknowledged: the strings are committed. Another connection (the SQLite file, not the
    // store's own) sees them at once.
    const db = new Database(join(platform.dataDir, 'events.db'), { readonly: true })
    const rows = db.prepare('SELECT device, metric, ts, value FROM events ORDER BY metric').all()
    db.close()
    assert.deepEqual(rows, [
      { device: 'th-1', metric: 'mode', ts: T0, value: 'heating' },
      { device: 'th-1', metric: 'status', ts: T0, value: 'ok' },
    ])
    const c = platform.ledger.snapshot().byType.thermo
    assert.equal(c?.points.stored, 3)
    assert.equal(c?.points.rejected, 0)
    assert.equal(c?.messages.acknowledged, 1)
    // `status` is not in the profile: stored anyway, and flagged.
    await waitUntil(() => flagEvents().length === 1, 'the flag event')
    assert.deepEqual(
      { ...flagEvents()[0], message: undefined },
      {
        source: 'devices/th-1/telemetry',
        code: 'STRATA_TELEMETRY_FLAGGED',
        reason: 'unknown_metric',
        metric: 'status',
        message: undefined,
      },
    )
  })

  test('GET /api/devices/{id}/events pages, filters by metric and time, and says 404 and 400 clearly', async () => {
    const more = Array.from({ length: 5 }, (_, i) => ({ ts: T0 + 1000 * (i + 1), mode: `m${i}` }))
    await device.publishAsync('devices/th-1/telemetry', JSON.stringify(more), { qos: 1 })
    const all = await send('GET', '/api/devices/th-1/events?metric=mode&limit=4')
    assert.equal(all.status, 200)
    const items = all.json.items as Array<{ metric: string; ts: number; value: string }>
    assert.deepEqual(
      items.map((e) => e.value),
      ['heating', 'm0', 'm1', 'm2'],
    )
    const next = await send(
      'GET',
      `/api/devices/th-1/events?metric=mode&limit=4&cursor=${all.json.nextCursor}`,
    )
    assert.deepEqual(
      (next.json.items as Array<{ value: string }>).map((e) => e.value),
      ['m3', 'm4'],
    )
    assert.equal(next.json.nextCursor, null)
    const window = await send(
      'GET',
      `/api/devices/th-1/events?from=${T0 + 2000}&to=${new Date(T0 + 4000).toISOString()}`,
    )
    assert.deepEqual(
      (window.json.items as Array<{ value: string }>).map((e) => e.value),
      ['m1', 'm2'],
    )
    assert.equal((await send('GET', '/api/devices/nobody/events')).status, 404)
    const badCursor = await send('GET', '/api/devices/th-1/events?cursor=bm9wZQ')
    assert.equal(badCursor.status, 400)
    assert.equal(badCursor.json.field, 'cursor')
    const badFrom = await send('GET', '/api/devices/th-1/events?from=yesterday')
    assert.equal(badFrom.status, 400)
    assert.match(String(badFrom.json.message), /from must be/)
  })

  test('misfits are stored and flagged per reason; one event per (metric, reason) a minute, at most 10 a device', async () => {
    await device.publishAsync(
      'devices/th-1/telemetry',
      JSON.stringify([
        { ts: T0 + 10_000, temp: 120, count: 1.5, foo: 1 },
        { ts: T0 + 10_001, temp: 'hot' },
      ]),
      { qos: 1 },
    )
    await waitUntil(() => flagEvents().length === 5, 'four more flag events')
    assert.deepEqual(
      flagEvents()
        .slice(1)
        .map((e) => `${e.metric}:${e.reason}`)
        .sort(),
      ['count:wrong_type', 'foo:unknown_metric', 'temp:out_of_range', 'temp:wrong_type'],
    )
    // The same misfit again within the minute: counted, not told again.
    await device.publishAsync('devices/th-1/telemetry', JSON.stringify({ ts: T0 + 11_000, temp: -41 }), {
      qos: 1,
    })
    // Sixteen new unknown metrics: five more events reach the device's cap of 10 a minute.
    const sixteen = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`u${i}`, i]))
    await device.publishAsync('devices/th-1/telemetry', JSON.stringify({ ts: T0 + 12_000, ...sixteen }), {
      qos: 1,
    })
    await waitUntil(() => flagEvents().length === 10, 'the events up to the cap')
    const text = await metricsText()
    assert.match(text, /^strata_telemetry_flagged_total\{device_type="thermo",reason="unknown_metric"\} 18$/m)
    assert.match(text, /^strata_telemetry_flagged_total\{device_type="thermo",reason="out_of_range"\} 2$/m)
    assert.match(text, /^strata_telemetry_flagged_total\{device_type="thermo",reason="wrong_type"\} 2$/m)
    assert.match(text, /^strata_telemetry_flag_events_total\{outcome="published"\} 10$/m)
    assert.match(text, /^strata_telemetry_flag_events_total\{outcome="suppressed"\} 11$/m)
    assert.equal(flagEvents().length, 10)
    // Flagged, not dropped: the out-of-range value and the 'hot' string are both stored.
    const events = await platform.events.query({ deviceId: 'th-1', metric: 'temp', limit: 10 })
    assert.deepEqual(
      events.items.map((e) => e.value),
      ['hot'],
    )
  })

  test('GET /api/telemetry/ledger: per type, where the points went and what was flagged', async () => {
    const r = await send('GET', '/api/telemetry/ledger')
    assert.equal(r.status, 200)
    const thermo = (r.json.byType as Record<string, Record<string, unknown>>).thermo as {
      ledger: { messages: Record<string, number>; points: Record<string, number> }
      strategy: string
      queuedPoints: number
      flagged: { points: Record<string, number>; recent: Array<{ metric: string; reason: string }> }
    }
    assert.equal(thermo.strategy, 'buffer')
    assert.equal(thermo.queuedPoints, 0)
    assert.equal(thermo.ledger.messages.received, 5)
    assert.equal(thermo.ledger.points.decoded, thermo.ledger.points.stored)
    assert.deepEqual(thermo.flagged.points, { unknown_metric: 18, wrong_type: 2, out_of_range: 2 })
    assert.equal(thermo.flagged.recent.length, 20, 'bounded: the 20 most recent (metric, reason) pairs')
    assert.equal(thermo.flagged.recent[0]?.metric, 'u15')
    assert.equal(r.json.lagging, false)
    assert.ok(((r.json.total as { points: Record<string, number> }).points.stored ?? 0) >= 20)
  })

  test('a type updated through the API applies from the next message (the compiled profile is refreshed)', async () => {
    const patched = await send('PATCH', '/api/device-types/thermo', {
      telemetry: [
        { metric: 'temp', valueType: 'number', min: -40, max: 85 },
        { metric: 'foo', valueType: 'number', alarm: true },
      ],
      ingest: { strategy: 'sample', sampleEvery: 3 },
    })
    assert.equal(patched.status, 200, JSON.stringify(patched.json))
    assert.deepEqual(patched.json.ingest, { strategy: 'sample', sampleEvery: 3 })
    const before = /unknown_metric"\} (\d+)/.exec(await metricsText())?.[1]
    await device.publishAsync('devices/th-1/telemetry', JSON.stringify({ ts: T0 + 20_000, foo: 2 }), {
      qos: 1,
    })
    assert.equal(/unknown_metric"\} (\d+)/.exec(await metricsText())?.[1], before, 'foo is known now')
    const r = await send('GET', '/api/telemetry/ledger')
    assert.equal((r.json.byType as Record<string, { strategy: string }>).thermo?.strategy, 'sample')
  })

  test('bad ingest policies and alarm flags are clear 400s naming the field', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ strategy: 'drop' }, 'body.ingest.strategy', /buffer|sample|shed/],
      [{ strategy: 'buffer', sampleEvery: 5 }, 'ingest.sampleEvery', /only to the strategy 'sample'/],
      [{ strategy: 'sample', priority: 3 }, 'ingest.priority', /only to the strategy 'shed'/],
      [{ strategy: 'sample', sampleEvery: 1 }, 'body.ingest.sampleEvery', /2/],
      [{ strategy: 'shed', priority: 10 }, 'body.ingest.priority', /9/],
      [{ strategy: 'shed', maxQueuedPoints: 0 }, 'body.ingest.maxQueuedPoints', /1/],
      [{ strategy: 'shed', burst: 3 }, 'body.ingest.burst', /not a known field/],
      [{}, 'body.ingest.strategy', /required|strategy/],
    ]
    for (const [ingest, field, message] of cases) {
      const r = await send('POST', '/api/device-types', { id: 'bad', ingest })
      assert.equal(r.status, 400, JSON.stringify(ingest))
      assert.equal(r.json.field, field, JSON.stringify(r.json))
      assert.match(String(r.json.message), message, JSON.stringify(r.json))
    }
    const alarm = await send('PATCH', '/api/device-types/thermo', {
      telemetry: [{ metric: 'temp', valueType: 'number', alarm: 'yes' }],
    })
    assert.equal(alarm.status, 400)
    assert.match(String(alarm.json.field), /telemetry.*alarm/)
    assert.equal((await send('GET', '/api/device-types/bad')).status, 404, 'nothing was created')
  })

  test('strata type create|update set the ingest policy; a misplaced flag is a usage error before any request', async () => {
    const cli = (...args: string[]) => runStrata([...args, '--url', api, '--api-key', key])
    const created = await cli('type', 'create', 'cam', '--strategy', 'shed', '--priority', '2')
    assert.equal(created.code, 0, created.stderr)
    assert.match(created.stdout, /^ingest:\s+shed, priority 2$/m)
    const updated = await cli(
      'type',
      'update',
      'cam',
      '--strategy',
      'sample',
      '--sample-every',
      '4',
      '--json',
    )
    assert.equal(updated.code, 0, updated.stderr)
    assert.deepEqual((JSON.parse(updated.stdout) as { ingest: unknown }).ingest, {
      strategy: 'sample',
      sampleEvery: 4,
    })
    assertOneLineError(await cli('type', 'update', 'cam', '--priority', '3'), 2, /need --strategy/)
    assertOneLineError(
      await cli('type', 'update', 'cam', '--strategy', 'buffer', '--sample-every', '3'),
      2,
      /ingest.sampleEvery: applies only to the strategy 'sample'/,
    )
  })
})
