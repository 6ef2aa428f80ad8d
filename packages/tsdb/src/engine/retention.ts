/**
 * Retention and the background checks: how long each retention class keeps
 * each resolution, and the timer that seals windows past their grace period
 * and drops what retention has passed.
 *
 * A retention class is a name given to a series when it is created (by its
 * device type, say: EngineOptions.retentionClassOf); each class has its own
 * partitions, so that retention drops whole files per class and resolution.
 * `retention` is the 'default' class; `retentionClasses` adds others (or
 * overrides 'default'). A tier a class does not set is kept for good.
 */
import { RETENTION_CLASS_NAME, type Tier } from '../storage/chunk-storage.js'
import { WINDOW_MS } from './head.js'

export interface RetentionOptions {
  rawMs?: number
  minuteMs?: number
  hourMs?: number
}

export const DEFAULT_CLASS = 'default'
export const TIERS: readonly Tier[] = ['raw', '1m', '1h']

export function checkClassName(name: string): string {
  if (typeof name !== 'string' || !RETENTION_CLASS_NAME.test(name)) {
    throw new RangeError(
      `a retention class name is 1-32 of a-z, 0-9 and '-', not starting or ending with '-' (got ${JSON.stringify(name)})`,
    )
  }
  return name
}

/** Each tier's retention in ms (Infinity: keep all). */
export type TierRetention = Readonly<Record<Tier, number>>

export interface RetentionConfig {
  retention?: RetentionOptions | undefined
  retentionMs?: number | undefined
  retentionClasses?: Readonly<Record<string, RetentionOptions>> | undefined
}

/** Every configured class's retention; throws RangeError on a bad name or value. */
export function retentionClasses(options: RetentionConfig): Map<string, TierRetention> {
  const out = new Map<string, TierRetention>()
  const add = (name: string, r: RetentionOptions, rawDefault?: number) => {
    const tiers = {
      raw: r.rawMs ?? rawDefault ?? Number.POSITIVE_INFINITY,
      '1m': r.minuteMs ?? Number.POSITIVE_INFINITY,
      '1h': r.hourMs ?? Number.POSITIVE_INFINITY,
    }
    for (const [tier, ms] of Object.entries(tiers)) {
      if (!(ms > 0)) {
        throw new RangeError(`retention of ${name} ${tier} must be a positive number of ms (got ${ms})`)
      }
    }
    out.set(checkClassName(name), tiers)
  }
  add(DEFAULT_CLASS, options.retention ?? {}, options.retentionMs)
  for (const [name, r] of Object.entries(options.retentionClasses ?? {})) add(name, r)
  return out
}

export interface Drop {
  readonly retentionClass: string
  readonly tier: Tier
  readonly cutoff: number
}

/** What the timer needs of the engine. */
export interface MaintenanceHost {
  /** Starts of the windows in memory. */
  windowStarts(): Iterable<number>
  /** Runs a job after those queued (seals, drops); rejects once the engine is closed. */
  serial(job: () => Promise<void>): Promise<void>
  seal(starts: number[]): Promise<void>
  drop(d: Drop): Promise<void>
  onError(err: unknown): void
}

export interface MaintenanceOptions {
  /** Tick interval in ms (> 0). */
  readonly everyMs: number
  readonly graceMs: number
  readonly now: () => number
  readonly retention: ReadonlyMap<string, TierRetention>
}

const DAY_MS = 86_400_000
const dayOf = (ts: number): number => Math.floor(ts / DAY_MS) * DAY_MS

/**
 * The timer: each tick seals the windows whose end plus grace has passed,
 * then runs each (class, tier) retention whose cut-off entered a new day
 * since it last succeeded (storage rounds it down to its partitions, so more
 * often would drop nothing more). A failed run is told to onError and tried
 * again at the next tick: a drop whose archive export failed is retried then.
 */
export class Maintenance {
  private readonly timer: NodeJS.Timeout
  private running = false
  private stopped = false
  /** Per class and tier, the day (of the cut-off) retention last ran for. */
  private readonly ran = new Map<string, number>()
  private retention: ReadonlyMap<string, TierRetention>

  constructor(
    private readonly host: MaintenanceHost,
    private readonly options: MaintenanceOptions,
  ) {
    this.retention = options.retention
    this.timer = setInterval(() => this.tick(), options.everyMs)
    this.timer.unref()
  }

  /**
   * The classes' retention from the next tick on. What each (class, tier) last ran for is kept:
   * a longer retention waits until its cut-off passes that day (nothing more to drop before
   * then), a shorter one runs at the next tick.
   */
  setRetention(retention: ReadonlyMap<string, TierRetention>): void {
    this.retention = retention
  }

  stop(): void {
    this.stopped = true
    clearInterval(this.timer)
  }

  private tick(): void {
    if (this.stopped || this.running) return
    const { graceMs, now: clock } = this.options
    const retention = this.retention
    const now = clock()
    const due = [...this.host.windowStarts()].filter((s) => s + WINDOW_MS + graceMs <= now)
    const drops: Drop[] = []
    for (const [retentionClass, tiers] of retention) {
      for (const tier of TIERS) {
        const cutoff = now - tiers[tier]
        const key = `${retentionClass}/${tier}`
        if (Number.isFinite(cutoff) && dayOf(cutoff) > (this.ran.get(key) ?? Number.NEGATIVE_INFINITY))
          drops.push({ retentionClass, tier, cutoff })
      }
    }
    if (due.length === 0 && drops.length === 0) return
    this.running = true
    this.host
      .serial(async () => {
        if (due.length > 0) await this.host.seal(due)
        // Each drop on its own: one class's failed export does not hold back the others.
        for (const d of drops) {
          try {
            await this.host.drop(d)
            this.ran.set(`${d.retentionClass}/${d.tier}`, dayOf(d.cutoff))
          } catch (err) {
            if (!this.stopped) this.host.onError(err)
          }
        }
      })
      .catch((err) => {
        if (!this.stopped) this.host.onError(err)
      })
      .finally(() => {
        this.running = false
      })
  }
}
