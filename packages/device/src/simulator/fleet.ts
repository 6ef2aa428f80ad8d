/**
 * A simulated fleet: N SDK devices over real MQTT connections, each reporting its profile's
 * signals at a rate, with faults on demand. Connects are staggered (a bounded number waiting
 * for CONNACK at once) so a thousand devices do not stampede the broker; one timer drives
 * every device's sampling; stopping closes every device after a bounded flush.
 */

import type { BackoffOptions } from '../backoff.js'
import { ConnectionRefusedError } from '../errors.js'
import type { TlsOptions } from '../options.js'
import { checkFaults, DEFAULT_CLOCK_SKEW_FRACTION, type FaultOptions } from './faults.js'
import { type FleetCounters, Member } from './member.js'
import type { Profile } from './profiles.js'
import { Rng } from './random.js'
import { emptyErrorCounts, type FleetStats } from './stats.js'

export interface SimulatedDevice {
  deviceId: string
  /** Its device token (`sdt_...`). */
  token: string
}

export interface FleetOptions {
  /** The broker: mqtt://, mqtts://, ws:// or wss://. */
  url: string
  devices: readonly SimulatedDevice[]
  profile: Profile
  /** Samples per device per second. Default 1. */
  rate?: number
  faults?: FaultOptions
  /** Makes every device's signal reproducible. Default 'strata'. */
  seed?: string
  /** The devices' local time zone, for daily shapes. Default 0 (UTC). */
  utcOffsetMs?: number
  /** Devices waiting for CONNACK at once, at most. Default 50. */
  connectConcurrency?: number
  /**
   * New connects a second, at most. Default 40: under the broker's default limit of 50 a second
   * per source address (`limits.connectionRatePerAddress`), which all simulated devices share.
   */
  connectRate?: number
  /** How long one connect slot waits for a device before moving on (the device keeps trying). Default 10 s. */
  connectWaitMs?: number
  /** Default 5. */
  protocolVersion?: 4 | 5
  tls?: TlsOptions
  reconnect?: BackoffOptions
  /** Points each device may buffer while offline. Default 10,000. */
  bufferPoints?: number
  /** Aborting stops the fleet, as stop() does. */
  signal?: AbortSignal
}

export interface StopOptions {
  /** How long devices may take to send what they buffered. Default 3 s. */
  flushMs?: number
}

export class Fleet {
  readonly #o: FleetOptions
  readonly #members: Member[] = []
  readonly #counters: FleetCounters = {
    samples: 0,
    errorsByKind: emptyErrorCounts(),
    lastErrors: {},
    faultDisconnects: 0,
    badPayloads: { sent: 0, refused: 0, accepted: 0, lost: 0 },
  }
  readonly #refused: string[] = []
  readonly #startedAt = Date.now()
  /** The waits of the connect loop, aborted by stop(): one small signal each, not many listeners on one. */
  readonly #waits = new Set<AbortController>()
  #halted = false
  readonly #timer: ReturnType<typeof setInterval>
  readonly #connecting: Promise<void>
  #stopped: Promise<FleetStats> | undefined
  #final: FleetStats | undefined

  /** Use startFleet(). */
  constructor(options: FleetOptions) {
    const rate = options.rate ?? 1
    if (!(rate > 0 && rate <= 1000))
      throw new RangeError(`rate must be above 0 and at most 1000 a second, got ${rate}`)
    checkFaults(options.faults ?? {})
    const concurrency = options.connectConcurrency ?? 50
    if (!Number.isSafeInteger(concurrency) || concurrency < 1)
      throw new RangeError(`connectConcurrency must be a whole number from 1, got ${concurrency}`)
    const connectRate = options.connectRate ?? 40
    if (!(connectRate > 0)) throw new RangeError(`connectRate must be above 0, got ${connectRate}`)
    this.#o = options
    const intervalMs = 1000 / rate
    // A tick often enough for the rate (bursts included), seldom enough to cost nothing.
    const burstFactor = options.faults?.burst?.factor ?? 1
    const tickMs = Math.min(100, Math.max(10, intervalMs / burstFactor / 2))
    this.#timer = setInterval(() => this.tick(), tickMs)
    this.#connecting = this.connectAll(intervalMs, concurrency, 1000 / connectRate)
    options.signal?.addEventListener('abort', () => void this.stop(), { once: true })
    if (options.signal?.aborted) void this.stop()
  }

  /** Counters now (after stop: the final ones). */
  stats(): FleetStats {
    if (this.#final) return this.#final
    let connected = 0
    let everConnected = 0
    let sentMessages = 0
    let sentPoints = 0
    let queuedPoints = 0
    let droppedPoints = 0
    let reconnects = 0
    for (const m of this.#members) {
      const s = m.device.stats()
      if (s.connected) connected++
      if (m.everConnected) everConnected++
      sentMessages += s.sentBatches
      sentPoints += s.sentPoints
      queuedPoints += s.queuedPoints
      droppedPoints += s.droppedPoints
      reconnects += s.reconnects
    }
    const c = this.#counters
    const errorsByKind = { ...c.errorsByKind }
    return {
      devices: this.#o.devices.length,
      started: this.#members.length,
      connected,
      everConnected,
      samples: c.samples,
      sentMessages,
      sentPoints,
      queuedPoints,
      droppedPoints,
      reconnects,
      errors: Object.values(errorsByKind).reduce((a, b) => a + b, 0),
      errorsByKind,
      lastErrors: { ...c.lastErrors },
      faultDisconnects: c.faultDisconnects,
      badPayloads: { ...c.badPayloads },
      refusedDevices: [...this.#refused],
      elapsedMs: Date.now() - this.#startedAt,
    }
  }

  /**
   * Stops sampling, closes every device (after sending what they buffered, for at most
   * `flushMs`), and resolves with the final counters. Safe to call twice.
   */
  stop(options: StopOptions = {}): Promise<FleetStats> {
    this.#stopped ??= (async () => {
      this.#halted = true
      for (const wait of this.#waits) wait.abort()
      clearInterval(this.#timer)
      await this.#connecting
      const flushMs = options.flushMs ?? 3_000
      await Promise.all(this.#members.map((m) => m.close(flushMs)))
      this.#final = this.stats()
      return this.#final
    })()
    return this.#stopped
  }

  private tick(): void {
    const now = Date.now()
    for (const m of this.#members) m.tick(now)
  }

  private async connectAll(intervalMs: number, concurrency: number, spacingMs: number): Promise<void> {
    const devices = this.#o.devices
    let index = 0
    let nextSlot = Date.now()
    const worker = async (): Promise<void> => {
      while (!this.#halted && index < devices.length) {
        // Pace the connects: each takes the next free slot of the connect rate.
        const slot = nextSlot
        nextSlot = Math.max(Date.now(), nextSlot) + spacingMs
        if (slot > Date.now() && !(await this.during((signal) => pause(slot - Date.now(), signal)))) return
        if (index >= devices.length) return
        const member = this.member(devices[index++] as SimulatedDevice, intervalMs)
        this.#members.push(member)
        await this.waitForConnect(member)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, devices.length) }, worker))
  }

  /** One simulated device: its SDK device (connecting in the background), signals and faults. */
  private member({ deviceId, token }: SimulatedDevice, intervalMs: number): Member {
    const o = this.#o
    const seed = o.seed ?? 'strata'
    const faults = o.faults ?? {}
    const rng = new Rng(`${seed}/${deviceId}/faults`)
    const skewed =
      (faults.clockSkewMs ?? 0) !== 0 && rng.chance(faults.clockSkewFraction ?? DEFAULT_CLOCK_SKEW_FRACTION)
    return new Member({
      device: {
        url: o.url,
        deviceId,
        auth: { token },
        ...(o.protocolVersion ? { protocolVersion: o.protocolVersion } : {}),
        ...(o.tls ? { tls: o.tls } : {}),
        ...(o.reconnect ? { reconnect: o.reconnect } : {}),
        telemetry: { buffer: { maxPoints: o.bufferPoints ?? 10_000 } },
      },
      signals: o.profile.create(`${seed}/${deviceId}`, { utcOffsetMs: o.utcOffsetMs ?? 0 }),
      rng,
      intervalMs,
      faults,
      skewMs: skewed ? (faults.clockSkewMs ?? 0) : 0,
      counters: this.#counters,
    })
  }

  /** Holds a connect slot until the device connects, is refused, or the wait runs out. */
  private async waitForConnect(member: Member): Promise<void> {
    const limit = this.#o.connectWaitMs ?? 10_000
    try {
      await this.during((signal) =>
        member.device.whenConnected(AbortSignal.any([signal, AbortSignal.timeout(limit)])),
      )
    } catch (err) {
      if (err instanceof ConnectionRefusedError && err.permanent) this.#refused.push(member.device.deviceId)
      // Otherwise (a timeout, the broker down) the device keeps trying in the background.
    }
  }

  /** Runs `fn` with a signal that stop() aborts. */
  private async during<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const wait = new AbortController()
    if (this.#halted) wait.abort()
    this.#waits.add(wait)
    try {
      return await fn(wait.signal)
    } finally {
      this.#waits.delete(wait)
    }
  }
}

/** Waits `ms`; false if `signal` aborted first. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      resolve(ok)
    }
    const onAbort = (): void => done(false)
    const timer = setTimeout(() => done(true), ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Starts the fleet: devices connect in the background; read stats(), then stop(). */
export function startFleet(options: FleetOptions): Fleet {
  return new Fleet(options)
}
