import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Logger } from '@strata/broker'
import { openSqliteRegistry } from '../../src/registry/sqlite-repository.js'
import { StatusTracker } from '../../src/registry/status-tracker.js'

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }

test('status: changes are batched, a takeover overlap keeps the device online, close marks it offline', async () => {
  const registry = openSqliteRegistry({ path: ':memory:' })
  let calls = 0
  const counting = new Proxy(registry, {
    get(target, p) {
      const v: unknown = Reflect.get(target, p, target)
      if (p === 'recordStatus') calls++
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  await registry.createDevices([{ id: 'a' }, { id: 'b' }])
  let now = new Date('2026-01-01T00:00:00Z')
  const tracker = new StatusTracker({ registry: counting, logger: silent, flushMs: 60_000, now: () => now })
  tracker.connected('a')
  tracker.connected('b')
  tracker.disconnected('b')
  tracker.connected('b')
  // Session takeover: the new connection arrives before the old one's disconnect.
  tracker.connected('a')
  tracker.disconnected('a')
  await tracker.flush()
  assert.equal(calls, 1, 'one batch for six events')
  assert.deepEqual(await registry.getStatus('a'), { online: true, lastSeen: '2026-01-01T00:00:00.000Z' })
  assert.equal((await registry.getStatus('b')).online, true)
  assert.ok(tracker.isOnline('a'))
  now = new Date('2026-01-01T00:05:00Z')
  await tracker.close()
  assert.deepEqual(await registry.getStatus('a'), { online: false, lastSeen: '2026-01-01T00:05:00.000Z' })
  assert.equal((await registry.getStatus('b')).online, false)
  await registry.close()
})

test('status: reset after a crash marks devices left online as offline, keeping last-seen', async () => {
  const registry = openSqliteRegistry({ path: ':memory:' })
  await registry.createDevices([{ id: 'a' }, { id: 'b' }])
  await registry.recordStatus([{ deviceId: 'a', online: true, lastSeen: '2026-01-01T00:00:00.000Z' }])
  const tracker = new StatusTracker({ registry, logger: silent })
  await tracker.reset()
  assert.deepEqual(await registry.getStatus('a'), { online: false, lastSeen: '2026-01-01T00:00:00.000Z' })
  assert.equal(await registry.countDevices('online:true'), 0)
  await tracker.close()
  await registry.close()
})
