/**
 * Checks of what callers hand to a repository, shared by every implementation so that
 * SQLite and PostgreSQL refuse the same inputs with the same ValidationError.
 */
import { ValidationError } from './errors.js'
import {
  checkBoolean,
  checkFirmware,
  checkGroupIds,
  checkId,
  checkIngestPolicy,
  checkJsonObject,
  checkName,
  checkRetention,
  checkTags,
  checkTelemetry,
  type DevicePatch,
  type DeviceTypePatch,
  type GroupPatch,
  type NewDevice,
  type NewDeviceType,
  type NewGroup,
} from './model.js'

function checkObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, 'must be an object')
  }
  return value as Record<string, unknown>
}

export function checkDevicePatch(value: unknown, field = 'device'): DevicePatch {
  const v = checkObject(value, field)
  const out: DevicePatch = {}
  if (v.name !== undefined) out.name = checkName(v.name)
  if (v.typeId !== undefined) out.typeId = v.typeId === null ? null : checkId(v.typeId, 'typeId')
  if (v.groups !== undefined) out.groups = checkGroupIds(v.groups)
  if (v.tags !== undefined) out.tags = checkTags(v.tags)
  if (v.metadata !== undefined) out.metadata = checkJsonObject(v.metadata, 'metadata')
  if (v.enabled !== undefined) out.enabled = checkBoolean(v.enabled, 'enabled')
  if (v.firmwareVersion !== undefined) out.firmwareVersion = checkFirmware(v.firmwareVersion)
  if (v.desiredConfig !== undefined) out.desiredConfig = checkJsonObject(v.desiredConfig, 'desiredConfig')
  return out
}

export function checkNewDevice(value: unknown): NewDevice {
  const v = checkObject(value, 'device')
  return { ...checkDevicePatch(v), id: checkId(v.id) }
}

export function checkDeviceTypePatch(value: unknown, field = 'deviceType'): DeviceTypePatch {
  const v = checkObject(value, field)
  const out: DeviceTypePatch = {}
  if (v.name !== undefined) out.name = checkName(v.name)
  if (v.telemetry !== undefined) out.telemetry = checkTelemetry(v.telemetry)
  if (v.defaultConfig !== undefined) out.defaultConfig = checkJsonObject(v.defaultConfig, 'defaultConfig')
  if (v.ingest !== undefined) out.ingest = checkIngestPolicy(v.ingest)
  if (v.retention !== undefined) out.retention = checkRetention(v.retention)
  return out
}

export function checkNewDeviceType(value: unknown): NewDeviceType {
  const v = checkObject(value, 'deviceType')
  return { ...checkDeviceTypePatch(v), id: checkId(v.id) }
}

export function checkGroupPatch(value: unknown, field = 'group'): GroupPatch {
  const v = checkObject(value, field)
  const out: GroupPatch = {}
  if (v.name !== undefined) out.name = checkName(v.name)
  if (v.description !== undefined) {
    if (typeof v.description !== 'string' || v.description.length > 2000) {
      throw new ValidationError('description', 'must be a string of at most 2000 characters')
    }
    out.description = v.description
  }
  return out
}

export function checkNewGroup(value: unknown): NewGroup {
  const v = checkObject(value, 'group')
  return { ...checkGroupPatch(v), id: checkId(v.id) }
}

export function checkExpectedVersion(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError('expectedVersion', 'must be a positive integer')
  }
  return value
}

export const DEFAULT_PAGE = 100
export const MAX_PAGE = 1000

export function checkLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_PAGE
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_PAGE) {
    throw new ValidationError('limit', `must be an integer from 1 to ${MAX_PAGE}`)
  }
  return value
}

/** Cursors are opaque to callers: the last id of the page, base64url, so they can change shape later. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(`d:${lastId}`).toString('base64url')
}

export function decodeCursor(cursor: string | null | undefined): string | null {
  if (cursor === undefined || cursor === null) return null
  const text = typeof cursor === 'string' ? Buffer.from(cursor, 'base64url').toString() : ''
  if (!text.startsWith('d:')) throw new ValidationError('cursor', 'is not a cursor this registry issued')
  return text.slice(2)
}
