/**
 * The embedded storage's partition files, one set per tier: their calendar
 * (a UTC day for raw chunks, a month for 1-minute rollups, a year for 1-hour
 * rollups), their names, and the open handles. Retention removes a file
 * whole (with its -wal and -shm), so dropping old data never rewrites
 * anything.
 *
 * Each retention class has its own files: `chunks-YYYYMMDD.db` for the
 * 'default' class (the names from before classes, so existing data stays
 * readable), `chunks-<class>-YYYYMMDD.db` for another; the same for the
 * rollup files.
 *
 * Why those sizes: a raw day is 1-8 MB per 100 series at 1 s; a month of
 * 1-minute rollups and a year of 1-hour ones are of the same order, so files
 * stay few and queries over long ranges open a handful of them.
 */
import { readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  DEFAULT_RETENTION_CLASS,
  type PartitionInfo,
  RETENTION_CLASS_NAME,
  type Tier,
} from './chunk-storage.js'

export const DAY_MS = 86_400_000

export interface Calendar {
  /** The start of the partition holding `ts`. */
  start(ts: number): number
  /** The start of the next partition. */
  next(start: number): number
  fileName(start: number): string
  /** The partition start a file name stands for, or undefined if it is not one of these files. */
  parse(name: string): number | undefined
}

function yearText(d: Date): string {
  const y = d.getUTCFullYear()
  return (y < 0 ? '-' : '') + String(Math.abs(y)).padStart(4, '0')
}
const two = (n: number) => String(n).padStart(2, '0')

function utc(year: number, month: number, day: number): number {
  // Date.UTC maps years 0-99 to 1900-1999: set the year on a Date instead.
  const d = new Date(0)
  d.setUTCFullYear(year, month, day)
  return d.getTime()
}

function calendar(
  prefix: string,
  digits: number,
  start: (d: Date) => number,
  next: (d: Date) => number,
  fields: (d: Date) => string,
  fromFields: (y: number, rest: string) => number,
): Calendar {
  const pattern = new RegExp(`^${prefix}-(-?\\d{4,6})(\\d{${digits}})\\.db$`)
  return {
    start: (ts) => start(new Date(ts)),
    next: (s) => next(new Date(s)),
    fileName: (s) => {
      const d = new Date(s)
      return `${prefix}-${yearText(d)}${fields(d)}.db`
    },
    parse: (name) => {
      const m = pattern.exec(name)
      return m === null ? undefined : fromFields(Number(m[1]), m[2] as string)
    },
  }
}

const PREFIX: Record<Tier, string> = { raw: 'chunks', '1m': 'rollup-1m', '1h': 'rollup-1h' }

function calendarOf(tier: Tier, prefix: string): Calendar {
  switch (tier) {
    case 'raw':
      return calendar(
        prefix,
        4,
        (d) => Math.floor(d.getTime() / DAY_MS) * DAY_MS,
        (d) => d.getTime() + DAY_MS,
        (d) => two(d.getUTCMonth() + 1) + two(d.getUTCDate()),
        (y, md) => utc(y, Number(md.slice(0, 2)) - 1, Number(md.slice(2))),
      )
    case '1m':
      return calendar(
        prefix,
        2,
        (d) => utc(d.getUTCFullYear(), d.getUTCMonth(), 1),
        (d) => utc(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
        (d) => two(d.getUTCMonth() + 1),
        (y, m) => utc(y, Number(m) - 1, 1),
      )
    case '1h':
      return calendar(
        prefix,
        0,
        (d) => utc(d.getUTCFullYear(), 0, 1),
        (d) => utc(d.getUTCFullYear() + 1, 0, 1),
        () => '',
        (y) => utc(y, 0, 1),
      )
  }
}

/** The 'default' class's calendars. */
export const CALENDARS: Readonly<Record<Tier, Calendar>> = {
  raw: calendarOf('raw', PREFIX.raw),
  '1m': calendarOf('1m', PREFIX['1m']),
  '1h': calendarOf('1h', PREFIX['1h']),
}

const classCalendars = new Map<string, Calendar>()

/** A class's calendar for a tier: its file names carry the class, unless it is 'default'. */
export function classCalendar(tier: Tier, retentionClass: string): Calendar {
  if (retentionClass === DEFAULT_RETENTION_CLASS) return CALENDARS[tier]
  const key = `${tier}/${retentionClass}`
  let cal = classCalendars.get(key)
  if (cal === undefined) {
    cal = calendarOf(tier, `${PREFIX[tier]}-${retentionClass}`)
    classCalendars.set(key, cal)
  }
  return cal
}

const PREFIXES = Object.entries(PREFIX) as [Tier, string][]

/** The classes (other than 'default') that have partition files in `dir`. */
export function classesIn(dir: string): string[] {
  const out = new Set<string>()
  for (const name of readdirSync(dir)) {
    for (const [tier, prefix] of PREFIXES) {
      if (!name.startsWith(`${prefix}-`) || CALENDARS[tier].parse(name) !== undefined) continue
      // `<prefix>-<class>-<date>.db`: the class may hold '-', so try each split (the shortest that parses).
      const rest = name.slice(prefix.length + 1)
      for (let i = rest.indexOf('-'); i > 0; i = rest.indexOf('-', i + 1)) {
        const cls = rest.slice(0, i)
        if (RETENTION_CLASS_NAME.test(cls) && classCalendar(tier, cls).parse(name) !== undefined) {
          out.add(cls)
          break
        }
      }
    }
  }
  out.delete(DEFAULT_RETENTION_CLASS)
  return [...out].sort()
}

/** One tier's files in a directory: which exist, and handles opened on demand. */
export class PartitionFiles<F extends { close(): void }> {
  private readonly handles = new Map<number, F>()
  /** Partition starts with a file, ascending. */
  private list: number[]

  readonly calendar: Calendar

  constructor(
    private readonly dir: string,
    readonly tier: Tier,
    private readonly openFile: (path: string, start: number, exists: boolean) => F,
    readonly retentionClass: string = DEFAULT_RETENTION_CLASS,
  ) {
    const cal = classCalendar(tier, retentionClass)
    this.calendar = cal
    this.list = []
    for (const name of readdirSync(dir)) {
      const start = cal.parse(name)
      if (start !== undefined) this.list.push(start)
    }
    this.list.sort((a, b) => a - b)
  }

  get starts(): readonly number[] {
    return this.list
  }

  has(start: number): boolean {
    return this.list.includes(start)
  }

  /** Starts of the partitions overlapping [from, to). */
  overlapping(from: number, to: number): number[] {
    return this.list.filter((s) => this.calendar.next(s) > from && s < to)
  }

  /** The file of the partition starting at `start`, created if `create`. */
  get(start: number, create: boolean): F {
    let f = this.handles.get(start)
    if (f !== undefined) return f
    const exists = this.has(start)
    if (!exists && !create) throw new Error(`no ${this.tier} partition starting at ${start}`)
    f = this.openFile(join(this.dir, this.calendar.fileName(start)), start, exists)
    this.handles.set(start, f)
    if (!exists) {
      this.list.push(start)
      this.list.sort((a, b) => a - b)
    }
    return f
  }

  /** Deletes every partition that ends at or before `horizon`; returns what was deleted. */
  dropBefore(horizon: number): PartitionInfo[] {
    const dropped: PartitionInfo[] = []
    for (const start of this.list.filter((s) => this.calendar.next(s) <= horizon)) {
      dropped.push(this.info(start))
      this.handles.get(start)?.close()
      this.handles.delete(start)
      this.list = this.list.filter((s) => s !== start)
      const path = join(this.dir, this.calendar.fileName(start))
      for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
    }
    return dropped
  }

  info(start: number): PartitionInfo {
    const name = this.calendar.fileName(start)
    let bytes = 0
    for (const suffix of ['', '-wal']) {
      try {
        bytes += statSync(join(this.dir, name + suffix)).size
      } catch {}
    }
    return {
      start,
      end: this.calendar.next(start),
      bytes,
      name,
      tier: this.tier,
      retentionClass: this.retentionClass,
    }
  }

  close(): void {
    for (const f of this.handles.values()) f.close()
    this.handles.clear()
  }
}
