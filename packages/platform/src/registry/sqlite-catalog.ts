/**
 * Device types and groups on SQLite: the small catalogues devices refer to. Synchronous
 * functions, run inside SqliteDb.run by the repository.
 */
import { AlreadyExistsError, InUseError, NotFoundError } from './errors.js'
import {
  checkDeviceTypePatch,
  checkExpectedVersion,
  checkGroupPatch,
  checkNewDeviceType,
  checkNewGroup,
} from './input.js'
import {
  DEFAULT_INGEST_POLICY,
  type DeviceType,
  type DeviceTypePatch,
  type Group,
  type GroupPatch,
  type NewDeviceType,
  type NewGroup,
  type RetentionDays,
} from './model.js'
import type { SqliteDb } from './sqlite-db.js'
import { type GroupRow, type TypeRow, toGroup, toType } from './sqlite-rows.js'

export function getDeviceType(s: SqliteDb, id: string): DeviceType {
  const r = s.stmt('SELECT * FROM device_types WHERE id = ?').get(id) as TypeRow | undefined
  if (!r) throw new NotFoundError('device type', id)
  return toType(r)
}

export function createDeviceType(s: SqliteDb, input: NewDeviceType): DeviceType {
  const t = checkNewDeviceType(input)
  if (s.stmt('SELECT 1 FROM device_types WHERE id = ?').get(t.id))
    throw new AlreadyExistsError('device type', t.id)
  const now = s.timestamp()
  s.stmt(
    `INSERT INTO device_types (id, name, telemetry, default_config, ingest, retention, version, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`,
  ).run(
    t.id,
    t.name ?? t.id,
    JSON.stringify(t.telemetry ?? []),
    JSON.stringify(t.defaultConfig ?? {}),
    JSON.stringify(t.ingest ?? DEFAULT_INGEST_POLICY),
    retentionJson(t.retention ?? null),
    now,
    now,
  )
  return getDeviceType(s, t.id)
}

export function updateDeviceType(
  s: SqliteDb,
  id: string,
  patch: DeviceTypePatch,
  expectedVersion: number,
): DeviceType {
  const p = checkDeviceTypePatch(patch, 'patch')
  const expected = checkExpectedVersion(expectedVersion)
  const cur = getDeviceType(s, id)
  s.checkVersion('device type', id, cur.version, expected)
  s.stmt(
    `UPDATE device_types SET name = ?, telemetry = ?, default_config = ?, ingest = ?, retention = ?,
     version = version + 1, updated_at = ? WHERE id = ?`,
  ).run(
    p.name ?? cur.name,
    JSON.stringify(p.telemetry ?? cur.telemetry),
    JSON.stringify(p.defaultConfig ?? cur.defaultConfig),
    JSON.stringify(p.ingest ?? cur.ingest),
    retentionJson(p.retention === undefined ? cur.retention : p.retention),
    s.timestamp(),
    id,
  )
  return getDeviceType(s, id)
}

const retentionJson = (r: RetentionDays | null): string | null => (r === null ? null : JSON.stringify(r))

export function deleteDeviceType(s: SqliteDb, id: string, expectedVersion: number | undefined): void {
  const cur = getDeviceType(s, id)
  s.checkVersion('device type', id, cur.version, expectedVersion)
  const users = (s.stmt('SELECT COUNT(*) AS n FROM devices WHERE type_id = ?').get(id) as { n: number }).n
  if (users > 0) throw new InUseError('device type', id, users)
  s.stmt('DELETE FROM device_types WHERE id = ?').run(id)
}

export function listDeviceTypes(s: SqliteDb): DeviceType[] {
  return (s.stmt('SELECT * FROM device_types ORDER BY id').all() as TypeRow[]).map(toType)
}

export function getGroup(s: SqliteDb, id: string): Group {
  const r = s.stmt('SELECT * FROM groups WHERE id = ?').get(id) as GroupRow | undefined
  if (!r) throw new NotFoundError('group', id)
  return toGroup(r)
}

export function createGroup(s: SqliteDb, input: NewGroup): Group {
  const g = checkNewGroup(input)
  if (s.stmt('SELECT 1 FROM groups WHERE id = ?').get(g.id)) throw new AlreadyExistsError('group', g.id)
  const now = s.timestamp()
  s.stmt(
    'INSERT INTO groups (id, name, description, version, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)',
  ).run(g.id, g.name ?? g.id, g.description ?? '', now, now)
  return getGroup(s, g.id)
}

export function updateGroup(s: SqliteDb, id: string, patch: GroupPatch, expectedVersion: number): Group {
  const p = checkGroupPatch(patch, 'patch')
  const expected = checkExpectedVersion(expectedVersion)
  const cur = getGroup(s, id)
  s.checkVersion('group', id, cur.version, expected)
  s.stmt(
    'UPDATE groups SET name = ?, description = ?, version = version + 1, updated_at = ? WHERE id = ?',
  ).run(p.name ?? cur.name, p.description ?? cur.description, s.timestamp(), id)
  return getGroup(s, id)
}

export function deleteGroup(s: SqliteDb, id: string, expectedVersion: number | undefined): void {
  const cur = getGroup(s, id)
  s.checkVersion('group', id, cur.version, expectedVersion)
  // Members change (their `groups` shrinks), so their versions move: an ETag a client holds goes stale.
  s.stmt(
    'UPDATE devices SET version = version + 1, updated_at = ? WHERE id IN (SELECT device_id FROM device_groups WHERE group_id = ?)',
  ).run(s.timestamp(), id)
  s.stmt('DELETE FROM device_groups WHERE group_id = ?').run(id)
  s.stmt('DELETE FROM groups WHERE id = ?').run(id)
}

export function listGroups(s: SqliteDb): Group[] {
  return (s.stmt('SELECT * FROM groups ORDER BY id').all() as GroupRow[]).map(toGroup)
}
