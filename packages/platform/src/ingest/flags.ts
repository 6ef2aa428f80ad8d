/**
 * Flagged telemetry: points that do not fit their device type's profile (an unknown metric, the
 * wrong value type, out of range) are stored anyway (a wrong profile must not lose data) and
 * flagged: counted per type and reason, remembered per type (the most recent few, for the API),
 * and told to the device on `devices/{id}/errors`.
 *
 * The events are rate-limited, so that a misconfigured fleet cannot flood the broker with them:
 * at most one per (device, metric, reason) per minute, at most `perDevicePerMinute` per device,
 * and at most `maxTracked` (device, metric, reason) keys remembered; past that, events are
 * suppressed (counted) until the minute's keys expire. Counts are never suppressed.
 */
import type { FlagReason } from './profiles.js'

/** Codes of the events the ingest pipeline sends on `devices/{id}/errors` (docs/errors.md). */
export const INGEST_ERROR_CODES = ['STRATA_TELEMETRY_FLAGGED'] as const

export interface FlagEvent {
  source: string
  code: (typeof INGEST_ERROR_CODES)[number]
  reason: FlagReason
  metric: string
  message: string
}

export interface RecentFlag {
  metric: string
  reason: FlagReason
  /** Points flagged for this (metric, reason) since it was first remembered. */
  points: number
  lastDeviceId: string
  /** ISO 8601. */
  lastAt: string
}

export interface TypeFlags {
  /** Flagged points by reason. */
  points: Record<FlagReason, number>
  /** Most recent first, at most `recentPerType`. */
  recent: RecentFlag[]
}

export interface FlagTrackerOptions {
  /** Publishes one event to the device (QoS 0, never awaited). */
  publish(deviceId: string, event: FlagEvent): void
  /** Counted as `strata_telemetry_flagged_total`. */
  onFlag?(typeId: string, reason: FlagReason, points: number): void
  /** Counted as `strata_telemetry_flag_events_total{outcome}`. */
  onEvent?(outcome: 'published' | 'suppressed'): void
  now?: () => number
  perDevicePerMinute?: number
  maxTracked?: number
  recentPerType?: number
}

const MINUTE = 60_000

export class FlagTracker {
  readonly #o: FlagTrackerOptions
  readonly #now: () => number
  readonly #perDevice: number
  readonly #maxTracked: number
  readonly #recentPerType: number
  /** (device, metric, reason) → time of its last event. */
  readonly #lastEvent = new Map<string, number>()
  /** device → [window start, events in the window]. */
  readonly #deviceWindow = new Map<string, [number, number]>()
  readonly #byType = new Map<
    string,
    { points: Record<FlagReason, number>; recent: Map<string, RecentFlag> }
  >()
  #lastSweep = 0

  constructor(options: FlagTrackerOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
    this.#perDevice = options.perDevicePerMinute ?? 10
    this.#maxTracked = options.maxTracked ?? 100_000
    this.#recentPerType = options.recentPerType ?? 20
  }

  /** `points` points of one message share this (metric, reason). */
  flag(
    typeId: string,
    deviceId: string,
    metric: string,
    reason: FlagReason,
    points: number,
    source: string,
    detail: string,
  ): void {
    const now = this.#now()
    let t = this.#byType.get(typeId)
    if (!t) {
      t = { points: { unknown_metric: 0, wrong_type: 0, out_of_range: 0 }, recent: new Map() }
      this.#byType.set(typeId, t)
    }
    t.points[reason] += points
    const recentKey = `${metric}\0${reason}`
    const prev = t.recent.get(recentKey)
    // Delete and set: the Map's order is recency, so the first entry is the one to evict.
    t.recent.delete(recentKey)
    t.recent.set(recentKey, {
      metric,
      reason,
      points: (prev?.points ?? 0) + points,
      lastDeviceId: deviceId,
      lastAt: new Date(now).toISOString(),
    })
    if (t.recent.size > this.#recentPerType) {
      const oldest = t.recent.keys().next().value
      if (oldest !== undefined) t.recent.delete(oldest)
    }
    this.#o.onFlag?.(typeId, reason, points)
    this.#maybePublish(now, deviceId, metric, reason, source, detail)
  }

  #maybePublish(
    now: number,
    deviceId: string,
    metric: string,
    reason: FlagReason,
    source: string,
    detail: string,
  ): void {
    if (now - this.#lastSweep >= MINUTE) this.#sweep(now)
    const key = `${deviceId}\0${metric}\0${reason}`
    const last = this.#lastEvent.get(key)
    if (last !== undefined && now - last < MINUTE) return
    const window = this.#deviceWindow.get(deviceId)
    const inWindow = window !== undefined && now - window[0] < MINUTE
    if ((inWindow && window[1] >= this.#perDevice) || this.#lastEvent.size >= this.#maxTracked) {
      this.#o.onEvent?.('suppressed')
      return
    }
    this.#lastEvent.set(key, now)
    if (inWindow) window[1]++
    else this.#deviceWindow.set(deviceId, [now, 1])
    this.#o.onEvent?.('published')
    this.#o.publish(deviceId, { source, code: 'STRATA_TELEMETRY_FLAGGED', reason, metric, message: detail })
  }

  /** Forgets what is more than a minute old: the maps hold at most a minute of keys. */
  #sweep(now: number): void {
    this.#lastSweep = now
    for (const [k, at] of this.#lastEvent) if (now - at >= MINUTE) this.#lastEvent.delete(k)
    for (const [k, w] of this.#deviceWindow) if (now - w[0] >= MINUTE) this.#deviceWindow.delete(k)
  }

  /** Flag counts and the most recent flagged metrics, per device type. */
  snapshot(): Record<string, TypeFlags> {
    const out: Record<string, TypeFlags> = {}
    for (const [type, t] of this.#byType) {
      out[type] = { points: { ...t.points }, recent: [...t.recent.values()].reverse() }
    }
    return out
  }
}
