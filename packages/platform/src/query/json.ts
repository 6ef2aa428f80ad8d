/**
 * Telemetry values as JSON text, exact: the engine keeps any float64 bit for bit, and a reader
 * must get back the number a device sent. JavaScript's shortest round-trip formatting is exact for
 * finite numbers; JSON.stringify would lose the sign of -0 and turn NaN and the infinities into
 * null, so those are written as `-0` (valid JSON, which JSON.parse reads back as -0) and as the
 * strings "NaN", "Infinity" and "-Infinity" (as Prometheus' API does). Only a NaN's payload bits
 * are not kept: every NaN reads back as the one NaN.
 */

/** JSON text of one value. */
export function jsonNumber(v: number): string {
  if (Number.isFinite(v)) return v === 0 && 1 / v < 0 ? '-0' : String(v)
  return Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"'
}

/** JSON array text of `values[from, to)`. */
export function jsonNumbers(values: ArrayLike<number>, from = 0, to = values.length): string {
  let out = '['
  for (let i = from; i < to; i++) {
    if (i > from) out += ','
    out += jsonNumber(values[i] as number)
  }
  return `${out}]`
}

/** A value as the JSON API shows it (a number, or a string for NaN and the infinities). */
export type JsonValue = number | 'NaN' | 'Infinity' | '-Infinity'

/** The inverse of jsonNumber, for clients: a parsed JSON value back to its float64. */
export function fromJsonValue(v: JsonValue): number {
  return typeof v === 'number' ? v : Number(v)
}
