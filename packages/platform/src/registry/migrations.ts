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
  {
    version: 4,
    name: 'credentials, certificate authorities, provisioning, ACL grants, users, API keys, audit log',
    up(db) {
      // Secrets are never stored: device tokens and passwords as scrypt hashes; API keys, session
      // and setup tokens (256 random bits each, so a slow hash adds nothing) as SHA-256.
      db.exec(`
        CREATE TABLE certificate_authorities (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          certificate_pem TEXT NOT NULL,
          subject TEXT NOT NULL,
          not_after TEXT NOT NULL,
          platform INTEGER NOT NULL,
          created_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE device_credentials (
          id TEXT PRIMARY KEY,
          device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
          kind TEXT NOT NULL CHECK (kind IN ('token', 'certificate')),
          secret_hash TEXT,
          fingerprint TEXT UNIQUE,
          serial TEXT,
          issuer_id TEXT,
          certificate_pem TEXT,
          not_before TEXT,
          not_after TEXT,
          label TEXT NOT NULL,
          created_at TEXT NOT NULL,
          revoked_at TEXT,
          revoked_reason TEXT
        ) WITHOUT ROWID;
        CREATE INDEX device_credentials_device ON device_credentials(device_id);
        CREATE TABLE provisioning_templates (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          claim_secret_hash TEXT NOT NULL,
          type_id TEXT REFERENCES device_types(id),
          groups TEXT NOT NULL,
          tags TEXT NOT NULL,
          id_prefix TEXT NOT NULL,
          credential_kind TEXT NOT NULL CHECK (credential_kind IN ('token', 'certificate')),
          max_devices INTEGER,
          provisioned INTEGER NOT NULL,
          expires_at TEXT,
          enabled INTEGER NOT NULL,
          version INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE acl_grants (
          id TEXT PRIMARY KEY,
          device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
          topic_filter TEXT NOT NULL,
          access TEXT NOT NULL CHECK (access IN ('publish', 'subscribe', 'all')),
          created_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX acl_grants_device ON acl_grants(device_id);
        CREATE TABLE users (
          username TEXT PRIMARY KEY,
          password_hash TEXT NOT NULL,
          role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
          enabled INTEGER NOT NULL,
          version INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE api_keys (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          secret_hash TEXT NOT NULL,
          owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
          scopes TEXT NOT NULL,
          created_at TEXT NOT NULL,
          expires_at TEXT,
          last_used_at TEXT,
          revoked_at TEXT
        ) WITHOUT ROWID;
        CREATE TABLE sessions (
          token_hash TEXT PRIMARY KEY,
          username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
          created_at TEXT NOT NULL,
          expires_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX sessions_expiry ON sessions(expires_at);
        CREATE TABLE setup_tokens (
          token_hash TEXT PRIMARY KEY,
          created_at TEXT NOT NULL,
          expires_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE audit_log (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          at TEXT NOT NULL,
          actor TEXT NOT NULL,
          action TEXT NOT NULL,
          target_kind TEXT NOT NULL,
          target_id TEXT NOT NULL,
          details TEXT NOT NULL
        );
        CREATE INDEX audit_log_target ON audit_log(target_kind, target_id, seq);
      `)
    },
  },
  {
    version: 5,
    name: 'device type ingest policy',
    up(db) {
      // JSON like `telemetry`: the policy's fields vary by strategy. Existing types get the
      // default, buffer: what they had before (nothing sampled or shed).
      db.exec(`ALTER TABLE device_types ADD COLUMN ingest TEXT NOT NULL DEFAULT '{"strategy":"buffer"}'`)
    },
  },
  {
    version: 6,
    name: 'device type retention',
    up(db) {
      // JSON {rawDays?, minuteDays?, hourDays?}, or NULL: the platform's telemetry.retention.
      // Existing types get NULL, so an upgrade drops nothing it did not drop before.
      db.exec('ALTER TABLE device_types ADD COLUMN retention TEXT')
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
