/**
 * The telemetry pipeline: what happens to a device's telemetry message whatever carried it (the
 * broker's ingest hook for MQTT, `POST /api/devices/{id}/telemetry` for HTTP). A message is decoded whole
 * (docs/topics.md) or refused whole. Its points are checked against the device type's profile
 * (profiles.ts; misfits are stored and flagged, flags.ts), then back-pressure decides what is
 * stored: numbers go to the time-series engine, strings to the event log (event-log.ts), and the
 * sender's acknowledgement (PUBACK, HTTP 2xx) waits until both are durable. The delivery ledger
 * counts every stage, so nothing is dropped silently.
 *
 * Back-pressure (docs/topics.md, "Back-pressure"). The pipeline counts the points it handed to
 * storage that are not durable yet, in total and per device type. Storage *lags* while that total
 * is above the high-water mark, or while the oldest write has waited longer than `lagLatencyMs`;
 * it stops lagging once the total is back under 3/4 of the mark (hysteresis, so the state does not
 * flap at every commit). While it lags, each device type's strategy applies:
 *
 * - buffer: everything is stored; the acknowledgement of a message taken while lagging also waits
 *   until the lag is over, which slows MQTT 5 publishers through Receive Maximum;
 * - sample: every `sampleEvery`th point per series is stored, the others counted `sampled`;
 * - shed: whole messages are dropped (`shed`), lowest priority first: priority p is shed while the
 *   queue is at or above (1 + p/10) × the mark.
 *
 * Whatever the strategy, a type whose own queue is at its `maxQueuedPoints`, or any type while the
 * total is at twice the mark, has its messages dropped: QoS 0 shed, QoS 1/2 and HTTP refused
 * (`busy`: PUBACK 0x97, HTTP 429) so the sender keeps them. String events and alarm metrics are
 * never sampled or shed: a message carrying them is taken with those points and acknowledged.
 */
import type { Logger } from '@strata/broker'
import {
  decodeTelemetry,
  type TelemetryFormat,
  TelemetryFormatError,
  type TelemetryPoint,
} from '@strata/protocol'
import type { EnginePoint } from '@strata/tsdb'
import type { IngestStrategy } from '../registry/model.js'
import type { EventStore, TelemetryEvent } from './event-log.js'
import type { FlagTracker, TypeFlags } from './flags.js'
import { type DeliveryLedger, type LedgerCounts, UNTYPED } from './ledger.js'
import { type CompiledProfile, checkPoint, type FlagReason, isProtected } from './profiles.js'

/** One telemetry message from one authenticated device. */
export interface TelemetrySubmission {
  readonly deviceId: string
  readonly format: TelemetryFormat
  readonly payload: Uint8Array
  /**
   * Whether the sender waits for an acknowledgement (MQTT QoS 1/2, HTTP): counted `acknowledged`
   * once durable. QoS 0 is best effort.
   */
  readonly acknowledged: boolean
  /**
   * Whether the sender can be told "not now" (HTTP 429, MQTT 5 PUBACK 0x97). Default true. MQTT
   * 3.1.1 cannot: a refusal there is a plain PUBACK, so the pipeline never answers `busy` to it:
   * a buffer type's message is taken and its acknowledgement held instead (the broker then stops
   * reading that connection after `maxInflight` unacknowledged messages), a sample or shed type's
   * is dropped and counted as that strategy's explicit choice.
   */
  readonly refusable?: boolean
  /**
   * Whether the acknowledgement may be held while storage lags (a buffer type's back-pressure).
   * Default true: an MQTT publisher is slowed by its Receive Maximum. HTTP sets false: a held
   * response would only time out and be retried, so it gets `busy` (429 Retry-After) instead.
   */
  readonly holdable?: boolean
  /** Where it came from, for logs and the device's error event (an MQTT topic, an HTTP path). */
  readonly source: string
}

export type SubmitResult =
  /** Bad payload: nothing was stored. The device was told on `devices/{id}/errors`. */
  | { readonly kind: 'refused'; readonly error: TelemetryFormatError }
  /** Storage is behind and this message was not taken: retry after the delay (HTTP 429, PUBACK 0x97). */
  | { readonly kind: 'busy'; readonly retryAfterMs: number; readonly reason: string }
  /**
   * Taken: `durable` resolves once every point taken is durable (and, for a buffer type while
   * storage lags, once the lag is over). `points` were taken for storage; `dropped` were sampled
   * or shed by back-pressure (0 unless storage lags).
   */
  | {
      readonly kind: 'accepted'
      readonly points: number
      readonly dropped: number
      readonly durable: Promise<void>
    }

/** Where numeric points go: the time-series engine (a `TimeSeriesEngine` is one). */
export interface NumericStore {
  /** Resolves once the points are durable in the write-ahead log. */
  write(points: readonly EnginePoint[]): Promise<void>
}

export interface BackPressureOptions {
  /** Points queued for storage above which storage lags. Default 500,000. */
  highWaterPoints: number
  /** Storage also lags while a write has waited longer than this (ms); 0 = off. Default 2,000. */
  lagLatencyMs: number
}

export const DEFAULT_BACK_PRESSURE: Readonly<BackPressureOptions> = Object.freeze({
  highWaterPoints: 500_000,
  lagLatencyMs: 2_000,
})

/** Suggested retry delay of a `busy` answer. */
const RETRY_AFTER_MS = 1_000
/** How often the oldest write's age is checked while writes are pending. */
const LATENCY_CHECK_MS = 200
/** Per-series sample counters kept at most (they are cleared when the lag ends). */
const MAX_SAMPLE_COUNTERS = 1_000_000

export interface TelemetryPipelineOptions {
  engine: NumericStore
  events: EventStore
  ledger: DeliveryLedger
  logger: Logger
  /** A device's type id (for the ledger's labels), cached by the caller. */
  typeOf(deviceId: string): string | null
  /** The device type's compiled profile (spec and ingest policy); undefined: no checks, buffer. */
  profileOf?(typeId: string | null): CompiledProfile | undefined
  /** Records flagged points and tells the device (rate-limited). */
  flags?: FlagTracker
  /** Publishes a rejection event to the device (never awaited by the sender's ack). */
  publishError(deviceId: string, payload: Buffer): void
  backPressure?: Partial<BackPressureOptions>
  now?: () => number
}

/** The queue and lag state, for /metrics and the ledger route. */
export interface PipelineState {
  lagging: boolean
  /** Points handed to storage and not durable yet. */
  queuedPoints: number
  queuedByType: Record<string, number>
  /** Messages whose acknowledgement waits for the lag to end (buffer types). */
  heldMessages: number
  /** Age of the oldest write not durable yet, ms (0 if none). */
  oldestWriteMs: number
  highWaterPoints: number
  lagLatencyMs: number
}

/** GET /api/telemetry/ledger: where every device type's telemetry went. */
export interface LedgerReport extends PipelineState {
  total: LedgerCounts
  byType: Record<
    string,
    { ledger: LedgerCounts; queuedPoints: number; strategy: IngestStrategy; flagged?: TypeFlags }
  >
}

export class TelemetryPipeline {
  readonly #options: TelemetryPipelineOptions
  readonly #now: () => number
  readonly #high: number
  readonly #low: number
  readonly #lagLatencyMs: number
  #queued = 0
  readonly #queuedByType = new Map<string, number>()
  /** Writes not durable yet, by id, in start order: the first is the oldest. */
  readonly #writes = new Map<number, number>()
  #nextWrite = 0
  #lagging = false
  #lagEnded: { promise: Promise<void>; resolve: () => void } | undefined
  #held = 0
  #latencyTimer: NodeJS.Timeout | undefined
  /** Per-series counters of sample types while lagging. */
  readonly #sampleCounters = new Map<string, number>()

  constructor(options: TelemetryPipelineOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    const bp = { ...DEFAULT_BACK_PRESSURE, ...options.backPressure }
    this.#high = bp.highWaterPoints
    this.#low = Math.floor((bp.highWaterPoints * 3) / 4)
    this.#lagLatencyMs = bp.lagLatencyMs
  }

  submit(s: TelemetrySubmission): SubmitResult {
    const { ledger } = this.#options
    const typeId = this.#options.typeOf(s.deviceId)
    const type = typeId ?? UNTYPED
    ledger.count(typeId, 'received', 1, 0)
    let points: TelemetryPoint[]
    try {
      points = decodeTelemetry(s.format, s.payload, this.#now())
    } catch (err) {
      if (err instanceof TelemetryFormatError) return this.#refused(s.deviceId, typeId, s.source, err)
      throw err
    }
    ledger.count(typeId, 'decoded', 1, points.length)
    const profile = this.#options.profileOf?.(typeId)
    if (profile !== undefined && profile.specs.size > 0) this.#flag(profile, s, points)

    // Back-pressure: what happens to this message's points (see the file's comment).
    const fate = this.#fate(type, profile, points.length)
    const canRefuse = s.refusable ?? true
    let hold = false
    let kept: TelemetryPoint[] = points
    let sampled = 0
    let shed = 0
    if (fate.kind === 'drop') {
      const protectedPoints = points.filter((p) => isProtected(profile, p.metric, p.value))
      if (protectedPoints.length === 0 && s.acknowledged && canRefuse) {
        ledger.count(typeId, 'shed', 1, points.length)
        return { kind: 'busy', retryAfterMs: RETRY_AFTER_MS, reason: fate.reason }
      }
      if (s.acknowledged && !canRefuse && (profile?.strategy ?? 'buffer') === 'buffer') {
        // MQTT 3.1.1 cannot be refused: take it, and hold its acknowledgement instead.
        hold = true
      } else {
        kept = protectedPoints
        shed = points.length - kept.length
      }
    } else if (fate.kind === 'sample') {
      kept = this.#sample(s.deviceId, profile, points, fate.every)
      sampled = points.length - kept.length
    } else if (fate.kind === 'hold') {
      if (s.acknowledged && s.holdable === false && canRefuse) {
        ledger.count(typeId, 'shed', 1, points.length)
        return { kind: 'busy', retryAfterMs: RETRY_AFTER_MS, reason: 'telemetry storage is behind' }
      }
      hold = s.acknowledged
    }
    if (kept.length === 0 && points.length > 0) {
      // Nothing left to store: the message's fate is its points' (shed wins over sampled).
      ledger.count(typeId, shed > 0 ? 'shed' : 'sampled', 1, points.length)
      if (s.acknowledged) ledger.count(typeId, 'acknowledged', 1, 0)
      return { kind: 'accepted', points: 0, dropped: points.length, durable: Promise.resolve() }
    }
    if (sampled > 0) ledger.count(typeId, 'sampled', 0, sampled)
    if (shed > 0) ledger.count(typeId, 'shed', 0, shed)

    const numeric: EnginePoint[] = []
    const strings: TelemetryEvent[] = []
    for (const point of kept) {
      const value = point.value
      if (typeof value === 'string')
        strings.push({ deviceId: s.deviceId, metric: point.metric, ts: point.ts, value })
      else
        numeric.push({
          series: `${s.deviceId}/${point.metric}`,
          ts: point.ts,
          value: value === true ? 1 : value === false ? 0 : value,
        })
    }
    const stored = this.#store(typeId, numeric, strings)
    let durable = stored
    if (hold) {
      this.#held++
      durable = stored.then(() => this.#lagOver()).finally(() => this.#held--)
    }
    if (s.acknowledged) durable = durable.then(() => ledger.count(typeId, 'acknowledged', 1, kept.length))
    return { kind: 'accepted', points: kept.length, dropped: sampled + shed, durable }
  }

  /** Refuses a message before decoding (an unknown format): counted `received` and `rejected`, the device told. */
  refuse(
    deviceId: string,
    source: string,
    err: TelemetryFormatError,
  ): { kind: 'refused'; error: TelemetryFormatError } {
    const typeId = this.#options.typeOf(deviceId)
    this.#options.ledger.count(typeId, 'received', 1, 0)
    return this.#refused(deviceId, typeId, source, err)
  }

  /** The event log (string values), for the API's queries. */
  get events(): EventStore {
    return this.#options.events
  }

  report(): LedgerReport {
    const ledger = this.#options.ledger.snapshot()
    const flags = this.#options.flags?.snapshot() ?? {}
    const state = this.state()
    const byType: LedgerReport['byType'] = {}
    for (const [type, counts] of Object.entries(ledger.byType)) {
      const profile = type === UNTYPED ? undefined : this.#options.profileOf?.(type)
      const flagged = flags[type]
      byType[type] = {
        ledger: counts,
        queuedPoints: state.queuedByType[type] ?? 0,
        strategy: profile?.strategy ?? 'buffer',
        ...(flagged === undefined ? {} : { flagged }),
      }
    }
    return { ...state, total: ledger.total, byType }
  }

  state(): PipelineState {
    this.#evaluate()
    return {
      lagging: this.#lagging,
      queuedPoints: this.#queued,
      queuedByType: Object.fromEntries(this.#queuedByType),
      heldMessages: this.#held,
      oldestWriteMs: this.#oldestAge(),
      highWaterPoints: this.#high,
      lagLatencyMs: this.#lagLatencyMs,
    }
  }

  /** Stops the latency timer and releases held acknowledgements (their points are durable). */
  close(): void {
    if (this.#latencyTimer) clearInterval(this.#latencyTimer)
    this.#latencyTimer = undefined
    this.#lagEnded?.resolve()
    this.#lagEnded = undefined
  }

  #fate(
    type: string,
    profile: CompiledProfile | undefined,
    n: number,
  ):
    | { kind: 'store' }
    | { kind: 'hold' }
    | { kind: 'sample'; every: number }
    | { kind: 'drop'; reason: string } {
    if (n === 0) return { kind: 'store' }
    const cap = profile?.maxQueuedPoints ?? this.#high
    const mine = this.#queuedByType.get(type) ?? 0
    if (mine >= cap) return { kind: 'drop', reason: `telemetry queue of device type ${type} is full` }
    if (this.#queued >= 2 * this.#high) return { kind: 'drop', reason: 'telemetry storage is behind' }
    if (!this.#lagging) return { kind: 'store' }
    const strategy = profile?.strategy ?? 'buffer'
    if (strategy === 'sample') return { kind: 'sample', every: profile?.sampleEvery ?? 10 }
    if (strategy === 'shed') {
      const fill = Math.max(this.#queued / this.#high, 1)
      const priority = profile?.priority ?? 5
      if (fill >= 1 + priority / 10) {
        return { kind: 'drop', reason: `telemetry storage is behind: priority ${priority} is shed` }
      }
      return { kind: 'store' }
    }
    return { kind: 'hold' }
  }

  /** Every `every`th point per series, plus every protected point. */
  #sample(
    deviceId: string,
    profile: CompiledProfile | undefined,
    points: readonly TelemetryPoint[],
    every: number,
  ): TelemetryPoint[] {
    if (this.#sampleCounters.size > MAX_SAMPLE_COUNTERS) this.#sampleCounters.clear()
    return points.filter((p) => {
      if (isProtected(profile, p.metric, p.value)) return true
      const series = `${deviceId}/${p.metric}`
      const n = this.#sampleCounters.get(series) ?? 0
      this.#sampleCounters.set(series, n + 1)
      return n % every === 0
    })
  }

  #flag(profile: CompiledProfile, s: TelemetrySubmission, points: readonly TelemetryPoint[]): void {
    const flags = this.#options.flags
    if (flags === undefined) return
    // Grouped per (metric, reason) so a batch of 1,000 bad points is one flag call, not 1,000.
    let groups: Map<string, { metric: string; reason: FlagReason; n: number; detail: string }> | undefined
    for (const p of points) {
      const misfit = checkPoint(profile, p.metric, p.value)
      if (misfit === undefined) continue
      groups ??= new Map()
      const key = `${p.metric}\0${misfit.reason}`
      const g = groups.get(key)
      if (g) g.n++
      else groups.set(key, { metric: p.metric, reason: misfit.reason, n: 1, detail: misfit.detail })
    }
    if (groups === undefined) return
    for (const g of groups.values())
      flags.flag(profile.typeId, s.deviceId, g.metric, g.reason, g.n, s.source, g.detail)
  }

  #store(typeId: string | null, numeric: EnginePoint[], strings: TelemetryEvent[]): Promise<void> {
    const { ledger, engine, events } = this.#options
    const type = typeId ?? UNTYPED
    const n = numeric.length + strings.length
    ledger.count(typeId, 'queued', 1, n)
    const id = this.#nextWrite++
    this.#writes.set(id, this.#now())
    this.#add(type, n)
    const writes: Promise<void>[] = []
    if (numeric.length > 0) writes.push(engine.write(numeric))
    if (strings.length > 0) writes.push(events.append(strings))
    const settle = (): void => {
      this.#writes.delete(id)
      this.#add(type, -n)
    }
    return Promise.all(writes).then(
      () => {
        settle()
        ledger.count(typeId, 'stored', 1, n)
      },
      (err: unknown) => {
        settle()
        ledger.count(typeId, 'failed', 1, n)
        this.#options.logger.error({ err, points: n }, 'telemetry not stored')
        throw err
      },
    )
  }

  #add(type: string, n: number): void {
    this.#queued += n
    const mine = (this.#queuedByType.get(type) ?? 0) + n
    if (mine === 0) this.#queuedByType.delete(type)
    else this.#queuedByType.set(type, mine)
    this.#evaluate()
    if (this.#writes.size > 0 && this.#lagLatencyMs > 0 && this.#latencyTimer === undefined) {
      // Only while writes are pending: an idle platform keeps no timer running.
      this.#latencyTimer = setInterval(() => this.#evaluate(), LATENCY_CHECK_MS)
      this.#latencyTimer.unref()
    } else if (this.#writes.size === 0 && this.#latencyTimer !== undefined) {
      clearInterval(this.#latencyTimer)
      this.#latencyTimer = undefined
    }
  }

  #oldestAge(): number {
    const first = this.#writes.values().next()
    return first.done ? 0 : this.#now() - first.value
  }

  #evaluate(): void {
    const slow = this.#lagLatencyMs > 0 && this.#oldestAge() > this.#lagLatencyMs
    if (!this.#lagging && (this.#queued > this.#high || slow)) {
      this.#lagging = true
      this.#options.logger.warn(
        { queuedPoints: this.#queued, oldestWriteMs: this.#oldestAge() },
        'telemetry storage lags: back-pressure on',
      )
    } else if (this.#lagging && this.#queued <= this.#low && !slow) {
      this.#lagging = false
      this.#sampleCounters.clear()
      this.#lagEnded?.resolve()
      this.#lagEnded = undefined
      this.#options.logger.info(
        { queuedPoints: this.#queued },
        'telemetry storage caught up: back-pressure off',
      )
    }
  }

  /** Resolves when storage stops lagging (at once if it does not lag now). */
  #lagOver(): Promise<void> {
    this.#evaluate()
    if (!this.#lagging) return Promise.resolve()
    if (this.#lagEnded === undefined) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => {
        resolve = r
      })
      this.#lagEnded = { promise, resolve }
    }
    return this.#lagEnded.promise
  }

  #refused(
    deviceId: string,
    typeId: string | null,
    source: string,
    err: TelemetryFormatError,
  ): { kind: 'refused'; error: TelemetryFormatError } {
    this.#options.ledger.count(typeId, 'rejected', 1, 0)
    this.#options.logger.info({ deviceId, source, code: err.code, err: err.message }, 'telemetry refused')
    // `source` is the MQTT topic or the HTTP path the message came on.
    this.#options.publishError(
      deviceId,
      Buffer.from(JSON.stringify({ source, code: err.code, message: err.message })),
    )
    return { kind: 'refused', error: err }
  }
}
