/**
 * The abstract suite every RegistryRepository passes (Aedes' persistence pattern): SQLite
 * now, PostgreSQL later. `factory` returns a fresh, empty repository for each test.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  AlreadyExistsError,
  ConflictError,
  InUseError,
  NotFoundError,
  SelectorError,
  ValidationError,
} from '../../src/registry/errors.js'
import type { NewDevice } from '../../src/registry/model.js'
import type { RegistryRepository } from '../../src/registry/repository.js'

export type RepositoryFactory = () => Promise<RegistryRepository>

async function withRepo(
  factory: RepositoryFactory,
  fn: (repo: RegistryRepository) => Promise<void>,
): Promise<void> {
  const repo = await factory()
  try {
    await fn(repo)
  } finally {
    await repo.close()
  }
}

/** All pages of a listing, following cursors. */
export async function listAll(repo: RegistryRepository, selector: string, limit = 1000): Promise<string[]> {
  const ids: string[] = []
  let cursor: string | null = null
  do {
    const page = await repo.listDevices({ selector, limit, cursor })
    ids.push(...page.items.map((d) => d.id))
    cursor = page.nextCursor
  } while (cursor !== null)
  return ids
}

/** A small fleet whose expected selector results are written out by hand below. */
async function seedFleet(repo: RegistryRepository): Promise<void> {
  await repo.createDeviceType({
    id: 'thermostat',
    telemetry: [{ metric: 'temp', unit: '°C', valueType: 'number' }],
  })
  await repo.createDeviceType({ id: 'meter' })
  for (const id of ['building-a', 'building-b', 'test']) await repo.createGroup({ id })
  const fleet: NewDevice[] = [
    {
      id: 'dev-1',
      typeId: 'thermostat',
      groups: ['building-a'],
      tags: { floor: '3' },
      firmwareVersion: '1.2.3',
    },
    {
      id: 'dev-2',
      typeId: 'thermostat',
      groups: ['building-b'],
      tags: { floor: '1' },
      firmwareVersion: '2.0.0',
    },
    { id: 'dev-3', typeId: 'meter', groups: ['building-a', 'test'], tags: {}, firmwareVersion: '2.0.0-rc.1' },
    {
      id: 'gw-1',
      typeId: null,
      groups: [],
      tags: { floor: '3', role: 'gateway' },
      firmwareVersion: 'custom-build',
    },
    { id: 'gw-2', groups: ['test'], firmwareVersion: null },
  ]
  await repo.createDevices(fleet)
  await repo.recordStatus([
    { deviceId: 'dev-1', online: true, lastSeen: '2026-01-01T00:00:00.000Z' },
    { deviceId: 'gw-1', online: true, lastSeen: '2026-01-01T00:00:00.000Z' },
    { deviceId: 'dev-2', online: false, lastSeen: '2025-12-31T00:00:00.000Z' },
  ])
}

const SELECTOR_CASES: Array<[string, string[]]> = [
  ['', ['dev-1', 'dev-2', 'dev-3', 'gw-1', 'gw-2']],
  ['type:thermostat', ['dev-1', 'dev-2']],
  ['type:thermostat,meter', ['dev-1', 'dev-2', 'dev-3']],
  ['-type:thermostat', ['dev-3', 'gw-1', 'gw-2']],
  ['group:building-a', ['dev-1', 'dev-3']],
  ['group:building-a -group:test', ['dev-1']],
  ['tag:floor=3', ['dev-1', 'gw-1']],
  ['tag:floor', ['dev-1', 'dev-2', 'gw-1']],
  ['tag:floor=1,3 -tag:role', ['dev-1', 'dev-2']],
  ['firmware:1.2.3', ['dev-1']],
  ['firmware:<2.0.0', ['dev-1', 'dev-3']],
  ['firmware:>=2.0.0', ['dev-2']],
  ['firmware:>2.0.0-rc.1', ['dev-2']],
  ['firmware:custom-build', ['gw-1']],
  ['-firmware:<2.0.0', ['dev-2', 'gw-1', 'gw-2']],
  ['online:true', ['dev-1', 'gw-1']],
  ['online:false', ['dev-2', 'dev-3', 'gw-2']],
  ['id:dev-*', ['dev-1', 'dev-2', 'dev-3']],
  ['id:*-1', ['dev-1', 'gw-1']],
  ['id:gw-*,dev-3 online:true', ['gw-1']],
  ['  type:thermostat   online:true  ', ['dev-1']],
  ['type:nonexistent', []],
]

export function repositorySuite(name: string, factory: RepositoryFactory): void {
  describe(`registry repository: ${name}`, () => {
    test('device create/get: defaults filled, version 1', () =>
      withRepo(factory, async (repo) => {
        const d = await repo.createDevice({ id: 'dev-1' })
        assert.equal(d.id, 'dev-1')
        assert.equal(d.name, 'dev-1')
        assert.equal(d.typeId, null)
        assert.deepEqual(d.groups, [])
        assert.deepEqual(d.tags, {})
        assert.deepEqual(d.metadata, {})
        assert.equal(d.enabled, true)
        assert.equal(d.firmwareVersion, null)
        assert.deepEqual(d.desiredConfig, { version: 0, config: {} })
        assert.equal(d.version, 1)
        assert.ok(!Number.isNaN(Date.parse(d.createdAt)))
        assert.equal(d.createdAt, d.updatedAt)
        assert.deepEqual(await repo.getDevice('dev-1'), d)
      }))

    test('device with every field round-trips', () =>
      withRepo(factory, async (repo) => {
        await repo.createDeviceType({ id: 't' })
        await repo.createGroup({ id: 'b' })
        await repo.createGroup({ id: 'a' })
        const input = {
          id: 'x.y_z-1',
          name: 'Boiler room ☃',
          typeId: 't',
          groups: ['b', 'a', 'b'],
          tags: { floor: '3', 'site/zone': 'north:1' },
          metadata: { serial: 'S1', nested: { list: [1, 2.5, null, true, 'x'] } },
          enabled: false,
          firmwareVersion: '1.0.0+build.7',
          desiredConfig: { interval: 10 },
        }
        const d = await repo.createDevice(input)
        assert.deepEqual(d.groups, ['a', 'b'], 'groups are sorted and deduplicated')
        assert.deepEqual(d.tags, input.tags)
        assert.deepEqual(d.metadata, input.metadata)
        assert.equal(d.enabled, false)
        assert.equal(d.firmwareVersion, '1.0.0+build.7')
        assert.deepEqual(d.desiredConfig, { version: 1, config: { interval: 10 } })
        assert.deepEqual(await repo.getDevice(input.id), d)
      }))

    test('update: partial, version +1, desired config versioned, stale version → ConflictError', () =>
      withRepo(factory, async (repo) => {
        await repo.createGroup({ id: 'g' })
        const d1 = await repo.createDevice({ id: 'd', tags: { a: '1' }, firmwareVersion: '1.0.0' })
        const d2 = await repo.updateDevice('d', { name: 'renamed', groups: ['g'] }, 1)
        assert.equal(d2.version, 2)
        assert.equal(d2.name, 'renamed')
        assert.deepEqual(d2.groups, ['g'])
        assert.deepEqual(d2.tags, { a: '1' }, 'absent fields stay')
        assert.equal(d2.firmwareVersion, '1.0.0')
        assert.equal(d2.createdAt, d1.createdAt)
        const d3 = await repo.updateDevice('d', { desiredConfig: { x: 1 } }, 2)
        assert.deepEqual(d3.desiredConfig, { version: 1, config: { x: 1 } })
        const d4 = await repo.updateDevice('d', { desiredConfig: { x: 2 }, tags: {} }, 3)
        assert.deepEqual(d4.desiredConfig, { version: 2, config: { x: 2 } })
        assert.deepEqual(d4.tags, {})
        await assert.rejects(repo.updateDevice('d', { name: 'lost update' }, 2), (err: unknown) => {
          assert.ok(err instanceof ConflictError)
          assert.equal(err.code, 'STRATA_REGISTRY_CONFLICT')
          assert.equal(err.expectedVersion, 2)
          assert.equal(err.actualVersion, 4)
          return true
        })
        assert.equal((await repo.getDevice('d')).name, 'renamed', 'a conflicting update changes nothing')
        const d5 = await repo.updateDevice('d', { firmwareVersion: null, typeId: null }, 4)
        assert.equal(d5.firmwareVersion, null)
      }))

    test('delete: with stale version → ConflictError, then gone → NotFoundError', () =>
      withRepo(factory, async (repo) => {
        await repo.createDevice({ id: 'd' })
        await repo.updateDevice('d', { name: 'n' }, 1)
        await assert.rejects(repo.deleteDevice('d', 1), ConflictError)
        await repo.deleteDevice('d', 2)
        await assert.rejects(repo.getDevice('d'), NotFoundError)
        await assert.rejects(repo.deleteDevice('d'), NotFoundError)
        await assert.rejects(repo.updateDevice('d', {}, 1), NotFoundError)
        await assert.rejects(repo.getStatus('d'), NotFoundError)
        // The id is free again, and nothing of the old device is left behind.
        const again = await repo.createDevice({ id: 'd' })
        assert.equal(again.version, 1)
      }))

    test('duplicates → AlreadyExistsError; a failed batch creates nothing', () =>
      withRepo(factory, async (repo) => {
        await repo.createDevice({ id: 'd' })
        await repo.createDeviceType({ id: 't' })
        await repo.createGroup({ id: 'g' })
        await assert.rejects(repo.createDevice({ id: 'd' }), AlreadyExistsError)
        await assert.rejects(repo.createDeviceType({ id: 't' }), AlreadyExistsError)
        await assert.rejects(repo.createGroup({ id: 'g' }), AlreadyExistsError)
        await assert.rejects(repo.createDevices([{ id: 'new-1' }, { id: 'd' }]), AlreadyExistsError)
        await assert.rejects(repo.getDevice('new-1'), NotFoundError)
        assert.equal(await repo.countDevices(), 1)
      }))

    test('invalid input → ValidationError naming the field', () =>
      withRepo(factory, async (repo) => {
        const bad: Array<[unknown, string]> = [
          [{ id: '' }, 'id'],
          [{ id: 'a/b' }, 'id'],
          [{ id: '-lead' }, 'id'],
          [{ id: 'x'.repeat(129) }, 'id'],
          [{ id: 'd', typeId: 'missing' }, 'typeId'],
          [{ id: 'd', groups: ['missing'] }, 'groups'],
          [{ id: 'd', groups: 'g' }, 'groups'],
          [{ id: 'd', tags: { '1bad': 'v' } }, 'tags'],
          [{ id: 'd', tags: { k: 'has space' } }, 'tags.k'],
          [{ id: 'd', tags: { k: 3 } }, 'tags.k'],
          [{ id: 'd', metadata: [] }, 'metadata'],
          [{ id: 'd', metadata: { n: Number.NaN } }, 'metadata'],
          [{ id: 'd', enabled: 'yes' }, 'enabled'],
          [{ id: 'd', name: 'a\u0000b' }, 'name'],
        ]
        for (const [input, field] of bad) {
          await assert.rejects(repo.createDevice(input as NewDevice), (err: unknown) => {
            assert.ok(err instanceof ValidationError, `${JSON.stringify(input)}: ${String(err)}`)
            assert.equal(err.field, field, JSON.stringify(input))
            assert.equal(err.code, 'STRATA_REGISTRY_INVALID')
            return true
          })
        }
        await assert.rejects(
          repo.createDeviceType({ id: 't', telemetry: [{ metric: '9x', valueType: 'number' }] }),
          ValidationError,
        )
        await assert.rejects(
          repo.createDeviceType({ id: 't', telemetry: [{ metric: 'on', valueType: 'boolean', min: 0 }] }),
          ValidationError,
        )
        await repo.createDevice({ id: 'd' })
        await assert.rejects(repo.updateDevice('d', {}, 0), ValidationError)
        await assert.rejects(repo.listDevices({ limit: 0 }), ValidationError)
        await assert.rejects(repo.listDevices({ cursor: 'garbage' }), ValidationError)
        assert.equal(await repo.countDevices(), 1)
      }))

    test('device types: CRUD, version, in use → InUseError', () =>
      withRepo(factory, async (repo) => {
        const t = await repo.createDeviceType({
          id: 'thermostat',
          name: 'Thermostat',
          telemetry: [
            { metric: 'temp', unit: '°C', valueType: 'number', min: -40, max: 85 },
            { metric: 'heating', valueType: 'boolean' },
          ],
          defaultConfig: { interval: 60 },
        })
        assert.equal(t.version, 1)
        assert.deepEqual(await repo.getDeviceType('thermostat'), t)
        const t2 = await repo.updateDeviceType('thermostat', { defaultConfig: { interval: 30 } }, 1)
        assert.equal(t2.version, 2)
        assert.deepEqual(t2.telemetry, t.telemetry)
        await assert.rejects(repo.updateDeviceType('thermostat', { name: 'x' }, 1), ConflictError)
        await repo.createDevice({ id: 'd', typeId: 'thermostat' })
        await assert.rejects(repo.deleteDeviceType('thermostat'), InUseError)
        await repo.deleteDevice('d')
        await assert.rejects(repo.deleteDeviceType('thermostat', 1), ConflictError)
        await repo.deleteDeviceType('thermostat', 2)
        await assert.rejects(repo.getDeviceType('thermostat'), NotFoundError)
        await assert.rejects(repo.updateDeviceType('thermostat', {}, 2), NotFoundError)
        assert.deepEqual(await repo.listDeviceTypes(), [])
      }))

    test('device types: ingest policy (default buffer, replaced whole) and alarm metrics; misfits refused', () =>
      withRepo(factory, async (repo) => {
        const t = await repo.createDeviceType({
          id: 'camera',
          telemetry: [{ metric: 'tamper', valueType: 'boolean', alarm: true }],
        })
        assert.deepEqual(t.ingest, { strategy: 'buffer' })
        assert.equal(t.telemetry[0]?.alarm, true)
        const shed = await repo.updateDeviceType(
          'camera',
          { ingest: { strategy: 'shed', priority: 1, maxQueuedPoints: 5000 } },
          1,
        )
        assert.deepEqual(shed.ingest, { strategy: 'shed', priority: 1, maxQueuedPoints: 5000 })
        const sample = await repo.updateDeviceType('camera', { ingest: { strategy: 'sample' } }, 2)
        assert.deepEqual(sample.ingest, { strategy: 'sample' })
        assert.deepEqual(await repo.getDeviceType('camera'), sample)
        const bad: Array<[unknown, string]> = [
          [{ strategy: 'drop' }, 'ingest.strategy'],
          [{ strategy: 'buffer', sampleEvery: 5 }, 'ingest.sampleEvery'],
          [{ strategy: 'sample', sampleEvery: 1.5 }, 'ingest.sampleEvery'],
          [{ strategy: 'buffer', priority: 1 }, 'ingest.priority'],
          [{ strategy: 'shed', priority: -1 }, 'ingest.priority'],
          [{ strategy: 'shed', maxQueuedPoints: 0 }, 'ingest.maxQueuedPoints'],
          [{ strategy: 'shed', extra: 1 }, 'ingest.extra'],
          ['buffer', 'ingest'],
        ]
        for (const [ingest, field] of bad) {
          await assert.rejects(
            repo.createDeviceType({ id: 'x', ingest } as never),
            (err: unknown) => err instanceof ValidationError && err.field === field,
            JSON.stringify(ingest),
          )
        }
        await assert.rejects(
          repo.createDeviceType({
            id: 'x',
            telemetry: [{ metric: 'a', valueType: 'number', alarm: 'yes' }],
          } as never),
          (err: unknown) => err instanceof ValidationError && err.field === 'telemetry[0].alarm',
        )
      }))

    test('device types: retention (null by default, replaced whole, null or {} clears); bad values name the field', () =>
      withRepo(factory, async (repo) => {
        const t = await repo.createDeviceType({ id: 'meter', retention: { rawDays: 7 } })
        assert.deepEqual(t.retention, { rawDays: 7 })
        assert.equal((await repo.createDeviceType({ id: 'plain' })).retention, null)
        // A finer resolution may outlive a coarser one: each is dropped on its own.
        const all = { rawDays: 400, minuteDays: 90, hourDays: 36_500 }
        assert.deepEqual((await repo.updateDeviceType('meter', { retention: all }, 1)).retention, all)
        const renamed = await repo.updateDeviceType('meter', { name: 'Meter' }, 2)
        assert.deepEqual(renamed.retention, all, 'a patch without retention keeps it')
        assert.equal((await repo.updateDeviceType('meter', { retention: null }, 3)).retention, null)
        assert.equal((await repo.updateDeviceType('meter', { retention: {} }, 4)).retention, null)
        assert.deepEqual(await repo.getDeviceType('meter'), (await repo.listDeviceTypes())[0])
        const bad: Array<[unknown, string]> = [
          [{ rawDays: 0 }, 'retention.rawDays'],
          [{ minuteDays: 36_501 }, 'retention.minuteDays'],
          [{ hourDays: 1.5 }, 'retention.hourDays'],
          [{ rawDays: '7' }, 'retention.rawDays'],
          [{ rawMs: 7 }, 'retention.rawMs'],
          [7, 'retention'],
          [[7], 'retention'],
        ]
        for (const [retention, field] of bad) {
          await assert.rejects(
            repo.createDeviceType({ id: 'x', retention } as never),
            (err: unknown) => err instanceof ValidationError && err.field === field,
            JSON.stringify(retention),
          )
        }
      }))

    test('groups: CRUD; deleting one removes it from members and bumps their version', () =>
      withRepo(factory, async (repo) => {
        const g = await repo.createGroup({ id: 'site-1', name: 'Site 1', description: 'north' })
        await repo.createGroup({ id: 'site-0' })
        assert.deepEqual(await repo.getGroup('site-1'), g)
        assert.deepEqual(
          (await repo.listGroups()).map((x) => x.id),
          ['site-0', 'site-1'],
        )
        const g2 = await repo.updateGroup('site-1', { description: 'south' }, 1)
        assert.equal(g2.version, 2)
        assert.equal(g2.name, 'Site 1')
        await assert.rejects(repo.updateGroup('site-1', {}, 1), ConflictError)
        await repo.createDevice({ id: 'd', groups: ['site-0', 'site-1'] })
        await assert.rejects(repo.deleteGroup('site-1', 1), ConflictError)
        await repo.deleteGroup('site-1', 2)
        const d = await repo.getDevice('d')
        assert.deepEqual(d.groups, ['site-0'])
        assert.equal(d.version, 2)
        await assert.rejects(repo.getGroup('site-1'), NotFoundError)
        await assert.rejects(repo.deleteGroup('site-1'), NotFoundError)
      }))

    test('status: batched, kept apart from the record version, unknown devices ignored', () =>
      withRepo(factory, async (repo) => {
        await repo.createDevice({ id: 'd' })
        assert.deepEqual(await repo.getStatus('d'), { online: false, lastSeen: null })
        await repo.recordStatus([
          { deviceId: 'd', online: true, lastSeen: '2026-01-01T00:00:00.000Z' },
          { deviceId: 'deleted-meanwhile', online: true, lastSeen: '2026-01-01T00:00:00.000Z' },
        ])
        assert.deepEqual(await repo.getStatus('d'), { online: true, lastSeen: '2026-01-01T00:00:00.000Z' })
        await repo.recordStatus([{ deviceId: 'd', online: false, lastSeen: '2026-01-01T00:01:00.000Z' }])
        assert.deepEqual(await repo.getStatus('d'), { online: false, lastSeen: '2026-01-01T00:01:00.000Z' })
        assert.equal((await repo.getDevice('d')).version, 1)
      }))

    test('selectors select the expected devices (list and count agree)', () =>
      withRepo(factory, async (repo) => {
        await seedFleet(repo)
        for (const [selector, expected] of SELECTOR_CASES) {
          assert.deepEqual(await listAll(repo, selector), expected, selector)
          assert.equal(await repo.countDevices(selector), expected.length, selector)
        }
      }))

    test('a bad selector rejects with SelectorError', () =>
      withRepo(factory, async (repo) => {
        await assert.rejects(repo.listDevices({ selector: 'colour:red' }), SelectorError)
        await assert.rejects(repo.countDevices('firmware:<abc'), SelectorError)
      }))

    test('paging: id order, every device once, stable under concurrent inserts and deletes', () =>
      withRepo(factory, async (repo) => {
        const ids = Array.from({ length: 25 }, (_, i) => `d-${String(i).padStart(2, '0')}`)
        await repo.createDevices(ids.map((id) => ({ id })))
        assert.deepEqual(await listAll(repo, '', 4), ids)
        const seen: string[] = []
        let cursor: string | null = null
        let round = 0
        do {
          const page = await repo.listDevices({ limit: 4, cursor })
          assert.ok(page.items.length <= 4)
          seen.push(...page.items.map((d) => d.id))
          cursor = page.nextCursor
          // Between pages: a device before the cursor appears, one after it goes away.
          if (round === 1) {
            await repo.createDevice({ id: 'd-00a' })
            await repo.deleteDevice('d-20')
          }
          round++
        } while (cursor !== null)
        assert.deepEqual(
          seen,
          ids.filter((id) => id !== 'd-20'),
        )
        const exact = await repo.listDevices({ limit: 26 })
        assert.equal(exact.items.length, 25)
        assert.equal(exact.nextCursor, null)
      }))

    test('an aborted signal rejects before doing anything', () =>
      withRepo(factory, async (repo) => {
        const ac = new AbortController()
        ac.abort()
        await assert.rejects(repo.createDevice({ id: 'd' }, { signal: ac.signal }), { name: 'AbortError' })
        await assert.rejects(repo.listDevices({}, { signal: ac.signal }), { name: 'AbortError' })
        assert.equal(await repo.countDevices(), 0)
      }))

    test('10,000 devices: bulk create, select and page through', () =>
      withRepo(factory, async (repo) => {
        await repo.createDeviceType({ id: 'sensor' })
        await repo.createDeviceType({ id: 'valve' })
        await repo.createGroup({ id: 'even' })
        await repo.createGroup({ id: 'odd' })
        const n = 10_000
        const devices: NewDevice[] = Array.from({ length: n }, (_, i) => ({
          id: `dev-${String(i).padStart(5, '0')}`,
          typeId: i % 3 === 0 ? 'valve' : 'sensor',
          groups: [i % 2 === 0 ? 'even' : 'odd'],
          tags: { floor: String(i % 10), zone: `z${i % 7}` },
          firmwareVersion: `1.${i % 5}.0`,
        }))
        for (let i = 0; i < n; i += 2500) await repo.createDevices(devices.slice(i, i + 2500))
        await repo.recordStatus(
          devices
            .filter((_, i) => i % 4 === 0)
            .map((d) => ({ deviceId: d.id, online: true, lastSeen: null })),
        )
        assert.equal(await repo.countDevices(), n)
        const selector = 'type:sensor group:even tag:floor=2,4 firmware:>=1.2.0 -online:true'
        const expected = devices
          .map((d, i) => ({ d, i }))
          .filter(
            ({ i }) =>
              i % 3 !== 0 && i % 2 === 0 && (i % 10 === 2 || i % 10 === 4) && i % 5 >= 2 && i % 4 !== 0,
          )
          .map(({ d }) => d.id)
        assert.ok(expected.length > 100)
        assert.equal(await repo.countDevices(selector), expected.length)
        assert.deepEqual(await listAll(repo, selector, 250), expected)
        assert.equal((await listAll(repo, 'id:dev-01*')).length, 1000)
      }))
  })
}
