// Back-pressure (issue 4): buffer, sample and shed, per device type, with mqtt.js v5 (and one
// 3.1.1) devices against a real in-process platform.
//
// What is real: the broker, the MQTT clients, the pipeline, the ledger, the event log, the API,
// and the time-series engine, which stores every point it is given. What is staged: the moment
// a write is reported durable. The platform's test hook wraps the engine's write() so that the
// writes of the devices in `slow` stay "not durable yet" until the test opens the gate: a disk
// that has stalled, on demand, for chosen devices. Their points are in the engine all along.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { TimeSeriesEngine } from '@strata/tsdb'
import type { MqttClient } from 'mqtt'
import type { LedgerSnapshot } from '../../src/ingest/ledger.js'
import type { NumericStore } from '../../src/ingest/pipeline.js'
import type { RunningPlatform } from '../../src/platform.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { connect, sleep, waitUntil } from './lib.js'

const HIGH = 100

/** Holds the durability of the writes of chosen devices until opened. */
class StalledDisk {
  readonly slow = new Set<string>()
  #open = false
  #waiters: Array<() => void> = []

  wrap(engine: TimeSeriesEngine): NumericStore {
    return {
      write: (points) => {
        const written = engine.write(points)
        const device = points[0]?.series.split('/')[0] ?? ''
        if (this.#open || !this.slow.has(device)) return written
        return Promise.all([written, new Promise<void>((r) => this.#waiters.push(r))]).then(() => undefined)
      },
    }
  }

  open(): void {
    this.#open = true
    for (const w of this.#waiters.splice(0)) w()
  }
}

/** Tracks whether a promise has settled, and how. */
function track<T>(p: Promise<T>): {
  settled: boolean
  error?: Error & { code?: number }
  done: Promise<void>
} {
  const t: { settled: boolean; error?: Error & { code?: number }; done: Promise<void> } = {
    settled: false,
    done: Promise.resolve(),
  }
  t.done = p.then(
    () => {
      t.settled = true
    },
    (err: Error & { code?: number }) => {
      t.settled = true
      t.error = err
    },
  )
  return t
}

/** `n` points of `metric` (distinct timestamps), plus `extra` fields on the first record. */
function series(metric: string, n: number, t0: number, extra: Record<string, number | boolean> = {}): string {
  return JSON.stringify(
    Array.from({ length: n }, (_, i) => ({ ts: t0 + i, [metric]: i, ...(i === 0 ? extra : {}) })),
  )
}

/** received = rejected + decoded; decoded = sampled + shed + queued; queued = stored + failed + still queued. */
function assertInvariants(snap: LedgerSnapshot, queuedByType: Record<string, number>): void {
  for (const [type, c] of Object.entries(snap.byType)) {
    for (const unit of ['messages', 'points'] as const) {
      const s = c[unit]
      if (unit === 'messages') assert.equal(s.received, s.rejected + s.decoded, `${type}: received`)
      assert.equal(s.decoded, s.sampled + s.shed + s.queued, `${type} ${unit}: decoded`)
      const still = unit === 'points' ? (queuedByType[type] ?? 0) : s.queued - s.stored - s.failed
      assert.equal(s.queued, s.stored + s.failed + still, `${type} ${unit}: queued`)
      assert.ok(still >= 0, `${type} ${unit}: still queued`)
    }
  }
}

async function rawCount(engine: TimeSeriesEngine, key: string): Promise<number> {
  let n = 0
  for await (const batch of engine.raw(key, 0, Number.MAX_SAFE_INTEGER)) n += batch.timestamps.length
  return n
}

describe('telemetry back-pressure', () => {
  const disk = new StalledDisk()
  let platform: TestPlatform
  let url: string
  const clients: MqttClient[] = []

  const device = async (id: string, typeId: string, protocolVersion: 4 | 5 = 5): Promise<MqttClient> => {
    await platform.registry.createDevice({ id, typeId })
    const { token } = await platform.identity.issueToken(id)
    const c = await connect(url, { clientId: id, username: id, password: token, protocolVersion })
    clients.push(c)
    return c
  }
  const received = (type: string): number => platform.ledger.snapshot().byType[type]?.messages.received ?? 0
  const invariants = (): void =>
    assertInvariants(platform.ledger.snapshot(), platform.telemetry.state().queuedByType)

  before(async () => {
    platform = await startTestPlatform(
      // Lag from the queue alone (no latency rule), so each step below is deterministic.
      { 'telemetry.highWaterPoints': String(HIGH), 'telemetry.lagLatencyMs': '0' },
      { numericStore: (engine) => disk.wrap(engine) },
    )
    url = `mqtt://127.0.0.1:${platform.port('MQTT')}`
    const types = [
      { id: 'filler', ingest: { strategy: 'buffer', maxQueuedPoints: 1000 } },
      { id: 'meter', ingest: { strategy: 'buffer', maxQueuedPoints: 30 } },
      {
        id: 'sampler',
        telemetry: [
          { metric: 'temp', valueType: 'number' },
          { metric: 'fault', valueType: 'integer', alarm: true },
        ],
        ingest: { strategy: 'sample', sampleEvery: 5 },
      },
      {
        id: 'cam-low',
        telemetry: [
          { metric: 'frame', valueType: 'integer' },
          { metric: 'tamper', valueType: 'boolean', alarm: true },
        ],
        ingest: { strategy: 'shed', priority: 1 },
      },
      { id: 'cam-high', ingest: { strategy: 'shed', priority: 8 } },
    ] as const
    for (const t of types) await platform.registry.createDeviceType(structuredClone(t) as never)
  })
  after(async () => {
    disk.open()
    await Promise.all(clients.map((c) => c.endAsync()))
    await platform.close()
  })

  /** Acknowledgements held while storage lags, released at the end. */
  const held: Array<ReturnType<typeof track>> = []
  let refusedInOrder: ReturnType<typeof track> | undefined

  test('over the high-water mark storage lags; a buffer type is stored but its PUBACK waits for the lag to end', async () => {
    const filler = await device('slow-1', 'filler')
    disk.slow.add('slow-1')
    // QoS 0, 3 × 50 points that never become durable (the stalled disk): 150 queued > 100.
    for (let i = 0; i < 3; i++)
      await filler.publishAsync('devices/slow-1/telemetry', series('x', 50, 1e12 + i * 100), { qos: 0 })
    await waitUntil(() => received('filler') === 3, 'the filler messages')
    assert.equal(platform.telemetry.state().lagging, true)
    assert.equal(platform.telemetry.state().queuedPoints, 150)

    const meter = await device('m-1', 'meter')
    const ack = track(meter.publishAsync('devices/m-1/telemetry', series('kwh', 10, 1e12), { qos: 1 }))
    await waitUntil(
      () => platform.ledger.snapshot().byType.meter?.points.stored === 10,
      'the meter points stored',
    )
    await sleep(200)
    assert.equal(ack.settled, false, 'stored, but the PUBACK waits while storage lags')
    assert.equal(platform.telemetry.state().heldMessages, 1)
    assert.equal(await rawCount(platform.engine, 'm-1/kwh'), 10)
    held.push(ack)
    invariants()
  })

  test('while lagging, HTTP ingest of a buffer type gets 429 with Retry-After instead of a held response', async () => {
    await platform.registry.createDeviceType({
      id: 'http-meter',
      name: 'HTTP meter',
      ingest: { strategy: 'buffer' },
    })
    await platform.registry.createDevice({ id: 'm-http', typeId: 'http-meter' })
    const { token } = await platform.identity.issueToken('m-http')
    const res = await fetch(`http://127.0.0.1:${platform.port('HTTP')}/api/devices/m-http/telemetry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: series('kwh', 3, 1e12),
    })
    assert.equal(res.status, 429)
    assert.ok(Number(res.headers.get('retry-after')) >= 1)
    assert.equal(((await res.json()) as { code: string }).code, 'STRATA_API_BUSY')
    assert.equal(platform.ledger.snapshot().byType['http-meter']?.messages.shed, 1)
    assert.equal(await rawCount(platform.engine, 'm-http/kwh'), 0, 'nothing taken: the sender keeps it')
    invariants()
  })

  test('a sample type keeps every 5th point per series while lagging, and every alarm point', async () => {
    const s = await device('s-1', 'sampler')
    // 20 temp points and 3 fault (alarm) points in one message.
    const payload = JSON.stringify(
      Array.from({ length: 20 }, (_, i) => ({
        ts: 1e12 + i,
        temp: 20 + i / 10,
        ...(i < 3 ? { fault: i } : {}),
      })),
    )
    await s.publishAsync('devices/s-1/telemetry', payload, { qos: 1 })
    // Acknowledged (not held: sampling is this type's relief) once the kept points are durable.
    assert.equal(await rawCount(platform.engine, 's-1/temp'), 4)
    assert.equal(await rawCount(platform.engine, 's-1/fault'), 3)
    const c = platform.ledger.snapshot().byType.sampler
    assert.equal(c?.points.sampled, 16)
    assert.equal(c?.points.stored, 7)
    assert.equal(c?.messages.stored, 1)
    assert.equal(c?.messages.acknowledged, 1)
    invariants()
  })

  test('shed types: the lowest priority goes first, and never an alarm', async () => {
    const low = await device('c-low', 'cam-low')
    const high = await device('c-high', 'cam-high')
    // 150 queued of a mark of 100: priority 1 (shed from 110) goes, priority 8 (from 180) stays.
    await assert.rejects(
      low.publishAsync('devices/c-low/telemetry', series('frame', 10, 1e12), { qos: 1 }),
      (err: Error & { code?: number }) => err.code === 0x97,
    )
    await low.publishAsync('devices/c-low/telemetry', series('frame', 10, 2e12), { qos: 0 })
    // A message with an alarm point is taken: the alarm stored, its other points shed.
    await low.publishAsync('devices/c-low/telemetry', series('frame', 10, 3e12, { tamper: true }), { qos: 1 })
    assert.equal(await rawCount(platform.engine, 'c-low/tamper'), 1)
    assert.equal(await rawCount(platform.engine, 'c-low/frame'), 0)
    await high.publishAsync('devices/c-high/telemetry', series('frame', 10, 1e12), { qos: 1 })
    assert.equal(await rawCount(platform.engine, 'c-high/frame'), 10)
    const lowCounts = platform.ledger.snapshot().byType['cam-low']
    assert.equal(lowCounts?.messages.shed, 2)
    assert.equal(lowCounts?.points.shed, 30)
    assert.equal(lowCounts?.points.stored, 1)
    assert.ok(low.connected)
    invariants()
  })

  test('a buffer type whose own queue is full: QoS 1 refused with 0x97, QoS 0 shed, both counted', async () => {
    const meter = await device('m-2', 'meter')
    disk.slow.add('m-2')
    held.push(track(meter.publishAsync('devices/m-2/telemetry', series('kwh', 20, 1e12), { qos: 1 })))
    held.push(track(meter.publishAsync('devices/m-2/telemetry', series('kwh', 20, 2e12), { qos: 1 })))
    await waitUntil(() => received('meter') === 3, 'two more meter messages')
    // 40 of the meter's points are queued now, over its maxQueuedPoints of 30: refused. The
    // PUBACK 0x97 leaves in order [MQTT-4.6.0-2], behind this device's two held PUBACKs.
    assert.equal(platform.telemetry.state().queuedByType.meter, 40)
    refusedInOrder = track(meter.publishAsync('devices/m-2/telemetry', series('kwh', 5, 3e12), { qos: 1 }))
    await meter.publishAsync('devices/m-2/telemetry', series('kwh', 7, 4e12), { qos: 0 })
    await waitUntil(() => received('meter') === 5, 'the refused and the QoS 0 message')
    const m = platform.ledger.snapshot().byType.meter
    assert.equal(m?.messages.shed, 2)
    assert.equal(m?.points.shed, 12)
    assert.ok(meter.connected, 'a refusal keeps the connection')
    assert.ok(held.every((h) => !h.settled))
    invariants()
  })

  test('a higher shed priority goes too once the queue reaches its mark', async () => {
    // 190 queued now: past priority 8's mark (180).
    assert.equal(platform.telemetry.state().queuedPoints, 190)
    const high = clients.find((c) => c.options.clientId === 'c-high') as MqttClient
    await assert.rejects(
      high.publishAsync('devices/c-high/telemetry', series('frame', 10, 2e12), { qos: 1 }),
      (err: Error & { code?: number }) => err.code === 0x97,
    )
    assert.equal(platform.ledger.snapshot().byType['cam-high']?.points.shed, 10)
    invariants()
  })

  test('MQTT 3.1.1 cannot be refused: its message is taken and its PUBACK held instead', async () => {
    const old = await device('m-3', 'meter', 4)
    disk.slow.add('m-3')
    const ack = track(old.publishAsync('devices/m-3/telemetry', series('kwh', 5, 1e12), { qos: 1 }))
    await waitUntil(() => received('meter') === 6, 'the 3.1.1 message')
    await sleep(100)
    assert.equal(ack.settled, false)
    assert.equal(platform.ledger.snapshot().byType.meter?.messages.shed, 2, 'not shed')
    held.push(ack)
    invariants()
  })

  test('/metrics shows the queues and the lag; once storage catches up every held PUBACK comes, and the refusal behind them', async () => {
    const metrics = await (await fetch(`${apiUrl(platform)}/metrics`)).text()
    assert.match(metrics, /^strata_telemetry_lagging 1$/m)
    assert.match(metrics, /^strata_telemetry_queued_points\{device_type="filler"\} 150$/m)
    assert.match(metrics, /^strata_telemetry_queued_points\{device_type="meter"\} 45$/m)
    assert.match(metrics, /^strata_telemetry_held_acks 4$/m)
    assert.match(metrics, /^strata_telemetry_points_total\{device_type="sampler",stage="sampled"\} 16$/m)

    disk.open()
    await Promise.all(held.map((h) => h.done))
    assert.ok(
      held.every((h) => h.settled && h.error === undefined),
      'every held PUBACK is a success',
    )
    await refusedInOrder?.done
    assert.equal(refusedInOrder?.error?.code, 0x97, 'the refusal came after them, in order')
    const state = platform.telemetry.state()
    assert.equal(state.lagging, false)
    assert.equal(state.queuedPoints, 0)
    assert.equal(state.heldMessages, 0)
    invariants()
    const meter = platform.ledger.snapshot().byType.meter
    // m-1's 10, m-2's 40, m-3's 5: stored and acknowledged; the refused 5 and the QoS 0 7 shed.
    assert.equal(meter?.points.stored, 55)
    assert.equal(meter?.messages.acknowledged, 4)
    assert.equal(await rawCount(platform.engine, 'm-2/kwh'), 40)
  })
})

function apiUrl(platform: RunningPlatform): string {
  const http = platform.listeners.find((l) => l.name.startsWith('HTTP'))
  return `http://127.0.0.1:${http?.port}`
}
