// Telemetry through broken connections, against the real platform: the broker cutting the
// device off mid-stream, and the whole platform stopping and starting again on the same
// data dir and port. The guarantee under test is at-least-once: every point queued
// arrives, duplicates are possible (a batch whose PUBACK was lost is sent again) and are
// counted, not assumed away. Also the offline buffer's bound and its drop counter end to end.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startTestPlatform } from '../../platform/test/helpers/platform.js'
import { BufferFullError, connectDevice, createDevice, type StrataDevice } from '../src/index.js'
import { FAST_RECONNECT, record, sleep, waitUntil } from './helpers.js'

/** Queues `perTick` numbered points every `everyMs` until stopped; returns how many. */
function produce(d: StrataDevice, perTick: number, everyMs: number): { stop(): number } {
  let n = 0
  const timer = setInterval(() => {
    d.telemetry(
      Array.from({ length: perTick }, () => ({ metric: 'seq', value: n, ts: 1_700_000_000_000 + n++ })),
    )
  }, everyMs)
  return {
    stop() {
      clearInterval(timer)
      return n
    },
  }
}

/** How many times each value 0..count-1 arrived. */
function tally(values: number[], count: number): { missing: number[]; duplicates: number } {
  const seen = new Map<number, number>()
  for (const v of values) seen.set(v, (seen.get(v) ?? 0) + 1)
  const missing = [...Array(count).keys()].filter((v) => !seen.has(v))
  let duplicates = 0
  for (const c of seen.values()) duplicates += c - 1
  return { missing, duplicates }
}

describe('telemetry through disconnects', { timeout: 60_000 }, () => {
  test('the broker cuts the device off three times mid-stream: every point arrives at least once', async (t) => {
    const platform = await startTestPlatform({ allowAnonymous: 'true' })
    t.after(() => platform.close())
    const url = `mqtt://127.0.0.1:${platform.port('MQTT')}`
    const recorder = await record(url, 'devices/+/telemetry/#')
    t.after(() => recorder.close())
    await platform.registry.createDevice({ id: 'kill-1' })
    const { token } = await platform.identity.issueToken('kill-1')
    const d = await connectDevice({
      url,
      deviceId: 'kill-1',
      auth: { token },
      reconnect: FAST_RECONNECT,
      telemetry: { batchPoints: 20, maxDelayMs: 20, maxInflightBatches: 8 },
    })
    t.after(() => d.close())
    const disconnects: number[] = []
    d.on('disconnect', (info) => disconnects.push(info.reasonCode ?? -1))

    const producer = produce(d, 5, 3)
    for (let i = 0; i < 3; i++) {
      await sleep(300)
      // Cut while batches are in flight (sent, no PUBACK yet): they must be sent again.
      await waitUntil(
        () => d.stats().connected && d.stats().inflightBatches > 0,
        'a batch in flight',
        5_000,
        0,
      )
      assert.equal(
        platform.broker.disconnectWhere((c) => c.clientId === 'kill-1', 0x98, 'test: cut'),
        1,
      )
    }
    await sleep(300)
    const count = producer.stop()
    await d.flush(AbortSignal.timeout(10_000))
    await waitUntil(
      () =>
        tally(
          recorder.points('kill-1').map((p) => p.value as number),
          count,
        ).missing.length === 0,
      'every point at the subscriber',
    )
    const { missing, duplicates } = tally(
      recorder.points('kill-1').map((p) => p.value as number),
      count,
    )
    assert.deepEqual(missing, [])
    const stats = d.stats()
    t.diagnostic(
      `${count} points, ${duplicates} duplicates, ${stats.sentBatches} batches acknowledged, ${stats.resentBatches} resent`,
    )
    assert.deepEqual(disconnects, [0x98, 0x98, 0x98])
    assert.equal(stats.reconnects, 3)
    // A duplicate is a batch that reached the broker but whose PUBACK was lost with the
    // connection: resent, and counted as sent once, at the PUBACK of the copy.
    assert.equal(stats.sentPoints, count)
    assert.ok(stats.resentBatches >= 1, 'batches in flight at a cut were sent again')
    assert.ok(duplicates <= stats.resentBatches * 20, 'every duplicate comes from a resent batch')
    assert.equal(stats.queuedPoints, 0)
    assert.equal(stats.droppedPoints, 0)
  })

  test('the platform stops and starts again on the same port: buffered points arrive; a full buffer drops the oldest and counts them', async (t) => {
    const first = await startTestPlatform({ allowAnonymous: 'true' })
    t.after(() => first.stop()) // safe twice; the second platform removes the data dir
    const port = first.port('MQTT')
    const url = `mqtt://127.0.0.1:${port}`
    // A persistent session, so that the subscriber misses nothing while either side is away.
    const subscriber = { clientId: 'rec-restart', clean: false, properties: { sessionExpiryInterval: 600 } }
    const before = await record(url, 'devices/+/telemetry/#', subscriber)
    const tokens: Record<string, string> = {}
    for (const id of ['rs-1', 'rs-2']) {
      await first.registry.createDevice({ id })
      tokens[id] = (await first.identity.issueToken(id)).token
    }
    const options = { url, reconnect: FAST_RECONNECT, telemetry: { batchPoints: 50, maxDelayMs: 50 } }
    const d1 = await connectDevice({ ...options, deviceId: 'rs-1', auth: { token: tokens['rs-1'] ?? '' } })
    const d2 = await connectDevice({
      ...options,
      deviceId: 'rs-2',
      auth: { token: tokens['rs-2'] ?? '' },
      telemetry: { batchPoints: 50, buffer: { maxPoints: 200 } },
    })
    t.after(() => Promise.all([d1.close(), d2.close()]))
    const drops: number[] = []
    d2.on('drop', (e) => drops.push(e.total))

    const producer = produce(d1, 5, 5)
    await sleep(300)
    await before.close()
    await first.stop() // keeps the data dir: registry, tokens, the subscriber's session
    await waitUntil(() => !d1.stats().connected && !d2.stats().connected, 'both devices to notice')
    // While the platform is down: d1 keeps producing; d2 queues 500 points into room for 200.
    d2.telemetry(
      Array.from({ length: 500 }, (_, i) => ({ metric: 'seq', value: i, ts: 1_700_000_000_000 + i })),
    )
    assert.equal(d2.stats().queuedPoints, 200)
    assert.equal(d2.stats().droppedPoints, 300)
    assert.equal(drops.at(-1), 300)
    await sleep(500)
    assert.ok(d1.stats().queuedPoints > 0, 'd1 buffers while the platform is down')

    const second = await startTestPlatform({
      allowAnonymous: 'true',
      dataDir: first.dataDir,
      'mqtt.port': String(port),
    })
    t.after(() => second.close())
    const recorder = await record(url, 'devices/+/telemetry/#', subscriber)
    t.after(() => recorder.close())
    await sleep(300)
    const count = producer.stop()
    await Promise.all([d1.flush(AbortSignal.timeout(10_000)), d2.flush(AbortSignal.timeout(10_000))])

    // Points acknowledged before the stop reached the first recorder connection; the
    // persistent session delivers the rest. Count over both.
    const d1Values = (): number[] =>
      [...before.points('rs-1'), ...recorder.points('rs-1')].map((p) => p.value as number)
    await waitUntil(() => tally(d1Values(), count).missing.length === 0, 'every d1 point after the restart')
    await waitUntil(() => recorder.points('rs-2').length >= 200, 'd2 points after the restart')
    const d2Values = recorder.points('rs-2').map((p) => p.value as number)
    assert.deepEqual(
      [...new Set(d2Values)].sort((a, b) => a - b),
      [...Array(200).keys()].map((i) => i + 300),
    )
    assert.ok(d1.stats().reconnects >= 1 && d2.stats().reconnects >= 1)
    assert.equal(d1.stats().queuedPoints, 0)
    assert.equal(d1.stats().droppedPoints, 0)
    t.diagnostic(
      `d1: ${count} points, ${tally(d1Values(), count).duplicates} duplicates, ${d1.stats().reconnects} reconnects`,
    )
    await Promise.all([d1.close(), d2.close()])
  })

  test("whenFull 'reject' refuses points beyond the bound, and nothing is dropped", async () => {
    // Port 1: nothing listens, the device stays offline and keeps retrying.
    const d = createDevice({
      url: 'mqtt://127.0.0.1:1',
      deviceId: 'offline-1',
      auth: { token: 'sdt_x' },
      reconnect: FAST_RECONNECT,
      telemetry: { batchPoints: 10, buffer: { maxPoints: 100, whenFull: 'reject' } },
    })
    d.on('error', () => {}) // ECONNREFUSED at every attempt
    for (let i = 0; i < 10; i++)
      d.telemetry(Array.from({ length: 10 }, (_, j) => ({ metric: 'm', value: i * 10 + j })))
    assert.throws(() => d.telemetry({ m: 1 }), BufferFullError)
    assert.deepEqual(
      { ...d.stats(), reconnects: 0 },
      {
        connected: false,
        queuedPoints: 100,
        queuedBytes: d.stats().queuedBytes,
        inflightBatches: 0,
        sentBatches: 0,
        sentPoints: 0,
        droppedPoints: 0,
        rejectedPoints: 0,
        resentBatches: 0,
        reconnects: 0,
      },
    )
    await d.close()
    assert.throws(() => d.telemetry({ m: 1 }), /closed/)
  })
})
