import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { RETENTION_CLASS_NAME } from '@strata/tsdb'
import { retentionClassName, retentionMs, TypeRetention } from '../../src/ingest/retention.js'
import type { DeviceType, RetentionDays } from '../../src/registry/model.js'

const DAY = 86_400_000

function type(id: string, retention: RetentionDays | null): DeviceType {
  const at = '2025-01-01T00:00:00.000Z'
  return {
    id,
    name: id,
    telemetry: [],
    defaultConfig: {},
    ingest: { strategy: 'buffer' },
    retention,
    version: 1,
    createdAt: at,
    updatedAt: at,
  }
}

describe('retention classes of device types', () => {
  test('class names: valid for the engine, deterministic, readable, distinct where ids differ', () => {
    const ids = [
      'thermostat',
      'Thermostat',
      'THERMOSTAT',
      'pump.v2',
      'pump_v2',
      'pump-v2',
      '0',
      '9-',
      'a'.repeat(128),
      `${'a'.repeat(127)}b`,
      'x.-_y',
      'default',
    ]
    const names = ids.map(retentionClassName)
    for (const [i, name] of names.entries()) {
      assert.match(name, RETENTION_CLASS_NAME, ids[i])
      assert.notEqual(name, 'default')
      assert.equal(retentionClassName(ids[i] as string), name, 'the same after a restart')
    }
    assert.equal(new Set(names).size, ids.length, 'no two ids share a class')
    assert.match(retentionClassName('Pump.V2'), /^pump-v2-[0-9a-f]{10}$/)
  })

  test('days become ms; a resolution the type leaves out follows the defaults, else keeps all', () => {
    assert.deepEqual(retentionMs({}), {})
    assert.deepEqual(retentionMs({ rawDays: 7 }, { rawDays: 30, hourDays: 1825 }), {
      rawMs: 7 * DAY,
      hourMs: 1825 * DAY,
    })
    // A finer resolution kept longer than a coarser one is allowed (each dropped on its own).
    assert.deepEqual(retentionMs({ rawDays: 400, minuteDays: 90 }), { rawMs: 400 * DAY, minuteMs: 90 * DAY })
  })

  test('a type with a retention gets its class; without, default; orphaned classes follow the defaults', () => {
    const applied: Array<Record<string, unknown>> = []
    const r = new TypeRetention({ rawDays: 30 })
    r.set('meter', type('meter', { rawDays: 1 }))
    r.set('plain', type('plain', null))
    r.addKnown(['default', 'gone-0123456789'])
    r.applyTo((classes) => applied.push(classes))
    const meter = retentionClassName('meter')
    assert.equal(r.classOf('meter'), meter)
    assert.equal(r.classOf('plain'), 'default')
    assert.equal(r.classOf(null), 'default')
    assert.equal(r.classOf('unknown'), 'default')
    assert.deepEqual(r.defaultRetention(), { rawMs: 30 * DAY })
    assert.deepEqual(applied.at(-1), { [meter]: { rawMs: DAY }, 'gone-0123456789': { rawMs: 30 * DAY } })
    // The type drops its retention: new series go to default; its class (which may hold series) follows the defaults.
    r.set('meter', type('meter', null))
    assert.equal(r.classOf('meter'), 'default')
    assert.deepEqual(applied.at(-1), { [meter]: { rawMs: 30 * DAY }, 'gone-0123456789': { rawMs: 30 * DAY } })
    r.set('meter', type('meter', { hourDays: 10 }))
    assert.deepEqual(applied.at(-1)?.[meter], { rawMs: 30 * DAY, hourMs: 10 * DAY })
    r.set('meter', null)
    assert.deepEqual(applied.at(-1)?.[meter], { rawMs: 30 * DAY })
    assert.equal(applied.length, 4)
  })
})
