/**
 * Schema migrations of the SQLite registry. Forwards only: a migration, once released, is
 * never edited or removed; a change is a new migration appended to the list. Each runs in
 * its own transaction together with its row in `schema_migrations`, so a crash leaves the
 * database at the previous version, never half-way. A database from a newer Strata (a
 * version this list does not know) is refused rather than guessed at.
 */
import type Database from 'better-sqlite3'
import { SchemaError } from './errors.js'
import { semverKey } from './semver.js'

export interface Migration {
  version: number
  name: string
  up(db: Database.Database): void
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'devices, device types, groups, tags',
    up(db) {
      db.exec(`
        CREATE TABLE device_types (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          telemetry TEXT NOT NULL,
          default_config TEXT NOT NULL,
          version INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE groups (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          description TEXT NOT NULL,
          version INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE devices (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          type_id TEXT REFERENCES device_types(id),
          metadata TEXT NOT NULL,
          enabled INTEGER NOT NULL,
          firmware_version TEXT,
          desired_config TEXT NOT NULL,
          desired_config_version INTEGER NOT NULL,
          version INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE INDEX devices_type ON devices(type_id);
        CREATE TABLE device_groups (
          device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
          group_id TEXT NOT NULL REFERENCES groups(id),
          PRIMARY KEY (device_id, group_id)
        ) WITHOUT ROWID;
        CREATE INDEX device_groups_group ON device_groups(group_id, device_id);
        CREATE TABLE device_tags (
          device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
          key TEXT NOT NULL,
          value TEXT NOT NULL,
          PRIMARY KEY (device_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX device_tags_key_value ON device_tags(key, value, device_id);
      `)
    },
  },
  {
    version: 2,
    name: 'device connection status',
    up(db) {
      // Apart from devices: written in batches by the broker, not part of the record's version.
      db.exec(`
        CREATE TABLE device_status (
          device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
          online INTEGER NOT NULL,
          last_seen TEXT
        ) WITHOUT ROWID;
        CREATE INDEX device_status_online ON device_status(online, device_id);
      `)
    },
  },
  {
    version: 3,
    name: 'firmware sort key',
    up(db) {
      // The key makes `firmware:<2.0.0` an index range scan (semver.ts); backfilled here in JS.
      db.exec('ALTER TABLE devices ADD COLUMN firmware_key TEXT')
      const set = db.prepare('UPDATE devices SET firmware_key = ? WHERE id = ?')
      const rows = db
        .prepare('SELECT id, firmware_version FROM devices WHERE firmware_version IS NOT NULL')
        .all() as Array<{
        id: string
        firmware_version: string
      }>
      for (const r of rows) set.run(semverKey(r.firmware_version), r.id)
      db.exec('CREATE INDEX devices_firmware_key ON devices(firmware_key)')
    },
  },
]

export const LATEST_VERSION = MIGRATIONS.length

/** The version recorded in the database, 0 for a new one. */
export function schemaVersion(db: Database.Database): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get()
  if (!table) return 0
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }
  return row.v ?? 0
}

/**
 * Applies the migrations after the database's version, up to `target` (tests stop early to
 * build databases as older releases left them). Returns the versions applied.
 */
export function migrate(
  db: Database.Database,
  target = LATEST_VERSION,
  migrations: readonly Migration[] = MIGRATIONS,
): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`)
  const current = schemaVersion(db)
  const latest = migrations.at(-1)?.version ?? 0
  if (current > latest) {
    throw new SchemaError(
      `the registry database is at schema version ${current}, newer than this Strata knows (${latest}); upgrade Strata`,
    )
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
  const applied: number[] = []
  for (const m of migrations) {
    if (m.version <= current || m.version > target) continue
    try {
      db.transaction(() => {
        m.up(db)
        record.run(m.version, m.name, new Date().toISOString())
      })()
    } catch (err) {
      throw new SchemaError(`registry migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, {
        cause: err,
      })
    }
    applied.push(m.version)
  }
  return applied
}
