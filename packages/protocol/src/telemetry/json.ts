/**
 * Plain JSON telemetry (`application/json`, or a telemetry topic without suffix):
 *
 *   { "ts": 1714564800000, "temperature": 21.5, "door.open": false }
 *   [ { "ts": "2024-05-01T12:00:00Z", "temperature": 21.5 }, { "temperature": 21.6 } ]
 *
 * - `ts` is milliseconds since the epoch (an integer) or an RFC 3339 date-time with a time
 *   zone; without it the point takes the caller's `receivedAt`. `ts` is therefore not a
 *   metric name in this format.
 * - Values are numbers, booleans or strings. `null` and arrays are refused, not skipped, so
 *   a device bug shows up at once.
 * - Nested objects are flattened with '.': `{"env": {"temp": 21}}` is metric `env.temp`, up
 *   to `maxDepth` levels. A flattened name that collides with a literal one
 *   (`{"a.b": 1, "a": {"b": 2}}`) is refused. Repeated keys in one object cannot be seen
 *   after JSON.parse: the last one wins, as in every JSON parser.
 * - Numbers are float64 as JSON.parse reads them; NaN and Infinity cannot be written in JSON.
 * - JSON.parse defines `__proto__` as an own property (it does not set the prototype), and
 *   names with a `__proto__` segment are refused by checkMetric: no prototype pollution.
 */
import { invalid, show, tooLarge } from './errors.js'
import {
  checkMetric,
  checkPointCount,
  checkString,
  checkTimestamp,
  parseJsonPayload,
  type TelemetryLimits,
  type TelemetryPoint,
} from './model.js'
import { parseDateTime } from './time.js'

const F = 'json'

export function decodeJson(
  payload: Uint8Array,
  receivedAt: number,
  limits: Readonly<TelemetryLimits>,
): TelemetryPoint[] {
  const doc = parseJsonPayload(payload, F, limits)
  const out: TelemetryPoint[] = []
  const names = new Set<string>()
  if (Array.isArray(doc)) {
    checkPointCount(doc.length, F, limits)
    for (let i = 0; i < doc.length; i++)
      decodeObject(doc[i], `${F}: object ${i}`, receivedAt, limits, out, names)
  } else {
    decodeObject(doc, F, receivedAt, limits, out, names)
  }
  return out
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function decodeObject(
  row: unknown,
  where: string,
  receivedAt: number,
  limits: Readonly<TelemetryLimits>,
  out: TelemetryPoint[],
  names: Set<string>,
): void {
  if (!isObject(row)) throw invalid(`${where}: expected an object of metrics, got ${show(row)}`)
  let ts = receivedAt
  const first = out.length
  let nested = false
  const keys = Object.keys(row)
  for (const key of keys) {
    const value = row[key]
    if (key === 'ts') {
      if (typeof value === 'number') ts = checkTimestamp(value, `${where}, "ts"`)
      else if (typeof value === 'string') ts = parseDateTime(value, `${where}, "ts"`)
      else throw invalid(`${where}, "ts": must be a number of ms or a date-time string, got ${show(value)}`)
    }
  }
  // The object's own `ts` applies to all its metrics, wherever it appears among the keys.
  const emit = (name: string, value: unknown, depth: number): void => {
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') {
      if (!names.has(name)) names.add(checkMetric(name, where))
      if (typeof value === 'string') checkString(value, `${where}, "${name}"`, limits)
      out.push({ metric: name, ts, value })
      if (out.length > limits.maxPoints) checkPointCount(out.length, F, limits)
    } else if (isObject(value)) {
      if (depth >= limits.maxDepth) {
        throw tooLarge(`${where}, "${name}": objects nested deeper than ${limits.maxDepth} levels`)
      }
      nested = true
      for (const k of Object.keys(value)) emit(`${name}.${k}`, value[k], depth + 1)
    } else if (value === null) {
      throw invalid(`${where}, "${name}": null is not a value (leave the metric out instead)`)
    } else {
      throw invalid(`${where}, "${name}": arrays are not values (send an array of objects, one per time)`)
    }
  }
  for (const key of keys) if (key !== 'ts') emit(key, row[key], 1)
  if (out.length === first) throw invalid(`${where}: no metrics in the object`)
  if (nested) {
    const seen = new Set<string>()
    for (let i = first; i < out.length; i++) {
      const metric = (out[i] as TelemetryPoint).metric
      if (seen.has(metric)) throw invalid(`${where}: metric "${metric}" is given twice (once flattened)`)
      seen.add(metric)
    }
  }
}
