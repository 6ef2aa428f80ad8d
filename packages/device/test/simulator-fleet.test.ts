// The simulator's fleet runner against the real platform (started in this process): every
// device's samples reach the time-series engine; bad payloads are refused with PUBACK 0x99,
// counted as errors by the fleet and as rejected by the platform's ledger; dropped sockets
// are reconnected by the SDK while data keeps flowing; skewed clocks shift timestamps.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startTestPlatform, type TestPlatform } from '../../platform/test/helpers/platform.js'
import { type FleetStats, PROFILES, type SimulatedDevice, startFleet } from '../src/simulator/index.js'
import { FAST_RECONNECT, sleep, waitUntil } from './helpers.js'

async function devices(platform: TestPlatform, prefix: string, n: number): Promise<SimulatedDevice[]> {
  const out: SimulatedDevice[] = []
  for (let i = 1; i <= n; i++) {
    const deviceId = `${prefix}-${i}`
    await platform.registry.createDevice({ id: deviceId, typeId: null })
    out.push({ deviceId, token: (await platform.identity.issueToken(deviceId)).token })
  }
  return out
}

/** Points stored for `deviceId`'s `metric` since `from`. */
async function stored(platform: TestPlatform, series: string, from: number): Promise<number[]> {
  const ts: number[] = []
  for await (const batch of platform.engine.raw(series, from, Date.now() + 86_400_000))
    ts.push(...batch.timestamps)
  return ts
}

describe('simulated fleet against the platform', { timeout: 60_000 }, () => {
  test('building fleet with bad payloads: data for every device, refusals counted on both sides', async (t) => {
    const platform = await startTestPlatform()
    t.after(() => platform.close())
    const url = `mqtt://127.0.0.1:${platform.port('MQTT')}`
    const fleetDevices = await devices(platform, 'b', 4)
    const from = Date.now()
    const fleet = startFleet({
      url,
      devices: fleetDevices,
      profile: PROFILES.building,
      rate: 5,
      faults: { badPayloadFraction: 0.3 },
      connectConcurrency: 2,
    })
    await waitUntil(
      () => fleet.stats().badPayloads.refused >= 4 && fleet.stats().sentMessages >= 8,
      'traffic',
    )
    const stats = await fleet.stop()
    assert.equal(stats.started, 4)
    assert.equal(stats.refusedDevices.length, 0)
    assert.equal(stats.badPayloads.accepted, 0, 'the platform accepted no bad payload')
    assert.equal(stats.errorsByKind['payload-refused'], stats.badPayloads.refused)
    assert.equal(
      stats.errors,
      stats.errorsByKind['payload-refused'],
      `only expected errors: ${JSON.stringify(stats)}`,
    )
    assert.equal(stats.queuedPoints, 0, 'everything buffered was sent at stop')
    assert.equal(stats.sentPoints, stats.samples * PROFILES.building.telemetry.length)
    for (const { deviceId } of fleetDevices) {
      const series = platform.engine.series({ device: deviceId }).sort()
      assert.deepEqual(
        series,
        PROFILES.building.telemetry.map((m) => `${deviceId}/${m.metric}`).sort(),
        `${deviceId}'s metrics`,
      )
      assert.ok((await stored(platform, `${deviceId}/temperature`, from)).length > 0)
    }
    const ledger = platform.ledger.snapshot().total
    assert.equal(ledger.messages.rejected, stats.badPayloads.refused, 'the ledger counts each refusal')
    assert.equal(ledger.points.stored, stats.sentPoints)
  })

  test('dropped sockets: the SDK reconnects and data keeps flowing', async (t) => {
    const platform = await startTestPlatform()
    t.after(() => platform.close())
    const url = `mqtt://127.0.0.1:${platform.port('MQTT')}`
    const fleetDevices = await devices(platform, 'f', 3)
    const fleet = startFleet({
      url,
      devices: fleetDevices,
      profile: PROFILES.factory,
      rate: 4,
      faults: { disconnectPerMinute: 60 },
      reconnect: FAST_RECONNECT,
    })
    t.after(() => fleet.stop({ flushMs: 0 }))
    await waitUntil(() => fleet.stats().reconnects >= 3, 'three reconnects', 20_000)
    const before: FleetStats = fleet.stats()
    await sleep(1_500)
    const after = await fleet.stop()
    assert.ok(after.faultDisconnects >= 3, `sockets dropped: ${after.faultDisconnects}`)
    assert.ok(after.sentPoints > before.sentPoints, 'data still flows after the reconnects')
    assert.equal(after.errorsByKind['publish-refused'], 0)
    for (const { deviceId } of fleetDevices)
      assert.ok(platform.engine.series({ device: deviceId }).length === PROFILES.factory.telemetry.length)
  })

  test('clock skew shifts the timestamps of some devices', async (t) => {
    const platform = await startTestPlatform()
    t.after(() => platform.close())
    const url = `mqtt://127.0.0.1:${platform.port('MQTT')}`
    const fleetDevices = await devices(platform, 'v', 8)
    const skew = -3_600_000
    const fleet = startFleet({
      url,
      devices: fleetDevices,
      profile: PROFILES.fleet,
      rate: 4,
      faults: { clockSkewMs: skew, clockSkewFraction: 0.5 },
    })
    await waitUntil(() => fleet.stats().sentMessages >= 16, 'traffic')
    await fleet.stop()
    let skewed = 0
    const now = Date.now()
    for (const { deviceId } of fleetDevices) {
      const ts = await stored(platform, `${deviceId}/speed`, 0)
      assert.ok(ts.length > 0)
      if (ts.every((t) => t < now + skew + 60_000)) skewed++
      else
        assert.ok(
          ts.every((t) => t > now - 60_000),
          'the others are on time',
        )
    }
    assert.ok(skewed > 0 && skewed < fleetDevices.length, `${skewed} of ${fleetDevices.length} skewed`)
  })
})
