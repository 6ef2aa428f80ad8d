/**
 * The embedded registry on better-sqlite3. Calls are synchronous underneath (SQLite in
 * process, microseconds per statement); the Promise API is the contract's, for PostgreSQL.
 * Devices live here; device types and groups in sqlite-catalog.ts; the connection, its
 * pragmas and the statement cache in sqlite-db.ts.
 */
import { AlreadyExistsError, NotFoundError, ValidationError } from './errors.js'
import {
  checkDevicePatch,
  checkExpectedVersion,
  checkLimit,
  checkNewDevice,
  decodeCursor,
  encodeCursor,
} from './input.js'
import type {
  Device,
  DevicePatch,
  DeviceStatus,
  DeviceType,
  DeviceTypePatch,
  Group,
  GroupPatch,
  NewDevice,
  NewDeviceType,
  NewGroup,
} from './model.js'
import { OFFLINE } from './model.js'
import type { CallOptions, DeviceQuery, Page, RegistryRepository, StatusUpdate } from './repository.js'
import { parseSelector, type Selector, type SqlWhere, selectorToSql } from './selector.js'
import { semverKey } from './semver.js'
import * as catalog from './sqlite-catalog.js'
import { SqliteDb } from './sqlite-db.js'
import { type DeviceRow, toDevice } from './sqlite-rows.js'

export interface SqliteRegistryOptions {
  /** A file path, or ':memory:' for tests. */
  path: string
  /** Clock for createdAt/updatedAt. Default: `() => new Date()`. */
  now?: () => Date
}

/** Opens (creating and migrating as needed) the registry database at `options.path`. */
export function openSqliteRegistry(options: SqliteRegistryOptions): RegistryRepository {
  return new SqliteRegistry(new SqliteDb(options.path, options.now ?? (() => new Date())), true)
}

/**
 * The registry on a database shared with the identity, access and audit repositories
 * (one file, one transaction scope). Its close() leaves the database open for its owner.
 */
export function sqliteRegistryOn(db: SqliteDb): RegistryRepository {
  return new SqliteRegistry(db, false)
}

class SqliteRegistry implements RegistryRepository {
  readonly #s: SqliteDb
  readonly #ownsDb: boolean

  constructor(db: SqliteDb, ownsDb: boolean) {
    this.#s = db
    this.#ownsDb = ownsDb
  }

  /** Model records for device rows: their groups and tags in two queries per batch, not two per device. */
  #devices(rows: DeviceRow[]): Device[] {
    if (rows.length === 0) return []
    const ids = JSON.stringify(rows.map((r) => r.id))
    const groups = new Map<string, string[]>()
    for (const g of this.#s
      .stmt(
        'SELECT device_id, group_id FROM device_groups WHERE device_id IN (SELECT value FROM json_each(?)) ORDER BY device_id, group_id',
      )
      .all(ids) as Array<{ device_id: string; group_id: string }>) {
      const list = groups.get(g.device_id)
      if (list) list.push(g.group_id)
      else groups.set(g.device_id, [g.group_id])
    }
    const tags = new Map<string, Record<string, string>>()
    for (const t of this.#s
      .stmt(
        'SELECT device_id, key, value FROM device_tags WHERE device_id IN (SELECT value FROM json_each(?)) ORDER BY device_id, key',
      )
      .all(ids) as Array<{ device_id: string; key: string; value: string }>) {
      const rec = tags.get(t.device_id)
      if (rec) rec[t.key] = t.value
      else tags.set(t.device_id, { [t.key]: t.value })
    }
    return rows.map((r) => toDevice(r, groups.get(r.id), tags.get(r.id)))
  }

  #row(id: string): DeviceRow {
    const row = this.#s.stmt('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined
    if (!row) throw new NotFoundError('device', id)
    return row
  }

  #one(id: string): Device {
    return this.#devices([this.#row(id)])[0] as Device
  }

  /** A clear ValidationError instead of a bare FOREIGN KEY failure; `known` spares repeats in a batch. */
  #checkReferences(
    typeId: string | null | undefined,
    groups: string[] | undefined,
    known = new Set<string>(),
  ): void {
    if (typeId && !known.has(`t:${typeId}`)) {
      if (!this.#s.stmt('SELECT 1 FROM device_types WHERE id = ?').get(typeId)) {
        throw new ValidationError('typeId', `device type '${typeId}' does not exist`)
      }
      known.add(`t:${typeId}`)
    }
    for (const g of groups ?? []) {
      if (known.has(`g:${g}`)) continue
      if (!this.#s.stmt('SELECT 1 FROM groups WHERE id = ?').get(g)) {
        throw new ValidationError('groups', `group '${g}' does not exist`)
      }
      known.add(`g:${g}`)
    }
  }

  #writeMembership(
    id: string,
    groups: string[] | undefined,
    tags: Record<string, string> | undefined,
    fresh: boolean,
  ): void {
    if (groups) {
      if (!fresh) this.#s.stmt('DELETE FROM device_groups WHERE device_id = ?').run(id)
      const add = this.#s.stmt('INSERT INTO device_groups (device_id, group_id) VALUES (?, ?)')
      for (const g of groups) add.run(id, g)
    }
    if (tags) {
      if (!fresh) this.#s.stmt('DELETE FROM device_tags WHERE device_id = ?').run(id)
      const add = this.#s.stmt('INSERT INTO device_tags (device_id, key, value) VALUES (?, ?, ?)')
      for (const [k, v] of Object.entries(tags)) add.run(id, k, v)
    }
  }

  #insert(input: NewDevice, known?: Set<string>): string {
    const d = checkNewDevice(input)
    if (this.#s.stmt('SELECT 1 FROM devices WHERE id = ?').get(d.id))
      throw new AlreadyExistsError('device', d.id)
    this.#checkReferences(d.typeId, d.groups, known)
    const now = this.#s.timestamp()
    const firmware = d.firmwareVersion ?? null
    this.#s
      .stmt(
        `INSERT INTO devices (id, name, type_id, metadata, enabled, firmware_version, firmware_key,
           desired_config, desired_config_version, version, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
      )
      .run(
        d.id,
        d.name ?? d.id,
        d.typeId ?? null,
        JSON.stringify(d.metadata ?? {}),
        d.enabled === false ? 0 : 1,
        firmware,
        firmware === null ? null : semverKey(firmware),
        JSON.stringify(d.desiredConfig ?? {}),
        d.desiredConfig ? 1 : 0,
        now,
        now,
      )
    this.#writeMembership(d.id, d.groups ?? [], d.tags ?? {}, true)
    return d.id
  }

  createDevice(input: NewDevice, options?: CallOptions): Promise<Device> {
    return this.#s.run(options, () => this.#one(this.#insert(input)), true)
  }

  createDevices(inputs: readonly NewDevice[], options?: CallOptions): Promise<Device[]> {
    return this.#s.run(
      options,
      () => {
        const known = new Set<string>()
        const ids = inputs.map((input) => this.#insert(input, known))
        return this.#devices(ids.map((id) => this.#row(id)))
      },
      true,
    )
  }

  getDevice(id: string, options?: CallOptions): Promise<Device> {
    return this.#s.run(options, () => this.#one(id))
  }

  updateDevice(
    id: string,
    patch: DevicePatch,
    expectedVersion: number,
    options?: CallOptions,
  ): Promise<Device> {
    return this.#s.run(
      options,
      () => {
        const p = checkDevicePatch(patch, 'patch')
        const expected = checkExpectedVersion(expectedVersion)
        const row = this.#row(id)
        this.#s.checkVersion('device', id, row.version, expected)
        this.#checkReferences(p.typeId, p.groups)
        const firmware = p.firmwareVersion === undefined ? row.firmware_version : p.firmwareVersion
        this.#s
          .stmt(
            `UPDATE devices SET name = ?, type_id = ?, metadata = ?, enabled = ?, firmware_version = ?, firmware_key = ?,
               desired_config = ?, desired_config_version = ?, version = version + 1, updated_at = ?
             WHERE id = ?`,
          )
          .run(
            p.name ?? row.name,
            p.typeId === undefined ? row.type_id : p.typeId,
            p.metadata ? JSON.stringify(p.metadata) : row.metadata,
            p.enabled === undefined ? row.enabled : p.enabled ? 1 : 0,
            firmware,
            firmware === null ? null : semverKey(firmware),
            p.desiredConfig ? JSON.stringify(p.desiredConfig) : row.desired_config,
            p.desiredConfig ? row.desired_config_version + 1 : row.desired_config_version,
            this.#s.timestamp(),
            id,
          )
        this.#writeMembership(id, p.groups, p.tags, false)
        return this.#one(id)
      },
      true,
    )
  }

  deleteDevice(id: string, expectedVersion?: number, options?: CallOptions): Promise<void> {
    return this.#s.run(
      options,
      () => {
        this.#s.checkVersion('device', id, this.#row(id).version, expectedVersion)
        // Groups, tags and status rows go with it (ON DELETE CASCADE).
        this.#s.stmt('DELETE FROM devices WHERE id = ?').run(id)
      },
      true,
    )
  }

  #where(selector: string | Selector | undefined): SqlWhere {
    return selectorToSql(typeof selector === 'object' ? selector : parseSelector(selector ?? ''))
  }

  listDevices(query: DeviceQuery = {}, options?: CallOptions): Promise<Page<Device>> {
    return this.#s.run(options, () => {
      const where = this.#where(query.selector)
      const limit = checkLimit(query.limit)
      const after = decodeCursor(query.cursor)
      // Keyset paging on the primary key: stable under concurrent inserts and deletes.
      const rows = this.#s
        .stmt(
          `SELECT d.* FROM devices d WHERE (${where.sql})${after === null ? '' : ' AND d.id > ?'} ORDER BY d.id LIMIT ?`,
        )
        .all(...where.params, ...(after === null ? [] : [after]), limit + 1) as DeviceRow[]
      const more = rows.length > limit
      if (more) rows.pop()
      const last = rows.at(-1)
      return { items: this.#devices(rows), nextCursor: more && last ? encodeCursor(last.id) : null }
    })
  }

  countDevices(selector?: string | Selector, options?: CallOptions): Promise<number> {
    return this.#s.run(options, () => {
      const where = this.#where(selector)
      return (
        this.#s.stmt(`SELECT COUNT(*) AS n FROM devices d WHERE ${where.sql}`).get(...where.params) as {
          n: number
        }
      ).n
    })
  }

  recordStatus(updates: readonly StatusUpdate[], options?: CallOptions): Promise<void> {
    return this.#s.run(
      options,
      () => {
        // The SELECT skips devices deleted while connected instead of failing the whole batch.
        const upsert = this.#s.stmt(
          `INSERT INTO device_status (device_id, online, last_seen)
           SELECT id, ?, ? FROM devices WHERE id = ?
           ON CONFLICT (device_id) DO UPDATE SET online = excluded.online, last_seen = excluded.last_seen`,
        )
        for (const u of updates) upsert.run(u.online ? 1 : 0, u.lastSeen, u.deviceId)
      },
      true,
    )
  }

  getStatus(id: string, options?: CallOptions): Promise<DeviceStatus> {
    return this.#s.run(options, () => {
      this.#row(id)
      const row = this.#s.stmt('SELECT online, last_seen FROM device_status WHERE device_id = ?').get(id) as
        | { online: number; last_seen: string | null }
        | undefined
      return row ? { online: row.online === 1, lastSeen: row.last_seen } : { ...OFFLINE }
    })
  }

  createDeviceType(input: NewDeviceType, options?: CallOptions): Promise<DeviceType> {
    return this.#s.run(options, () => catalog.createDeviceType(this.#s, input), true)
  }
  getDeviceType(id: string, options?: CallOptions): Promise<DeviceType> {
    return this.#s.run(options, () => catalog.getDeviceType(this.#s, id))
  }
  updateDeviceType(
    id: string,
    patch: DeviceTypePatch,
    expectedVersion: number,
    options?: CallOptions,
  ): Promise<DeviceType> {
    return this.#s.run(options, () => catalog.updateDeviceType(this.#s, id, patch, expectedVersion), true)
  }
  deleteDeviceType(id: string, expectedVersion?: number, options?: CallOptions): Promise<void> {
    return this.#s.run(options, () => catalog.deleteDeviceType(this.#s, id, expectedVersion), true)
  }
  listDeviceTypes(options?: CallOptions): Promise<DeviceType[]> {
    return this.#s.run(options, () => catalog.listDeviceTypes(this.#s))
  }

  createGroup(input: NewGroup, options?: CallOptions): Promise<Group> {
    return this.#s.run(options, () => catalog.createGroup(this.#s, input), true)
  }
  getGroup(id: string, options?: CallOptions): Promise<Group> {
    return this.#s.run(options, () => catalog.getGroup(this.#s, id))
  }
  updateGroup(id: string, patch: GroupPatch, expectedVersion: number, options?: CallOptions): Promise<Group> {
    return this.#s.run(options, () => catalog.updateGroup(this.#s, id, patch, expectedVersion), true)
  }
  deleteGroup(id: string, expectedVersion?: number, options?: CallOptions): Promise<void> {
    return this.#s.run(options, () => catalog.deleteGroup(this.#s, id, expectedVersion), true)
  }
  listGroups(options?: CallOptions): Promise<Group[]> {
    return this.#s.run(options, () => catalog.listGroups(this.#s))
  }

  async close(): Promise<void> {
    if (this.#ownsDb) this.#s.close()
  }
}
