/**
 * The inputs of a telemetry query as people and programs write them: instants as ms since the
 * epoch, ISO 8601 or `now-1h` (Grafana's relative form), durations as ms or `5m`. Parsed the
 * same way whether they come as HTTP query strings or through the TypeScript API.
 */
import { invalidQuery } from './errors.js'

/** An instant: ms since the epoch, a Date, or text (`1700000000000`, `2024-05-01T12:00:00Z`, `now-15m`). */
export type TimeInput = number | string | Date

/** A duration: ms, or text (`250`, `90s`, `5m`, `1h`, `1d`, `1w`). */
export type DurationInput = number | string

/** What the engine can hold: ±(2^51 - 1) ms. */
const MAX_INSTANT = 2 ** 51 - 1

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

const DURATION = /^(\d{1,16})(ms|s|m|h|d|w)?$/
const RELATIVE = /^now(?:([+-])(\d{1,16})(ms|s|m|h|d|w))?$/
const INTEGER = /^-?\d{1,16}$/
// A zone is required: without one JavaScript would read the time in the server's zone.
const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i

export function parseDuration(input: DurationInput, field: string): number {
  let ms: number
  if (typeof input === 'number') ms = input
  else {
    const m = DURATION.exec(typeof input === 'string' ? input.trim() : '')
    if (!m)
      throw invalidQuery(field, `${field} must be a duration: ms or a number with ms, s, m, h, d or w (5m)`)
    ms = Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] as number)
  }
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > MAX_INSTANT)
    throw invalidQuery(field, `${field} must be a whole number of ms from 1 to 2^51 - 1`)
  return ms
}

export function parseTime(input: TimeInput, now: number, field: string): number {
  let ms: number
  if (input instanceof Date) ms = input.getTime()
  else if (typeof input === 'number') ms = input
  else {
    const text = typeof input === 'string' ? input.trim() : ''
    const rel = RELATIVE.exec(text)
    if (rel) {
      const offset = rel[1] === undefined ? 0 : Number(rel[2]) * (UNIT_MS[rel[3] as string] as number)
      ms = rel[1] === '-' ? now - offset : now + offset
    } else if (INTEGER.test(text)) ms = Number(text)
    else if (ISO.test(text)) ms = Date.parse(text)
    else
      throw invalidQuery(
        field,
        `${field} must be ms since the epoch, ISO 8601 with a zone (2024-05-01T12:00:00Z) or now-<duration>`,
      )
  }
  if (!Number.isSafeInteger(ms) || Math.abs(ms) > MAX_INSTANT)
    throw invalidQuery(field, `${field} is not a whole number of ms within ±(2^51 - 1)`)
  return ms
}

export interface TimeRange {
  /** Inclusive, ms. */
  from: number
  /** Exclusive, ms. */
  to: number
}

/** Default span when `from` is left out: the last hour before `to`. */
export const DEFAULT_SPAN_MS = 3_600_000

/** [from, to): `to` defaults to now, `from` to an hour before `to`; from must be before to. */
export function resolveRange(input: { from?: TimeInput; to?: TimeInput }, now: number): TimeRange {
  const to = input.to === undefined ? now : parseTime(input.to, now, 'to')
  const from = input.from === undefined ? to - DEFAULT_SPAN_MS : parseTime(input.from, now, 'from')
  if (from >= to) throw invalidQuery('from', `from (${from}) must be before to (${to})`)
  return { from, to }
}
