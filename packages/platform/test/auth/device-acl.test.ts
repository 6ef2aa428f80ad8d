import assert from 'node:assert/strict'
import { test } from 'node:test'
import { topicMatches, validateTopicFilter } from '@strata/protocol'
import fc from 'fast-check'
import { DeviceAcl, filterCovers } from '../../src/auth/device-acl.js'
import type { AclGrant } from '../../src/identity/model.js'

const grant = (topicFilter: string, access: AclGrant['access']): AclGrant => ({
  id: 'grt_0',
  deviceId: 'd1',
  topicFilter,
  access,
  createdAt: '2026-01-01T00:00:00.000Z',
})

test('a device publishes and subscribes inside devices/{id}/ only', () => {
  const acl = new DeviceAcl('d1', [])
  for (const t of ['devices/d1/telemetry', 'devices/d1/events/alarm', 'devices/d1/a/b/c'])
    assert.ok(acl.canPublish(t), t)
  for (const f of ['devices/d1/#', 'devices/d1/commands/#', 'devices/d1/+/x', '$share/g/devices/d1/#'])
    assert.ok(acl.canSubscribe(f), f)
  const outside = [
    'devices/d2/telemetry',
    'devices/d10/telemetry',
    'devices/d1',
    'devices/+/telemetry',
    'devices/#',
    '#',
    '+/telemetry',
    '+/d1/telemetry',
    '$SYS/#',
    '$SYS/broker/uptime',
    '$share/g/#',
    '$share/g/devices/d2/#',
    '$strata/provision/x/response',
    'devices/d1/../d2/telemetry',
    'devices/d1/./x',
    'Devices/d1/telemetry',
    '/devices/d1/telemetry',
  ]
  for (const f of outside) assert.equal(acl.canSubscribe(f), false, `subscribe ${f}`)
  for (const t of outside.filter((x) => !/[+#]/.test(x) && !x.startsWith('$share')))
    assert.equal(acl.canPublish(t), false, `publish ${t}`)
})

test('grants widen the namespace by access kind, and can be replaced while connected', () => {
  const acl = new DeviceAcl('d1', [
    grant('plant/+/alarms', 'publish'),
    grant('fleet/broadcast/#', 'subscribe'),
  ])
  assert.ok(acl.canPublish('plant/l1/alarms'))
  assert.equal(acl.canSubscribe('plant/l1/alarms'), false)
  assert.ok(acl.canSubscribe('fleet/broadcast/#'))
  assert.ok(acl.canSubscribe('fleet/broadcast/firmware/+'))
  assert.equal(acl.canSubscribe('fleet/#'), false)
  assert.equal(acl.canPublish('fleet/broadcast/x'), false)
  acl.setGrants([])
  assert.equal(acl.canPublish('plant/l1/alarms'), false)
  assert.equal(acl.canSubscribe('fleet/broadcast/#'), false)
})

test('filterCovers: a literal covers itself, + one level, # the rest; never into $ topics', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/+', true],
    ['a/+', 'a/#', false],
    ['a/+', 'a/b/c', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/+/#', true],
    ['a/#', 'b/#', false],
    ['#', '$SYS/#', false],
    ['+/x', '$SYS/x', false],
    ['#', 'anything/at/all', true],
    ['a/b/c', 'a/b', false],
  ]
  for (const [g, f, want] of cases) assert.equal(filterCovers(g, f), want, `${g} covers ${f}`)
})

// The property that makes subscription grants safe: if a grant covers a filter, every topic
// the filter matches, the grant matches too. Checked on random filters over a small alphabet.
test('filterCovers never lets a filter reach a topic its grant does not match (property)', () => {
  const level = fc.constantFrom('a', 'b', '+', '#', '$x')
  const filter = fc
    .array(level, { minLength: 1, maxLength: 4 })
    .map((l) => l.join('/'))
    .filter((f) => validateTopicFilter(f) === undefined)
  const topic = fc
    .array(fc.constantFrom('a', 'b', '$x'), { minLength: 1, maxLength: 5 })
    .map((l) => l.join('/'))
  fc.assert(
    fc.property(filter, filter, topic, (g, f, t) => {
      if (filterCovers(g, f) && topicMatches(f, t)) return topicMatches(g, t)
      return true
    }),
    { seed: 7, numRuns: 20_000 },
  )
})
