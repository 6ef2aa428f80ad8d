/**
 * The registry's data: pure types and validation, no storage (Ditto's `model` layer:
 * dependencies point toward it, never out of it). Records are plain JSON-friendly objects
 * so the HTTP API can return them as they are.
 */
import { METRIC_PATTERN } from '@strata/protocol'
import { ValidationError } from './errors.js'

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

/** Fields every stored record carries. `version` starts at 1 and grows by 1 on each update. */
export interface RecordMeta {
  version: number
  /** ISO 8601, UTC. */
  createdAt: string
  updatedAt: string
}

export interface DesiredConfig {
  /** 0 until a configuration is set; +1 each time it changes. Devices report the version they applied. */
  version: number
  config: JsonObject
}

export interface Device extends RecordMeta {
  id: string
  name: string
  typeId: string | null
  /** Group ids, sorted. */
  groups: string[]
  tags: Record<string, string>
  metadata: JsonObject
  enabled: boolean
  firmwareVersion: string | null
  desiredConfig: DesiredConfig
}

/**
 * Connection state, kept apart from Device: it changes with every connect and keep-alive,
 * so it is not part of the record's version (an ETag must not change because a device pinged)
 * and it is written in batches, not once per message (issue 3).
 */
export interface DeviceStatus {
  online: boolean
  /** ISO 8601, or null if never seen. */
  lastSeen: string | null
}

export const OFFLINE: DeviceStatus = Object.freeze({ online: false, lastSeen: null })

export const VALUE_TYPES = ['number', 'integer', 'boolean', 'string'] as const
export type ValueType = (typeof VALUE_TYPES)[number]

export interface TelemetrySpec {
  metric: string
  unit?: string
  valueType: ValueType
  /** Expected range, for number and integer metrics; values outside are accepted and flagged. */
  min?: number
  max?: number
  /**
   * An alarm metric: never sampled or shed by back-pressure (docs/topics.md), whatever the
   * type's ingest strategy. String values are treated as alarms too.
   */
  alarm?: boolean
}

/** What the platform does with a type's telemetry while storage lags (docs/topics.md, back-pressure). */
export const INGEST_STRATEGIES = ['buffer', 'sample', 'shed'] as const
export type IngestStrategy = (typeof INGEST_STRATEGIES)[number]

export interface IngestPolicy {
  /**
   * `buffer` (default): take everything, acknowledgements wait while storage lags; `sample`: keep
   * every `sampleEvery`th point per series while it lags; `shed`: drop whole messages while it
   * lags, lowest `priority` first.
   */
  strategy: IngestStrategy
  /** `sample` only: keep 1 point in this many per series while lagging. Default 10. */
  sampleEvery?: number
  /** `shed` only: 0 is shed first, 9 last. Default 5. */
  priority?: number
  /** Points of this type waiting for storage before its messages are refused. Default: the platform's `telemetry.highWaterPoints`. */
  maxQueuedPoints?: number
}

export const DEFAULT_INGEST_POLICY: Readonly<IngestPolicy> = Object.freeze({ strategy: 'buffer' })
export const DEFAULT_SAMPLE_EVERY = 10
export const DEFAULT_SHED_PRIORITY = 5
export const MAX_SAMPLE_EVERY = 10_000
export const MAX_QUEUED_POINTS = 100_000_000

/**
 * How long telemetry is kept per resolution, in days (docs/registry.md): raw points, 1-minute
 * and 1-hour rollups. A resolution not set follows the platform's `telemetry.retention`. Each
 * is independent: a finer resolution may be kept longer than a coarser one (aggregates then
 * read it instead).
 */
export interface RetentionDays {
  rawDays?: number
  minuteDays?: number
  hourDays?: number
}

export const RETENTION_FIELDS = ['rawDays', 'minuteDays', 'hourDays'] as const
/** 100 years: a bound that catches a unit mistake (ms or seconds for days), not a policy. */
export const MAX_RETENTION_DAYS = 36_500

export interface DeviceType extends RecordMeta {
  id: string
  name: string
  telemetry: TelemetrySpec[]
  defaultConfig: JsonObject
  /** Back-pressure policy; `{strategy: 'buffer'}` unless set. */
  ingest: IngestPolicy
  /** Retention of its devices' telemetry; null: the platform's `telemetry.retention`. */
  retention: RetentionDays | null
}

export interface Group extends RecordMeta {
  id: string
  name: string
  description: string
}

/** What a caller supplies to create a device; the rest is defaulted. */
export interface NewDevice {
  id: string
  name?: string
  typeId?: string | null
  groups?: string[]
  tags?: Record<string, string>
  metadata?: JsonObject
  enabled?: boolean
  firmwareVersion?: string | null
  /** Sets desiredConfig.config (version 1); without it the device starts at version 0, `{}`. */
  desiredConfig?: JsonObject
}

/** A partial update; absent fields stay. `groups`, `tags` and `metadata` are replaced whole. */
export type DevicePatch = Partial<Omit<NewDevice, 'id'>>

export interface NewDeviceType {
  id: string
  name?: string
  telemetry?: TelemetrySpec[]
  defaultConfig?: JsonObject
  /** Replaced whole by a patch. */
  ingest?: IngestPolicy
  /** Replaced whole by a patch; null (or `{}`) returns to the platform's defaults. */
  retention?: RetentionDays | null
}
export type DeviceTypePatch = Partial<Omit<NewDeviceType, 'id'>>

export interface NewGroup {
  id: string
  name?: string
  description?: string
}
export type GroupPatch = Partial<Omit<NewGroup, 'id'>>

// ---- validation -------------------------------------------------------------------------

/** Ids appear in MQTT topics (`devices/{id}/...`) and URLs: no '/', '+', '#', spaces or '$'. */
export const ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/
export const TAG_KEY_PATTERN = /^[a-zA-Z][a-zA-Z0-9._/-]{0,63}$/
/** No spaces, commas or '=': tag values must stay unambiguous inside a fleet selector. */
export const TAG_VALUE_PATTERN = /^[a-zA-Z0-9._:/@+-]{0,256}$/
/** Metric names: the same rule as the telemetry wire formats, so a profile can name every metric a device sends. */
export { METRIC_PATTERN }
export const MAX_NAME = 200
export const MAX_TAGS = 64
export const MAX_GROUPS = 64
/** Serialized size limit of metadata and configuration objects. */
export const MAX_JSON_BYTES = 64 * 1024

const show = (v: unknown): string => {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v)
  return s.length > 40 ? `${s.slice(0, 40)}…` : s
}

export function checkId(value: unknown, field = 'id'): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new ValidationError(
      field,
      `${show(value)} is not a valid id: 1 to 128 characters from a-z A-Z 0-9 . _ -, starting with a letter or digit`,
    )
  }
  return value
}

export function checkTagKey(value: unknown, field = 'tags'): string {
  if (typeof value !== 'string' || !TAG_KEY_PATTERN.test(value)) {
    throw new ValidationError(
      field,
      `${show(value)} is not a valid tag key: a letter, then up to 63 of a-z A-Z 0-9 . _ / -`,
    )
  }
  return value
}

export function checkTagValue(value: unknown, field = 'tags'): string {
  if (typeof value !== 'string' || !TAG_VALUE_PATTERN.test(value)) {
    throw new ValidationError(
      field,
      `${show(value)} is not a valid tag value: up to 256 of a-z A-Z 0-9 . _ : / @ + - (no spaces, commas or '=')`,
    )
  }
  return value
}

export function checkMetricName(value: unknown, field = 'metric'): string {
  if (typeof value !== 'string' || !METRIC_PATTERN.test(value)) {
    throw new ValidationError(
      field,
      `${show(value)} is not a valid metric name: a letter or '_', then up to 127 of a-z A-Z 0-9 _ .`,
    )
  }
  return value
}

export function checkName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || value.length > MAX_NAME || /\p{Cc}/u.test(value)) {
    throw new ValidationError(
      field,
      `must be a string of at most ${MAX_NAME} characters without control characters`,
    )
  }
  return value
}

export function checkTags(value: unknown, field = 'tags'): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, 'must be an object of string values')
  }
  const entries = Object.entries(value)
  if (entries.length > MAX_TAGS) throw new ValidationError(field, `at most ${MAX_TAGS} tags`)
  const out: Record<string, string> = {}
  for (const [k, v] of entries) {
    checkTagKey(k, field)
    out[k] = checkTagValue(v, `${field}.${k}`)
  }
  return out
}

/** Returns the ids sorted and without duplicates, so that equal sets compare equal. */
export function checkGroupIds(value: unknown, field = 'groups'): string[] {
  if (!Array.isArray(value)) throw new ValidationError(field, 'must be an array of group ids')
  if (value.length > MAX_GROUPS) throw new ValidationError(field, `at most ${MAX_GROUPS} groups`)
  return [...new Set(value.map((g, i) => checkId(g, `${field}[${i}]`)))].sort()
}

function isJson(v: unknown, depth: number): boolean {
  if (depth > 32) return false
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true
  if (typeof v === 'number') return Number.isFinite(v)
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1))
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.values(v).every((x) => isJson(x, depth + 1))
  }
  return false
}

export function checkJsonObject(value: unknown, field: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !isJson(value, 0)) {
    throw new ValidationError(field, 'must be a JSON object (finite numbers, nesting up to 32 levels)')
  }
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_JSON_BYTES) {
    throw new ValidationError(field, `must serialize to at most ${MAX_JSON_BYTES} bytes`)
  }
  return value as JsonObject
}

export function checkFirmware(value: unknown, field = 'firmwareVersion'): string | null {
  if (value === null) return null
  if (
    typeof value !== 'string' ||
    !TAG_VALUE_PATTERN.test(value) ||
    value.length === 0 ||
    value.length > 128
  ) {
    throw new ValidationError(
      field,
      `${show(value)} is not a valid firmware version: 1 to 128 of a-z A-Z 0-9 . _ : / @ + -`,
    )
  }
  return value
}

export function checkTelemetry(value: unknown, field = 'telemetry'): TelemetrySpec[] {
  if (!Array.isArray(value)) throw new ValidationError(field, 'must be an array')
  const seen = new Set<string>()
  return value.map((raw: unknown, i) => {
    const at = `${field}[${i}]`
    if (typeof raw !== 'object' || raw === null) throw new ValidationError(at, 'must be an object')
    const s = raw as Record<string, unknown>
    const metric = checkMetricName(s.metric, `${at}.metric`)
    if (seen.has(metric)) throw new ValidationError(`${at}.metric`, `metric '${metric}' is listed twice`)
    seen.add(metric)
    if (!VALUE_TYPES.includes(s.valueType as ValueType)) {
      throw new ValidationError(`${at}.valueType`, `must be one of ${VALUE_TYPES.join(', ')}`)
    }
    const spec: TelemetrySpec = { metric, valueType: s.valueType as ValueType }
    if (s.unit !== undefined) spec.unit = checkName(s.unit, `${at}.unit`)
    for (const bound of ['min', 'max'] as const) {
      const b = s[bound]
      if (b === undefined) continue
      if (typeof b !== 'number' || !Number.isFinite(b))
        throw new ValidationError(`${at}.${bound}`, 'must be a finite number')
      if (spec.valueType !== 'number' && spec.valueType !== 'integer') {
        throw new ValidationError(`${at}.${bound}`, `a range applies only to number and integer metrics`)
      }
      spec[bound] = b
    }
    if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) {
      throw new ValidationError(`${at}.min`, 'must not exceed max')
    }
    if (s.alarm !== undefined) spec.alarm = checkBoolean(s.alarm, `${at}.alarm`)
    return spec
  })
}

function checkWhole(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `must be an integer from ${min} to ${max}`)
  }
  return value
}

/** An ingest policy; each tuning field belongs to one strategy, so a misplaced one is an error, not a no-op. */
export function checkIngestPolicy(value: unknown, field = 'ingest'): IngestPolicy {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, 'must be an object like {"strategy": "buffer"}')
  }
  const v = value as Record<string, unknown>
  for (const key of Object.keys(v)) {
    if (!['strategy', 'sampleEvery', 'priority', 'maxQueuedPoints'].includes(key)) {
      throw new ValidationError(`${field}.${key}`, 'is not a field of an ingest policy')
    }
  }
  if (!INGEST_STRATEGIES.includes(v.strategy as IngestStrategy)) {
    throw new ValidationError(`${field}.strategy`, `must be one of ${INGEST_STRATEGIES.join(', ')}`)
  }
  const policy: IngestPolicy = { strategy: v.strategy as IngestStrategy }
  if (v.sampleEvery !== undefined) {
    if (policy.strategy !== 'sample') {
      throw new ValidationError(`${field}.sampleEvery`, "applies only to the strategy 'sample'")
    }
    policy.sampleEvery = checkWhole(v.sampleEvery, `${field}.sampleEvery`, 2, MAX_SAMPLE_EVERY)
  }
  if (v.priority !== undefined) {
    if (policy.strategy !== 'shed') {
      throw new ValidationError(`${field}.priority`, "applies only to the strategy 'shed'")
    }
    policy.priority = checkWhole(v.priority, `${field}.priority`, 0, 9)
  }
  if (v.maxQueuedPoints !== undefined) {
    policy.maxQueuedPoints = checkWhole(v.maxQueuedPoints, `${field}.maxQueuedPoints`, 1, MAX_QUEUED_POINTS)
  }
  return policy
}

/** A retention (null or `{}` for none: the platform's defaults); unknown fields are errors, never no-ops. */
export function checkRetention(value: unknown, field = 'retention'): RetentionDays | null {
  if (value === null) return null
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError(
      field,
      'must be an object like {"rawDays": 7, "minuteDays": 90, "hourDays": 1825}, or null',
    )
  }
  const v = value as Record<string, unknown>
  const out: RetentionDays = {}
  for (const [key, days] of Object.entries(v)) {
    if (!(RETENTION_FIELDS as readonly string[]).includes(key)) {
      throw new ValidationError(
        `${field}.${key}`,
        `is not a field of a retention (${RETENTION_FIELDS.join(', ')})`,
      )
    }
    if (days === undefined) continue
    out[key as keyof RetentionDays] = checkWhole(days, `${field}.${key}`, 1, MAX_RETENTION_DAYS)
  }
  return Object.keys(out).length === 0 ? null : out
}

export function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(field, 'must be true or false')
  return value
}
