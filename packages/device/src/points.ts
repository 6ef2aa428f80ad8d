/**
 * What `device.telemetry()` accepts, turned into checked TelemetryPoints. A point the
 * platform would refuse (bad metric name, time out of range, string too long...) is refused
 * here, before it enters the buffer, with the protocol's own TelemetryFormatError: one bad
 * point must not make a whole batch bounce off the platform later.
 */
import {
  DEFAULT_TELEMETRY_LIMITS,
  encodeBatch,
  TelemetryFormatError,
  type TelemetryPoint,
} from '@strata/protocol/telemetry'

export type TelemetryValue = number | boolean | string

/** One point; `ts` (ms since the epoch) defaults to the time of the call. */
export interface PointInput {
  metric: string
  value: TelemetryValue
  ts?: number
}

/** An array of points, or a record of metric → value measured at one time. */
export type TelemetryInput = readonly PointInput[] | Readonly<Record<string, TelemetryValue>>

export interface TelemetryCallOptions {
  /** Time of a record's values (ms since the epoch). Default: now. */
  ts?: number
}

/** Validates and normalizes; throws TelemetryFormatError (naming the point) and keeps nothing. */
export function toPoints(
  input: TelemetryInput,
  format: 'batch' | 'json',
  options: TelemetryCallOptions = {},
  now: number = Date.now(),
): TelemetryPoint[] {
  const points: TelemetryPoint[] = []
  if (Array.isArray(input)) {
    for (const p of input as readonly PointInput[]) {
      if (typeof p !== 'object' || p === null)
        throw new TelemetryFormatError('STRATA_TELEMETRY_INVALID', 'a point must be { metric, value, ts? }')
      points.push({ metric: p.metric, ts: p.ts ?? now, value: p.value })
    }
  } else if (typeof input === 'object' && input !== null) {
    const ts = options.ts ?? now
    for (const [metric, value] of Object.entries(input)) points.push({ metric, ts, value })
  } else {
    throw new TelemetryFormatError(
      'STRATA_TELEMETRY_INVALID',
      'telemetry takes an array of points or a record',
    )
  }
  check(points, format)
  return points
}

function check(points: readonly TelemetryPoint[], format: 'batch' | 'json'): void {
  // The batch encoder checks every rule the platform's decoders apply (metric pattern and
  // reserved segments, time range, value types, string length): reuse it as the validator,
  // in slices the encoder's point limit allows.
  const max = DEFAULT_TELEMETRY_LIMITS.maxPoints
  for (let i = 0; i < points.length; i += max) encodeBatch(points.slice(i, i + max))
  if (format === 'json') {
    for (const [i, p] of points.entries()) {
      if (p.metric === 'ts')
        throw new TelemetryFormatError(
          'STRATA_TELEMETRY_INVALID',
          `point ${i}: "ts" is not a metric name in JSON`,
        )
      if (typeof p.value === 'number' && !Number.isFinite(p.value))
        throw new TelemetryFormatError(
          'STRATA_TELEMETRY_INVALID',
          `point ${i}: ${p.value} cannot be written in JSON (use the batch format)`,
        )
    }
  }
}

/**
 * An upper bound of a point's encoded size in either format (JSON's worst case: its own
 * object with `ts`, a 24-character number, every string character escaped as `\u00XX`),
 * used for the buffer's and the batches' byte limits. It also stands for the memory a
 * queued point takes, within a small factor.
 */
export function estimatePointBytes(p: TelemetryPoint): number {
  return 56 + 2 * p.metric.length + (typeof p.value === 'string' ? 6 * p.value.length + 2 : 0)
}
