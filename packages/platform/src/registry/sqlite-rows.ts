/** Rows of the SQLite schema (migrations.ts) and their mapping to model records. */
import type {
  Device,
  DeviceType,
  Group,
  IngestPolicy,
  JsonObject,
  RetentionDays,
  TelemetrySpec,
} from './model.js'

export interface DeviceRow {
  id: string
  name: string
  type_id: string | null
  metadata: string
  enabled: number
  firmware_version: string | null
  desired_config: string
  desired_config_version: number
  version: number
  created_at: string
  updated_at: string
}
export interface TypeRow {
  id: string
  name: string
  telemetry: string
  default_config: string
  ingest: string
  /** JSON, or NULL for the platform's defaults (migration 6). */
  retention: string | null
  version: number
  created_at: string
  updated_at: string
}
export interface GroupRow {
  id: string
  name: string
  description: string
  version: number
  created_at: string
  updated_at: string
}

/** A device row with its group and tag rows, gathered by the caller. */
export function toDevice(
  r: DeviceRow,
  groups: string[] | undefined,
  tags: Record<string, string> | undefined,
): Device {
  return {
    id: r.id,
    name: r.name,
    typeId: r.type_id,
    groups: groups ?? [],
    tags: tags ?? {},
    metadata: JSON.parse(r.metadata) as JsonObject,
    enabled: r.enabled === 1,
    firmwareVersion: r.firmware_version,
    desiredConfig: { version: r.desired_config_version, config: JSON.parse(r.desired_config) as JsonObject },
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

export function toType(r: TypeRow): DeviceType {
  return {
    id: r.id,
    name: r.name,
    telemetry: JSON.parse(r.telemetry) as TelemetrySpec[],
    defaultConfig: JSON.parse(r.default_config) as JsonObject,
    ingest: JSON.parse(r.ingest) as IngestPolicy,
    retention: r.retention === null ? null : (JSON.parse(r.retention) as RetentionDays),
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

export function toGroup(r: GroupRow): Group {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}
