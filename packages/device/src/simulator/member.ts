/**
 * One simulated device of a fleet: an SDK device, its signals, its sampling schedule, and the
 * faults it commits. The fleet's single timer calls `tick`; nothing here owns a timer, so a
 * thousand devices cost one timer, not a thousand.
 */
import { TelemetryFormatError } from '@strata/protocol/telemetry'
import { createDevice, type StrataDevice } from '../device.js'
import {
  BufferFullError,
  ConnectionLostError,
  ConnectionRefusedError,
  DeviceClosedError,
  PublishRefusedError,
} from '../errors.js'
import type { DeviceOptions } from '../options.js'
import { type DeviceFaultAccess, deviceFaultAccess } from './device-access.js'
import { badPayload, dropChance, type FaultOptions, inBurst } from './faults.js'
import type { SimulatedSignals } from './profiles.js'
import type { Rng } from './random.js'
import type { FleetErrorKind, FleetStats } from './stats.js'

/** The counters every member adds to (the fleet's, shared). */
export type FleetCounters = Pick<
  FleetStats,
  'samples' | 'errorsByKind' | 'lastErrors' | 'faultDisconnects' | 'badPayloads'
>

export interface MemberSettings {
  /** The SDK options: url, deviceId, auth and the rest. */
  device: DeviceOptions
  signals: SimulatedSignals
  /** The member's own stream, for its schedule and faults. */
  rng: Rng
  intervalMs: number
  faults: FaultOptions
  /** Added to every timestamp it reports (--fault-clock-skew), 0 for most. */
  skewMs: number
  counters: FleetCounters
}

/** Samples a member may take in one tick to catch up after a stall; beyond, it skips ahead. */
const MAX_CATCH_UP = 10
const DROP_CHECK_MS = 1_000

export class Member {
  readonly device: StrataDevice
  /** Set at the first connect: sampling starts then, not while waiting for a connect slot. */
  #next: number | undefined
  #nextDropCheck = 0
  #access: DeviceFaultAccess | undefined
  #closing = false

  constructor(private readonly s: MemberSettings) {
    this.device = createDevice(s.device)
    this.device.on('error', (err) => {
      if (!this.#closing) this.count(kindOf(err), err)
    })
    this.device.on('connect', () => {
      if (this.#next === undefined) {
        // Spread the devices over the interval, so the broker sees a steady flow, not a beat.
        const now = Date.now()
        this.#next = now + s.rng.next() * s.intervalMs
        this.#nextDropCheck = now + DROP_CHECK_MS
      }
    })
  }

  /** Connected at least once (sampling has started). */
  get everConnected(): boolean {
    return this.#next !== undefined
  }

  tick(now: number): void {
    if (this.#next === undefined || this.#closing) return
    if (now - this.#next > MAX_CATCH_UP * this.s.intervalMs) this.#next = now
    while (this.#next <= now) {
      this.sample(Math.floor(this.#next))
      this.#next +=
        this.s.intervalMs /
        (inBurst(this.#next, this.s.faults.burst) ? (this.s.faults.burst?.factor ?? 1) : 1)
    }
    const perMinute = this.s.faults.disconnectPerMinute ?? 0
    if (perMinute > 0 && now >= this.#nextDropCheck) {
      this.#nextDropCheck = now + DROP_CHECK_MS
      if (this.s.rng.chance(dropChance(perMinute, DROP_CHECK_MS)) && this.access().dropSocket())
        this.s.counters.faultDisconnects++
    }
  }

  /** Stops sampling and closes the device, sending what is buffered first, for at most `flushMs`. */
  async close(flushMs: number): Promise<void> {
    this.#closing = true
    await this.device.close({ flush: flushMs > 0, signal: AbortSignal.timeout(Math.max(1, flushMs)) })
  }

  private sample(ts: number): void {
    const values = this.s.signals.sample(ts)
    try {
      this.device.telemetry(values, { ts: ts + this.s.skewMs })
      this.s.counters.samples++
    } catch (err) {
      const kind =
        err instanceof TelemetryFormatError || err instanceof BufferFullError ? 'telemetry' : 'other'
      this.count(kind, err)
    }
    const fraction = this.s.faults.badPayloadFraction ?? 0
    if (fraction > 0 && this.s.rng.chance(fraction) && this.device.stats().connected) this.sendBadPayload(ts)
  }

  private sendBadPayload(ts: number): void {
    const bad = badPayload(this.device.deviceId, ts, this.s.rng)
    const counts = this.s.counters.badPayloads
    counts.sent++
    this.access()
      .publishRaw(bad.topic, bad.payload, bad.contentType)
      .then(
        () => {
          counts.accepted++
          this.count('payload-accepted', new Error(`the platform accepted a bad payload (${bad.flaw})`))
        },
        (err: unknown) => {
          if (err instanceof PublishRefusedError) {
            counts.refused++
            this.count('payload-refused', err)
          } else if (err instanceof ConnectionLostError || err instanceof DeviceClosedError) {
            counts.lost++
          } else {
            this.count('other', err)
          }
        },
      )
  }

  private access(): DeviceFaultAccess {
    this.#access ??= deviceFaultAccess(this.device)
    return this.#access
  }

  private count(kind: FleetErrorKind, err: unknown): void {
    this.s.counters.errorsByKind[kind]++
    this.s.counters.lastErrors[kind] = err instanceof Error ? err.message : String(err)
  }
}

function kindOf(err: Error): FleetErrorKind {
  if (err instanceof ConnectionRefusedError) return 'connect-refused'
  if (err instanceof PublishRefusedError) return 'publish-refused'
  if (err instanceof ConnectionLostError) return 'connection'
  // mqtt.js's transport errors (ECONNRESET, ECONNREFUSED...) carry a string code.
  if (typeof (err as { code?: unknown }).code === 'string' || /connect|socket|closed/i.test(err.message))
    return 'connection'
  return 'other'
}
