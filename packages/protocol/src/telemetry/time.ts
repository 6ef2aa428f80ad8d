/** Timestamps given as text: RFC 3339 date-times (the ISO 8601 profile), e.g. 2024-05-01T12:00:00.250Z. */
import { invalid, show } from './errors.js'
import { checkTimestamp } from './model.js'

// A time zone is required: a local time would mean whatever the device's clock thinks.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/

const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate()

/** Milliseconds since the epoch; sub-millisecond digits are truncated. */
export function parseDateTime(text: string, where: string): number {
  const m = RFC3339.exec(text)
  if (m === null) {
    throw invalid(
      `${where}: time ${show(text)} is not an RFC 3339 date-time such as "2024-05-01T12:00:00.250Z"`,
    )
  }
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const offsetHours = m[8] === undefined ? 0 : Number(m[9])
  const offsetMinutes = m[8] === undefined ? 0 : Number(m[10])
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHours > 23 ||
    offsetMinutes > 59
  ) {
    throw invalid(`${where}: time ${show(text)} has a field out of range`)
  }
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'))
  const sign = m[8] === '-' ? -1 : 1
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms))
  date.setUTCFullYear(year)
  return checkTimestamp(date.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000, where)
}
