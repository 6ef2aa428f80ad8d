// Retention per device type (issue 4) on a real in-process platform: MQTT devices of a type that
// keeps raw points 1 day and of a type with no retention send points 3 days old; the engine's own
// retention check (its timer, on a test clock) exports the short type's raw day to Parquet and
// drops it from hot storage, and leaves the other type's alone. The raw query API still answers
// from the archive, and 1-minute aggregates from the rollups. A type given a retention later
// applies it to series created from then on.
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { MqttClient } from 'mqtt'
import { retentionClassName } from '../../src/ingest/retention.js'
import { assertSamePoints, pointsOf, query, type TelemetryTestPlatform } from '../api/telemetry-helpers.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { connect, sleep } from './lib.js'

const DAY = 86_400_000
const HOUR = 3_600_000
const REAL_NOW = Date.now()
/** 3 days ago, 10 minutes into a day: one raw day partition, two 1-minute buckets. */
const T0 = Math.floor(REAL_NOW / DAY) * DAY - 3 * DAY + 10 * 60_000
const N = 120
const STEP = 1_000
const DAY_NAME = new Date(T0).toISOString().slice(0, 10).replaceAll('-', '')

const points = (k: number): [number, number][] =>
  Array.from({ length: N }, (_, i) => [T0 + i * STEP, k * 100 + ((i * 7) % 11) / 4])
const payload = (k: number): string => JSON.stringify(points(k).map(([ts, temp]) => ({ ts, temp })))

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

describe('telemetry retention per device type', () => {
  // The engine's clock: first just after the points (nothing is old enough to drop), then now.
  let clock = T0 + 2 * HOUR
  let platform: TestPlatform
  let t: TelemetryTestPlatform
  const clients: MqttClient[] = []
  const shortClass = retentionClassName('short-lived')
  const keeperClass = retentionClassName('keeper')

  const device = async (id: string, typeId: string): Promise<MqttClient> => {
    await platform.registry.createDevice({ id, typeId })
    const { token } = await platform.identity.issueToken(id)
    const c = await connect(`mqtt://127.0.0.1:${platform.port('MQTT')}`, {
      clientId: id,
      username: id,
      password: token,
      protocolVersion: 5,
    })
    clients.push(c)
    return c
  }
  /** Raw day partitions in hot storage, as `class/YYYYMMDD` of T0's day. */
  const hotDays = async (): Promise<string[]> =>
    (await platform.engine.partitions())
      .filter((p) => p.tier === 'raw' && p.start <= T0 && T0 < p.end)
      .map((p) => p.retentionClass ?? 'default')
      .sort()
  const archived = async (): Promise<string[]> =>
    (await readdir(join(platform.dataDir, 'tsdb', 'archive')).catch(() => [])).filter((f) =>
      f.endsWith('.parquet'),
    )
  const raw = async (key: string): Promise<[number, number][]> => {
    const out: [number, number][] = []
    for await (const b of platform.engine.raw(key, 0, Number.MAX_SAFE_INTEGER))
      for (let i = 0; i < b.timestamps.length; i++)
        out.push([b.timestamps[i] as number, b.values[i] as number])
    return out
  }

  before(async () => {
    platform = await startTestPlatform({}, { engine: { now: () => clock, sealCheckMs: 20 } })
    await platform.access.createUser({ username: 'reader', password: 'reader-password-123', role: 'viewer' })
    const { key } = await platform.access.createApiKey({
      name: 'reader',
      owner: 'reader',
      scopes: ['telemetry:read', 'devices:read'],
    })
    t = {
      platform,
      base: `http://127.0.0.1:${platform.port('HTTP')}`,
      reader: key,
      device: () => Promise.reject(new Error('unused')),
      close: () => platform.close(),
    }
    await platform.registry.createDeviceType({ id: 'short-lived', retention: { rawDays: 1 } })
    await platform.registry.createDeviceType({ id: 'keeper' })
  })
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync()))
    await platform.close()
  })

  test('a type with a 1-day raw retention: its old raw day is archived and dropped, the other type kept', async () => {
    const short = await device('d-short', 'short-lived')
    const keep = await device('d-keep', 'keeper')
    // QoS 1: the PUBACK comes once the points are durable.
    await short.publishAsync('devices/d-short/telemetry', payload(1), { qos: 1 })
    await keep.publishAsync('devices/d-keep/telemetry', payload(2), { qos: 1 })
    await platform.engine.flush()
    assert.deepEqual(await hotDays(), ['default', shortClass].sort())
    await sleep(100)
    assert.deepEqual(await archived(), [], 'nothing is old enough yet')

    clock = REAL_NOW
    await until(async () => !(await hotDays()).includes(shortClass), "the short type's day dropped")
    assert.deepEqual(await hotDays(), ['default'], "the keeper's day is still hot")
    assert.deepEqual(await archived(), [`raw-${shortClass}-${DAY_NAME}.parquet`])
    assert.equal(platform.engine.stats.archived.points, N)

    // Raw points: the engine and the query API read the archive below the horizon.
    assertSamePoints(await raw('d-short/temp'), points(1), 'engine raw from the archive')
    assertSamePoints(await raw('d-keep/temp'), points(2), 'keeper untouched')
    const api = await query(t, `/api/devices/d-short/telemetry/temp?from=${T0}&to=${T0 + DAY}&limit=1000`)
    assertSamePoints(pointsOf(api.ndjson.data), points(1), 'API raw from the archive')

    // 1-minute averages still answer (from the rollups, which this type keeps).
    const minutes = await query(
      t,
      `/api/devices/d-short/telemetry/temp?from=${T0}&to=${T0 + 2 * 60_000}&bucket=1m&fn=avg`,
    )
    const expected = [0, 1].map((m): [number, number] => {
      const vs = points(1)
        .slice(m * 60, m * 60 + 60)
        .map(([, v]) => v)
      return [T0 + m * 60_000, vs.reduce((a, b) => a + b, 0) / vs.length]
    })
    assertSamePoints(pointsOf(minutes.ndjson.data), expected, '1-minute averages')
    // A late point for the dropped day is refused (counted expired), never silently re-stored.
    const expired = platform.engine.stats.expiredPoints
    await short.publishAsync('devices/d-short/telemetry', JSON.stringify([{ ts: T0 + 5, temp: 9 }]), {
      qos: 1,
    })
    assert.equal(platform.engine.stats.expiredPoints, expired + 1)
  })

  test('a retention added to a type later applies to series created from then on; existing ones keep theirs', async () => {
    clock = T0 + 2 * HOUR
    await platform.registry.updateDeviceType('keeper', { retention: { rawDays: 1 } }, 1)
    const newer = await device('d-keep-2', 'keeper')
    await newer.publishAsync('devices/d-keep-2/telemetry', payload(3), { qos: 1 })
    const old = clients[1] as MqttClient
    await old.publishAsync('devices/d-keep/telemetry', JSON.stringify([{ ts: T0 + N * STEP, temp: 5 }]), {
      qos: 1,
    })
    await platform.engine.flush()
    assert.deepEqual(await hotDays(), ['default', keeperClass].sort())

    clock = REAL_NOW
    await until(async () => !(await hotDays()).includes(keeperClass), "the keeper class's day dropped")
    assert.deepEqual(await hotDays(), ['default'])
    assert.deepEqual(
      (await archived()).sort(),
      [`raw-${keeperClass}-${DAY_NAME}.parquet`, `raw-${shortClass}-${DAY_NAME}.parquet`].sort(),
    )
    assertSamePoints(await raw('d-keep-2/temp'), points(3), 'the new series, from the archive')
    assertSamePoints(await raw('d-keep/temp'), [...points(2), [T0 + N * STEP, 5]], 'the old series, hot')
  })
})
