// HTTP ingest (POST /api/devices/{id}/telemetry) on a real platform, with fetch: the four formats
// stored and read back bit-exact through the query API, and every refusal (400, 401, 403, 413,
// 415) in the API's error shape. Busy (429) and a failed durable write (503) use a stub pipeline.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { encodeBatch } from '@strata/protocol'
import { encode as encodeCbor } from 'cbor-x'
import { pino } from 'pino'
import { createApiServer } from '../../src/api/server.js'
import { DeviceTokenAuth } from '../../src/auth/device-token.js'
import type { IdentityBackend } from '../../src/identity/sqlite-identity.js'
import type { SubmitResult, TelemetryPipeline } from '../../src/ingest/pipeline.js'
import { connect } from '../integration/lib.js'
import { createFixture, type Fixture } from './fixture.js'
import {
  assertSamePoints,
  ingest,
  pointsOf,
  query,
  startTelemetryPlatform,
  type TelemetryTestPlatform,
} from './telemetry-helpers.js'

const T0 = Math.floor((Date.now() - 10 * 60_000) / 1000) * 1000

describe('HTTP ingest', () => {
  let t: TelemetryTestPlatform
  let token: string

  before(async () => {
    t = await startTelemetryPlatform()
    await t.platform.registry.createDeviceType({ id: 'meter' })
    token = await t.device('h-1', { typeId: 'meter' })
  })
  after(() => t.close())

  test('all four formats are stored, acknowledged once durable, and read back bit-exact', async () => {
    const expected: [number, number][] = []
    const send = async (contentType: string, body: string | Uint8Array, points: number): Promise<void> => {
      const res = await ingest(t, 'h-1', token, contentType, body)
      assert.equal(res.status, 200, await res.clone().text())
      assert.deepEqual(await res.json(), { points })
    }
    await send(
      'application/json',
      `[{"ts": ${T0}, "temp": 21.5, "hum": 40}, {"ts": ${T0 + 1000}, "temp": 0.30000000000000004}]`,
      3,
    )
    expected.push([T0, 21.5], [T0 + 1000, 0.1 + 0.2])
    await send(
      'application/senml+json; charset=utf-8',
      JSON.stringify([{ n: 'temp', t: (T0 + 2000) / 1000, v: -1.25e-7 }]),
      1,
    )
    expected.push([T0 + 2000, -1.25e-7])
    await send('application/senml+cbor', encodeCbor([{ n: 'temp', t: (T0 + 3000) / 1000, v: 1e300 }]), 1)
    expected.push([T0 + 3000, 1e300])
    const odd = [-0, Number.NaN, Number.POSITIVE_INFINITY, 123456789.12345679, Number.MIN_VALUE]
    await send(
      'application/vnd.strata.batch',
      encodeBatch(odd.map((value, i) => ({ metric: 'temp', ts: T0 + 4000 + i * 1000, value }))),
      odd.length,
    )
    odd.forEach((v, i) => {
      expected.push([T0 + 4000 + i * 1000, v])
    })

    // The 200 came after the durable write: the points are there now, exactly.
    const { ndjson, contentType } = await query(
      t,
      `/api/devices/h-1/telemetry/temp?from=${T0}&to=${T0 + 60_000}`,
    )
    assert.match(contentType ?? '', /^application\/x-ndjson/)
    assert.deepEqual(ndjson.header, { from: T0, to: T0 + 60_000, limit: 10_000 })
    assertSamePoints(pointsOf(ndjson.data), expected, 'temp')
    assert.deepEqual(ndjson.end, { done: true, points: expected.length, next: null })
    // Default range: the last hour.
    const lastHour = await query(t, '/api/devices/h-1/telemetry/hum')
    assertSamePoints(pointsOf(lastHour.ndjson.data), [[T0, 40]], 'hum')

    const ledger = t.platform.ledger.snapshot().byType.meter
    assert.equal(ledger?.messages.received, 4)
    assert.equal(ledger?.messages.acknowledged, 4)
    assert.equal(ledger?.points.stored, 3 + 1 + 1 + odd.length)
  })

  test('a bad payload is 400 with its STRATA_TELEMETRY_* code, counted and stores nothing', async () => {
    const before = t.platform.ledger.snapshot().byType.meter?.messages.rejected ?? 0
    const cases: [string, string | Uint8Array][] = [
      ['application/json', '{"temp": '],
      ['application/json', '{"ts": "yesterday", "temp": 1}'],
      ['application/senml+json', '[{"n": "temp", "v": "warm"}]'],
      ['application/senml+cbor', new Uint8Array([0xff, 0x00, 0x13])],
      // A valid batch cut short.
      ['application/vnd.strata.batch', encodeBatch([{ metric: 'temp', ts: T0, value: 1.5 }]).subarray(0, 6)],
      ['application/json', ''],
    ]
    for (const [type, body] of cases) {
      const res = await ingest(t, 'h-1', token, type, body)
      const json = (await res.json()) as Record<string, unknown>
      assert.equal(res.status, 400, `${type}: ${JSON.stringify(json)}`)
      assert.equal(json.statusCode, 400)
      assert.equal(json.code, 'STRATA_TELEMETRY_INVALID', `${type}: ${json.message}`)
      assert.equal(json.field, 'body')
    }
    assert.equal(t.platform.ledger.snapshot().byType.meter?.messages.rejected, before + cases.length)
  })

  test('more than 10,000 points is 413 STRATA_TELEMETRY_TOO_LARGE', async () => {
    const many = JSON.stringify(Array.from({ length: 10_001 }, (_, i) => ({ ts: T0 + i, x: i })))
    const res = await ingest(t, 'h-1', token, 'application/json', many)
    assert.equal(res.status, 413)
    assert.equal(((await res.json()) as { code: string }).code, 'STRATA_TELEMETRY_TOO_LARGE')
  })

  test('a body over 1 MiB is 413 STRATA_TELEMETRY_TOO_LARGE, whatever its format', async () => {
    for (const type of ['application/json', 'application/vnd.strata.batch', 'application/senml+cbor']) {
      const res = await ingest(t, 'h-1', token, type, new Uint8Array(1024 * 1024 + 1).fill(0x20))
      assert.equal(res.status, 413, type)
      const json = (await res.json()) as Record<string, unknown>
      assert.equal(json.code, 'STRATA_TELEMETRY_TOO_LARGE')
      assert.equal(json.statusCode, 413)
    }
    // Exactly 1 MiB is read (and refused as a payload, not as a size).
    const res = await ingest(t, 'h-1', token, 'application/json', new Uint8Array(1024 * 1024).fill(0x20))
    assert.equal(res.status, 400)
  })

  test('another content type, or none, is 415 STRATA_TELEMETRY_UNSUPPORTED', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/cbor', undefined]) {
      const res = await ingest(t, 'h-1', token, type, new TextEncoder().encode('{"temp": 1}'))
      assert.equal(res.status, 415, String(type))
      const json = (await res.json()) as Record<string, unknown>
      assert.equal(json.code, 'STRATA_TELEMETRY_UNSUPPORTED')
      assert.equal(json.field, 'headers.content-type')
    }
  })

  test('no token, an unknown, wrong, revoked or other device token: the same 401', async () => {
    const other = await t.device('h-2')
    const { token: revoked, credential } = await t.platform.identity.issueToken('h-1')
    await t.platform.identity.revokeCredential(credential.id)
    const forged = `${token.slice(0, 21)}${'A'.repeat(43)}`
    const unknown = `sdt_${'0'.repeat(16)}_${'B'.repeat(43)}`
    const apiKey = t.reader
    const bodies = new Set<string>()
    for (const [label, bearer, id] of [
      ['unknown', unknown, 'h-1'],
      ['wrong secret', forged, 'h-1'],
      ['revoked', revoked, 'h-1'],
      ["another device's", other, 'h-1'],
      ['an API key', apiKey, 'h-1'],
      ['unregistered device', token, 'nobody'],
    ] as const) {
      const res = await ingest(t, id, bearer, 'application/json', '{"temp": 1}')
      assert.equal(res.status, 401, label)
      assert.equal(res.headers.get('www-authenticate'), 'Bearer')
      bodies.add(await res.text())
    }
    assert.equal(bodies.size, 1, 'every refusal reads alike')
    const none = await ingest(t, 'h-1', undefined, 'application/json', '{"temp": 1}')
    assert.equal(none.status, 401)
    assert.equal(((await none.json()) as { code: string }).code, 'STRATA_API_UNAUTHENTICATED')
  })

  test('a disabled device is 403 (with its right token only)', async () => {
    const tok = await t.device('h-off')
    await t.platform.registry.updateDevice('h-off', { enabled: false }, 1)
    const res = await ingest(t, 'h-off', tok, 'application/json', '{"temp": 1}')
    assert.equal(res.status, 403)
    assert.equal(((await res.json()) as { code: string }).code, 'STRATA_API_FORBIDDEN')
    const wrong = await ingest(t, 'h-off', `${tok.slice(0, 21)}${'C'.repeat(43)}`, 'application/json', '{}')
    assert.equal(wrong.status, 401)
  })

  test('10 wrong tokens for a device lock it out on HTTP and MQTT alike (one failure window)', async () => {
    const tok = await t.device('h-lock')
    for (let i = 0; i < 10; i++) {
      const res = await ingest(
        t,
        'h-lock',
        `${tok.slice(0, 21)}${String(i).repeat(43)}`,
        'application/json',
        '{}',
      )
      assert.equal(res.status, 401)
    }
    // The right token, never verified before, is refused unchecked now...
    const locked = await ingest(t, 'h-lock', tok, 'application/json', '{"temp": 1}')
    assert.equal(locked.status, 401)
    // ...over MQTT too.
    await assert.rejects(
      connect(`mqtt://127.0.0.1:${t.platform.port('MQTT')}`, {
        clientId: 'h-lock',
        username: 'h-lock',
        password: tok,
        protocolVersion: 5,
        reconnectPeriod: 0,
      }),
      (err: Error & { code?: number }) => err.code === 0x86,
    )
  })

  test('a token verified over MQTT is cached for HTTP, and the reverse', async () => {
    const tok = await t.device('h-both')
    const res = await ingest(t, 'h-both', tok, 'application/json', `{"ts": ${T0}, "v": 1}`)
    assert.equal(res.status, 200)
    const client = await connect(`mqtt://127.0.0.1:${t.platform.port('MQTT')}`, {
      clientId: 'h-both',
      username: 'h-both',
      password: tok,
      protocolVersion: 5,
    })
    await client.endAsync()
  })
})

describe('HTTP ingest: storage behind, storage failing', () => {
  let f: Fixture
  let app: Awaited<ReturnType<typeof createApiServer>>
  let token: string
  let next: () => SubmitResult

  before(async () => {
    f = await createFixture({ users: false })
    await f.registry.createDevice({ id: 's-1' })
    token = (await f.identity.issueToken('s-1')).token
    // Only submit() and refuse() are used by the route: a stub answers what the test needs.
    const stub = { submit: () => next(), refuse: () => undefined } as unknown as TelemetryPipeline
    app = await createApiServer({
      registry: f.registry,
      identity: f.identity,
      access: f.access,
      audit: f.audit,
      metrics: f.metrics,
      health: { ready: () => true, version: 'test' },
      logger: pino({ level: 'silent' }),
      telemetry: stub,
      deviceTokens: new DeviceTokenAuth(f.identity as IdentityBackend),
    })
  })
  after(async () => {
    await app.close()
    await f.close()
  })

  const post = () =>
    app.inject({
      method: 'POST',
      url: '/api/devices/s-1/telemetry',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{"temp": 1}',
    })

  test('busy is 429 STRATA_API_BUSY with Retry-After in whole seconds, rounded up', async () => {
    next = () => ({ kind: 'busy', retryAfterMs: 1500, reason: 'queue full' }) as SubmitResult
    const res = await post()
    assert.equal(res.statusCode, 429)
    assert.equal(res.headers['retry-after'], '2')
    assert.equal(res.json().code, 'STRATA_API_BUSY')
  })

  test('a failed durable write is 503 STRATA_API_UNAVAILABLE, never a 200', async () => {
    const durable = Promise.reject(new Error('disk full'))
    durable.catch(() => {})
    next = () => ({ kind: 'accepted', points: 1, durable }) as unknown as SubmitResult
    const res = await post()
    assert.equal(res.statusCode, 503)
    assert.deepEqual(Object.keys(res.json()).sort(), ['code', 'message', 'statusCode'])
    assert.equal(res.json().code, 'STRATA_API_UNAVAILABLE')
  })

  test('the 200 waits for durable', async () => {
    let resolve = (): void => {}
    const durable = new Promise<void>((r) => {
      resolve = r
    })
    next = () => ({ kind: 'accepted', points: 1, durable }) as unknown as SubmitResult
    let answered = false
    const pending = post().then((r) => {
      answered = true
      return r
    })
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(answered, false)
    resolve()
    assert.equal((await pending).statusCode, 200)
  })
})
