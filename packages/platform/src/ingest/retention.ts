/**
 * Retention per device type (issue 4), mapped onto the engine's retention classes.
 *
 * The engine gives each series a class when the series is first written, and drops each class's
 * partitions whole by that class's horizons (packages/tsdb/src/engine/retention.ts). Here: a
 * device whose type sets a retention gets the type's class; any other device gets 'default',
 * which follows `telemetry.retention`. A resolution a type leaves out follows
 * `telemetry.retention` too.
 *
 * The class is decided once per series, so a device that changes type keeps its existing
 * series' class, and a type that gains a retention applies it to series created from then on
 * (moving stored series between classes would mean rewriting their partitions). A class whose
 * type dropped its retention, or was deleted, still holds series: it follows the defaults,
 * never "keep everything" by accident.
 */
import { createHash } from 'node:crypto'
import type { RetentionOptions } from '@strata/tsdb'
import type { DeviceType, RetentionDays } from '../registry/model.js'

export const DEFAULT_RETENTION_CLASS = 'default'
const DAY_MS = 86_400_000
/** Of the 32 characters a class name may have: prefix, '-', then the hash. */
const PREFIX_CHARS = 20
const HASH_CHARS = 10

/**
 * The engine's class name of a device type: the id lower-cased with runs of other characters as
 * '-' (readable in file names), cut to 20, then 10 hex digits of the id's SHA-256. Deterministic
 * (the same type maps to the same class after a restart), within the engine's rule (1-32 of
 * a-z 0-9 '-', not first or last), never 'default', and ids that read the same once lower-cased
 * ('Pump', 'pump') or cut still differ by their hash (2^-40 chance of a clash per pair).
 */
export function retentionClassName(typeId: string): string {
  const hash = createHash('sha256').update(typeId).digest('hex').slice(0, HASH_CHARS)
  const prefix = typeId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, PREFIX_CHARS)
    .replace(/^-+|-+$/g, '')
  return prefix === '' ? hash : `${prefix}-${hash}`
}

/** Days as the engine's durations; a resolution set in neither keeps everything. */
export function retentionMs(days: RetentionDays, defaults: RetentionDays = {}): RetentionOptions {
  const ms = (d: number | undefined): number | undefined => (d === undefined ? undefined : d * DAY_MS)
  const out: RetentionOptions = {}
  const raw = ms(days.rawDays ?? defaults.rawDays)
  const minute = ms(days.minuteDays ?? defaults.minuteDays)
  const hour = ms(days.hourDays ?? defaults.hourDays)
  if (raw !== undefined) out.rawMs = raw
  if (minute !== undefined) out.minuteMs = minute
  if (hour !== undefined) out.hourMs = hour
  return out
}

/** What the platform keeps of device types for retention: which have one, and every class in use. */
export class TypeRetention {
  /** Class and retention of each type that sets one. */
  readonly #types = new Map<string, { name: string; days: RetentionDays }>()
  /** Classes other than 'default' that may hold series: given a retention in this run, or found in storage. */
  readonly #known = new Set<string>()
  #apply: ((classes: Record<string, RetentionOptions>) => void) | undefined

  constructor(private readonly defaults: Readonly<RetentionDays>) {}

  /** A type created, updated (`type`) or deleted (null). */
  set(id: string, type: DeviceType | null): void {
    const days = type?.retention ?? null
    if (days === null) this.#types.delete(id)
    else {
      const name = retentionClassName(id)
      this.#types.set(id, { name, days })
      this.#known.add(name)
    }
    this.#apply?.(this.engineClasses())
  }

  /** Classes found in storage (their type may be gone): they follow the defaults unless a type claims them. */
  addKnown(names: Iterable<string>): void {
    for (const n of names) if (n !== DEFAULT_RETENTION_CLASS) this.#known.add(n)
  }

  /** The class of a new series of a device of type `typeId`. */
  classOf(typeId: string | null): string {
    return (typeId === null ? undefined : this.#types.get(typeId)?.name) ?? DEFAULT_RETENTION_CLASS
  }

  /** The engine's `retentionClasses`: each type's class, and every other known class at the defaults. */
  engineClasses(): Record<string, RetentionOptions> {
    const out: Record<string, RetentionOptions> = {}
    for (const name of this.#known) out[name] = retentionMs(this.defaults)
    for (const { name, days } of this.#types.values()) out[name] = retentionMs(days, this.defaults)
    return out
  }

  /** The 'default' class's retention (the engine's `retention`). */
  defaultRetention(): RetentionOptions {
    return retentionMs(this.defaults)
  }

  /** Called with the classes now and after every change (the engine's setRetentionClasses). */
  applyTo(apply: (classes: Record<string, RetentionOptions>) => void): void {
    this.#apply = apply
    apply(this.engineClasses())
  }
}
