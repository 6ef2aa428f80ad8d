// Telemetry from a device over MQTT into the time-series engine (issue 4, first slice): decoded
// whole or refused whole (PUBACK 0x99, an event on the device's errors topic), acknowledged once
// durable, and every message counted in the delivery ledger and /metrics.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { encodeBatch } from '@strata/protocol'
import type { MqttClient } from 'mqtt'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { collect, connect, waitUntil } from './lib.js'

async function rawPoints(platform: TestPlatform, series: string): Promise<Array<[number, number]>> {
  const out: Array<[number, number]> = []
  for await (const batch of platform.engine.raw(series, 0, Number.MAX_SAFE_INTEGER)) {
    for (let i = 0; i < batch.timestamps.length; i++)
      out.push([batch.timestamps[i] as number, batch.values[i] as number])
  }
  return out
}

describe('telemetry ingestion', () => {
  let platform: TestPlatform
  let device: MqttClient

  before(async () => {
    platform = await startTestPlatform()
    await platform.registry.createDeviceType({ id: 'thermostat' })
    await platform.registry.createDevice({ id: 'th-1', typeId: 'thermostat' })
    const { token } = await platform.identity.issueToken('th-1')
    device = await connect(`mqtt://127.0.0.1:${platform.port('MQTT')}`, {
      clientId: 'th-1',
      username: 'th-1',
      password: token,
      protocolVersion: 5,
    })
  })
  after(async () => {
    await device.endAsync()
    await platform.close()
  })

  test('JSON and the binary batch are stored bit-exact once acknowledged', async () => {
    await device.publishAsync(
      'devices/th-1/telemetry',
      JSON.stringify([{ ts: 1_700_000_000_000, temp: 21.3, door: true }]),
      { qos: 1 },
    )
    // The PUBACK came after the durable write: the points are there now.
    assert.deepEqual(await rawPoints(platform, 'th-1/temp'), [[1_700_000_000_000, 21.3]])
    assert.deepEqual(await rawPoints(platform, 'th-1/door'), [[1_700_000_000_000, 1]])
    const batch = encodeBatch([
      { metric: 'temp', ts: 1_700_000_001_000, value: 21.4 },
      { metric: 'temp', ts: 1_700_000_002_000, value: 0.1 + 0.2 },
    ])
    await device.publishAsync('devices/th-1/telemetry/batch', Buffer.from(batch), { qos: 1 })
    const temp = await rawPoints(platform, 'th-1/temp')
    assert.equal(temp.length, 3)
    assert.ok(Object.is(temp[2]?.[1], 0.1 + 0.2), 'a full-precision float comes back bit-exact')
  })

  test('a bad payload gets PUBACK 0x99, an event on the errors topic, and stores nothing', async () => {
    const errors = collect(device)
    await device.subscribeAsync('devices/th-1/errors', { qos: 0 })
    await assert.rejects(
      device.publishAsync('devices/th-1/telemetry', '{"temp": "not closed', { qos: 1 }),
      (err: Error & { code?: number }) => err.code === 0x99,
    )
    await waitUntil(() => errors.length === 1, 'the error event')
    const event = JSON.parse(errors[0]?.payload.toString() ?? '{}') as { code: string; source: string }
    assert.equal(event.code, 'STRATA_TELEMETRY_INVALID')
    assert.equal(event.source, 'devices/th-1/telemetry')
    assert.ok(device.connected)
  })

  test('the ledger counts every stage, per device type, and /metrics shows it', async () => {
    const snap = platform.ledger.snapshot().byType.thermostat
    assert.ok(snap)
    assert.equal(snap.messages.received, 3)
    assert.equal(snap.messages.rejected, 1)
    assert.equal(snap.messages.decoded, 2)
    assert.equal(snap.messages.stored, 2)
    assert.equal(snap.points.stored, 4)
    assert.equal(snap.messages.acknowledged, 2)
    const text = await (await fetch(`http://127.0.0.1:${platform.port('HTTP')}/metrics`)).text()
    assert.match(text, /^strata_telemetry_messages_total\{device_type="thermostat",stage="rejected"\} 1$/m)
    assert.match(text, /^strata_telemetry_points_total\{device_type="thermostat",stage="stored"\} 4$/m)
  })
})
