/**
 * The registry's storage contract. The embedded implementation is SQLite
 * (sqlite-repository.ts); PostgreSQL will implement the same interface and pass the same
 * suite (test/registry/repository-suite.ts). Promise-based with an AbortSignal from the start,
 * so a networked implementation can cancel; an aborted call rejects with the signal's reason.
 *
 * Concurrency is optimistic: every record has a `version` (1 at creation, +1 per update).
 * Updates name the version they were computed from and fail with ConflictError if the record
 * moved on; the HTTP API turns `version` into an ETag and If-Match into `expectedVersion`.
 */
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
import type { Selector } from './selector.js'

export interface CallOptions {
  signal?: AbortSignal
}

export interface DeviceQuery {
  /** A selector string (parsed, SelectorError if bad) or a parsed Selector. Default: every device. */
  selector?: string | Selector
  /** Page size, 1..1000. Default 100. */
  limit?: number
  /** `nextCursor` of the previous page. Pages are in id order, so a device inserted or removed between pages neither repeats nor shifts others. */
  cursor?: string | null
}

export interface Page<T> {
  items: T[]
  /** null on the last page. */
  nextCursor: string | null
}

export interface StatusUpdate extends DeviceStatus {
  deviceId: string
}

export interface RegistryRepository {
  createDevice(input: NewDevice, options?: CallOptions): Promise<Device>
  /** All or nothing, one transaction: for bulk imports and provisioning batches. */
  createDevices(inputs: readonly NewDevice[], options?: CallOptions): Promise<Device[]>
  getDevice(id: string, options?: CallOptions): Promise<Device>
  updateDevice(
    id: string,
    patch: DevicePatch,
    expectedVersion: number,
    options?: CallOptions,
  ): Promise<Device>
  /** Without `expectedVersion` the delete is unconditional. */
  deleteDevice(id: string, expectedVersion?: number, options?: CallOptions): Promise<void>
  listDevices(query?: DeviceQuery, options?: CallOptions): Promise<Page<Device>>
  countDevices(selector?: string | Selector, options?: CallOptions): Promise<number>

  /**
   * Records connection status in one batch. The broker's status tracker calls this every few
   * seconds with what changed, never once per message. Unknown device ids are ignored
   * (a device deleted while connected). Does not change the device's version.
   */
  recordStatus(updates: readonly StatusUpdate[], options?: CallOptions): Promise<void>
  /** OFFLINE for a device never seen; NotFoundError for an unknown device. */
  getStatus(id: string, options?: CallOptions): Promise<DeviceStatus>

  createDeviceType(input: NewDeviceType, options?: CallOptions): Promise<DeviceType>
  getDeviceType(id: string, options?: CallOptions): Promise<DeviceType>
  updateDeviceType(
    id: string,
    patch: DeviceTypePatch,
    expectedVersion: number,
    options?: CallOptions,
  ): Promise<DeviceType>
  /** InUseError while devices have this type. */
  deleteDeviceType(id: string, expectedVersion?: number, options?: CallOptions): Promise<void>
  listDeviceTypes(options?: CallOptions): Promise<DeviceType[]>

  createGroup(input: NewGroup, options?: CallOptions): Promise<Group>
  getGroup(id: string, options?: CallOptions): Promise<Group>
  updateGroup(id: string, patch: GroupPatch, expectedVersion: number, options?: CallOptions): Promise<Group>
  /** Removes the group from its members, which counts as an update of each (version +1). */
  deleteGroup(id: string, expectedVersion?: number, options?: CallOptions): Promise<void>
  listGroups(options?: CallOptions): Promise<Group[]>

  close(): Promise<void>
}
