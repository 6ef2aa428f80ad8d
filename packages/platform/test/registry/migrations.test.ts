import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import Database from 'better-sqlite3'
import { SchemaError } from '../../src/registry/errors.js'
import { LATEST_VERSION, MIGRATIONS, migrate, schemaVersion } from '../../src/registry/migrations.js'
import { semverKey } from '../../src/registry/semver.js'
import { openSqliteRegistry } from '../../src/registry/sqlite-repository.js'

const dirs: string[] = []
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})
async function dbPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-migrate-'))
  dirs.push(dir)
  return join(dir, 'registry.db')
}

test('migrations are numbered 1..N without gaps (forwards only: append, never edit)', () => {
  assert.deepEqual(
    MIGRATIONS.map((m) => m.version),
    Array.from({ length: LATEST_VERSION }, (_, i) => i + 1),
  )
})

/**
 * Data as a release at schema version k wrote it, with the columns that version had: the
 * columns of migration 1 exist in every later version, status exists from version 2.
 */
function writeOldData(db: Database.Database, k: number): void {
  if (k < 1) return
  const now = '2025-01-01T00:00:00.000Z'
  db.prepare(
    `INSERT INTO device_types (id, name, telemetry, default_config, version, created_at, updated_at)
     VALUES ('thermostat', 'Thermostat', '[{"metric":"temp","valueType":"number"}]', '{"interval":60}', 3, ?, ?)`,
  ).run(now, now)
  // From version 5 on, releases wrote each type's ingest policy.
  if (k >= 5) {
    db.prepare(
      `INSERT INTO device_types (id, name, telemetry, default_config, ingest, version, created_at, updated_at)
       VALUES ('camera', 'Camera', '[]', '{}', '{"strategy":"shed","priority":1}', 1, ?, ?)`,
    ).run(now, now)
  }
  db.prepare(`INSERT INTO groups VALUES ('site-a', 'Site A', 'north', 1, ?, ?)`).run(now, now)
  const device = db.prepare(
    `INSERT INTO devices (id, name, type_id, metadata, enabled, firmware_version, desired_config, desired_config_version, version, created_at, updated_at)
     VALUES (?, ?, 'thermostat', '{"serial":"S1"}', 1, ?, '{"interval":5}', 2, 7, ?, ?)`,
  )
  device.run('old-1', 'Old one', '1.4.2', now, now)
  device.run('old-2', 'Old two', 'custom', now, now)
  db.prepare(`INSERT INTO device_groups VALUES ('old-1', 'site-a')`).run()
  db.prepare(`INSERT INTO device_tags VALUES ('old-1', 'floor', '3')`).run()
  if (k >= 2) db.prepare(`INSERT INTO device_status VALUES ('old-1', 1, ?)`).run(now)
  // From version 3 on, releases wrote the firmware sort key with the row.
  if (k >= 3) {
    const key = db.prepare('UPDATE devices SET firmware_key = ? WHERE id = ?')
    key.run(semverKey('1.4.2'), 'old-1')
    key.run(semverKey('custom'), 'old-2')
  }
}

for (let k = 0; k < LATEST_VERSION; k++) {
  test(`a database at schema version ${k} migrates to ${LATEST_VERSION} and keeps its data`, async () => {
    const path = await dbPath()
    const old = new Database(path)
    old.pragma('foreign_keys = ON')
    migrate(old, k)
    assert.equal(schemaVersion(old), k)
    writeOldData(old, k)
    old.close()

    const repo = openSqliteRegistry({ path })
    try {
      if (k === 0) {
        assert.equal(await repo.countDevices(), 0)
      } else {
        const d = await repo.getDevice('old-1')
        assert.equal(d.name, 'Old one')
        assert.equal(d.version, 7)
        assert.equal(d.typeId, 'thermostat')
        assert.deepEqual(d.groups, ['site-a'])
        assert.deepEqual(d.tags, { floor: '3' })
        assert.deepEqual(d.metadata, { serial: 'S1' })
        assert.deepEqual(d.desiredConfig, { version: 2, config: { interval: 5 } })
        assert.deepEqual((await repo.getDeviceType('thermostat')).defaultConfig, { interval: 60 })
        // Migration 5: types from before ingest policies keep what they had, buffer.
        assert.deepEqual((await repo.getDeviceType('thermostat')).ingest, { strategy: 'buffer' })
        const policy = { strategy: 'shed', priority: 2 } as const
        assert.deepEqual((await repo.updateDeviceType('thermostat', { ingest: policy }, 3)).ingest, policy)
        // Migration 6: types from before retention follow the platform's defaults (null), so
        // an upgrade drops nothing it did not drop before; a retention can be set afterwards.
        assert.equal((await repo.getDeviceType('thermostat')).retention, null)
        const days = { rawDays: 7, hourDays: 1825 }
        const kept = await repo.updateDeviceType('thermostat', { retention: days }, 4)
        assert.deepEqual(kept.retention, days)
        assert.deepEqual(kept.ingest, policy, 'the other fields stay')
        if (k >= 5) {
          const camera = await repo.getDeviceType('camera')
          assert.deepEqual(camera.ingest, { strategy: 'shed', priority: 1 })
          assert.equal(camera.retention, null)
        }
        assert.equal((await repo.getGroup('site-a')).description, 'north')
        assert.deepEqual(await repo.getStatus('old-1'), {
          online: k >= 2,
          lastSeen: k >= 2 ? '2025-01-01T00:00:00.000Z' : null,
        })
        // Migration 3 backfilled the firmware key, so version selectors see old rows.
        assert.equal(await repo.countDevices('firmware:<2.0.0'), 1)
        assert.equal(await repo.countDevices('firmware:custom'), 1)
        const updated = await repo.updateDevice('old-1', { name: 'renamed' }, 7)
        assert.equal(updated.version, 8)
      }
    } finally {
      await repo.close()
    }
    const db = new Database(path, { readonly: true })
    const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{
      version: number
    }>
    db.close()
    assert.deepEqual(
      rows.map((r) => r.version),
      MIGRATIONS.map((m) => m.version),
    )
  })
}

test('opening again applies nothing; the database is in WAL mode', async () => {
  const path = await dbPath()
  await openSqliteRegistry({ path }).close()
  const db = new Database(path)
  assert.deepEqual(migrate(db), [])
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  db.close()
})

test('a database from a newer Strata is refused, not guessed at', async () => {
  const path = await dbPath()
  const db = new Database(path)
  migrate(db)
  db.prepare("INSERT INTO schema_migrations VALUES (?, 'from the future', '2030-01-01')").run(
    LATEST_VERSION + 1,
  )
  db.close()
  assert.throws(() => openSqliteRegistry({ path }), SchemaError)
})

test('a failing migration rolls back whole and leaves the previous version', () => {
  const db = new Database(':memory:')
  const broken = [
    ...MIGRATIONS,
    {
      version: LATEST_VERSION + 1,
      name: 'broken',
      up(d: Database.Database) {
        d.exec('CREATE TABLE half_done (x INTEGER)')
        d.exec('THIS IS NOT SQL')
      },
    },
  ]
  assert.throws(() => migrate(db, LATEST_VERSION + 1, broken), SchemaError)
  assert.equal(schemaVersion(db), LATEST_VERSION)
  assert.equal(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").get(), undefined)
  db.close()
})
