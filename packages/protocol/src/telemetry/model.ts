/**
 * The decoded model of device telemetry, shared by every wire format (issue 4), and the
 * rules every decoder applies to it: metric names, timestamps, strings, limits.
 */
import { invalid, show, tooLarge } from './errors.js'

/**
 * One measurement. `value` keeps its type: numbers are float64 (integers within 2^53 are
 * exact), booleans stay booleans (storage keeps them exact as 0/1 with a flag), strings go
 * to the event log rather than the numeric store.
 */
export interface TelemetryPoint {
  /** A name matching {@link METRIC_PATTERN}. */
  metric: string
  /** Milliseconds since the Unix epoch, an integer in [0, {@link MAX_TIMESTAMP}]. */
  ts: number
  value: number | boolean | string
  /** The SenML unit (`u`, or the pack's `bu`), when the payload gave one; no other format carries units. */
  unit?: string
}

/**
 * Metric names: a letter or '_', then up to 127 of a-z A-Z 0-9 _ '.'. Defined here because
 * protocol is the package both the device SDK and the platform depend on; the registry's
 * copy (packages/platform/src/registry/model.ts) should import this one.
 */
export const METRIC_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_.]{0,127}$/

/**
 * Dot-separated segments no metric may have, so that code keying a plain object by metric
 * name (`totals[metric]`) cannot reach `Object.prototype` through a device's payload.
 */
const RESERVED_SEGMENT = /(?:^|\.)(?:__proto__|constructor|prototype)(?:\.|$)/

/** 9999-12-31T23:59:59.999Z: the last instant an ISO 8601 four-digit year can name. */
export const MAX_TIMESTAMP = 253_402_300_799_999

export interface TelemetryLimits {
  /** Largest payload in bytes, for every format (the CBOR size limit included). Default 1 MiB. */
  maxBytes: number
  /** Most points one message may carry. Default 10,000. */
  maxPoints: number
  /** Longest string value, in UTF-16 code units (JavaScript `length`). Default 4,096. */
  maxStringLength: number
  /** Deepest nesting of objects inside one JSON object (its values at depth 1). Default 4. */
  maxDepth: number
}

export const DEFAULT_TELEMETRY_LIMITS: Readonly<TelemetryLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxPoints: 10_000,
  maxStringLength: 4096,
  maxDepth: 4,
})

export function resolveLimits(limits: Partial<TelemetryLimits> | undefined): Readonly<TelemetryLimits> {
  if (limits === undefined) return DEFAULT_TELEMETRY_LIMITS
  const out = { ...DEFAULT_TELEMETRY_LIMITS, ...limits }
  for (const [key, value] of Object.entries(out)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`limits.${key} must be a positive integer`)
  }
  return Object.freeze(out)
}

/** Throws unless `name` is a metric name; `where` prefixes the message ("json: object 2"). */
export function checkMetric(name: string, where: string): string {
  if (!METRIC_PATTERN.test(name)) {
    throw invalid(
      `${where}: ${show(name)} is not a valid metric name: a letter or '_', then up to 127 of a-z A-Z 0-9 _ .`,
    )
  }
  if (RESERVED_SEGMENT.test(name)) {
    throw invalid(
      `${where}: metric name ${show(name)} uses a reserved segment (__proto__, constructor, prototype)`,
    )
  }
  return name
}

export function checkTimestamp(ts: number, where: string): number {
  if (!Number.isSafeInteger(ts) || ts < 0 || ts > MAX_TIMESTAMP) {
    throw invalid(`${where}: time ${show(ts)} is not an integer number of ms between 1970 and 9999`)
  }
  return ts
}

/** Lone surrogates: in `u` mode a paired surrogate is one code point, so only lone ones match. */
const LONE_SURROGATE = /\p{Cs}/u

export function checkString(value: string, where: string, limits: Readonly<TelemetryLimits>): string {
  if (value.length > limits.maxStringLength) {
    throw tooLarge(
      `${where}: string of ${value.length} characters is over the limit of ${limits.maxStringLength}`,
    )
  }
  if (LONE_SURROGATE.test(value)) throw invalid(`${where}: string has a lone UTF-16 surrogate`)
  return value
}

export function checkPointCount(count: number, where: string, limits: Readonly<TelemetryLimits>): void {
  if (count > limits.maxPoints) {
    throw tooLarge(`${where}: more than ${limits.maxPoints} points in one message`)
  }
}

export function checkSize(payload: Uint8Array, where: string, limits: Readonly<TelemetryLimits>): void {
  if (payload.byteLength > limits.maxBytes) {
    throw tooLarge(`${where}: payload of ${payload.byteLength} bytes is over the limit of ${limits.maxBytes}`)
  }
}

/** A JSON payload (JSON and SenML JSON): size checked, strict UTF-8, then parsed. */
export function parseJsonPayload(
  payload: Uint8Array,
  where: string,
  limits: Readonly<TelemetryLimits>,
): unknown {
  checkSize(payload, where, limits)
  const text = decodeUtf8(payload, where)
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw invalid(`${where}: not JSON (${(cause as Error).message})`, cause)
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const utf8KeepBom = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Strict UTF-8 to string. A leading BOM is dropped (a document's), or kept with `keepBom` (a value's). */
export function decodeUtf8(bytes: Uint8Array, where: string, keepBom = false): string {
  try {
    return (keepBom ? utf8KeepBom : utf8).decode(bytes)
  } catch (cause) {
    throw invalid(`${where}: not valid UTF-8`, cause)
  }
}
