/**
 * Faults on demand: what the simulator can do wrong on purpose, so the platform's handling
 * of it can be watched: sockets dropped without a goodbye, bursts of traffic, payloads the
 * platform must refuse, clocks that are off. This module holds the options, their checks and
 * the pure parts (when a burst is on, how likely a drop is, what a bad payload looks like);
 * fleet.ts applies them.
 */
import type { Rng } from './random.js'

export interface BurstOptions {
  /** A burst starts every `everyMs`. */
  everyMs: number
  /** ... and lasts `durationMs`. */
  durationMs: number
  /** Samples come `factor` times faster during a burst. */
  factor: number
}

export interface FaultOptions {
  /** Socket drops per device per minute, on average (a Poisson rate); the SDK reconnects. */
  disconnectPerMinute?: number
  /** Periodic bursts of traffic, every device at once. */
  burst?: BurstOptions
  /**
   * Fraction of samples followed by an invalid payload on the device's telemetry topic, which
   * the platform must refuse (PUBACK 0x99) without harm: each refusal is counted as an error.
   */
  badPayloadFraction?: number
  /** Shift the timestamps of some devices by this many ms (negative: behind). */
  clockSkewMs?: number
  /** Which fraction of the devices have the skewed clock. Default 0.25. */
  clockSkewFraction?: number
}

export const DEFAULT_BURST: Readonly<BurstOptions> = Object.freeze({
  everyMs: 30_000,
  durationMs: 5_000,
  factor: 10,
})

export const DEFAULT_CLOCK_SKEW_FRACTION = 0.25

const finite = (v: number): boolean => typeof v === 'number' && Number.isFinite(v)

/** Throws a RangeError naming the first option that cannot be used. */
export function checkFaults(f: FaultOptions): void {
  const fraction = (v: number | undefined, name: string): void => {
    if (v !== undefined && (!finite(v) || v < 0 || v > 1))
      throw new RangeError(`${name} must be a fraction from 0 to 1, got ${v}`)
  }
  if (f.disconnectPerMinute !== undefined && (!finite(f.disconnectPerMinute) || f.disconnectPerMinute < 0))
    throw new RangeError(`disconnectPerMinute must be 0 or more, got ${f.disconnectPerMinute}`)
  fraction(f.badPayloadFraction, 'badPayloadFraction')
  fraction(f.clockSkewFraction, 'clockSkewFraction')
  if (f.clockSkewMs !== undefined && !Number.isSafeInteger(f.clockSkewMs))
    throw new RangeError(`clockSkewMs must be a whole number of milliseconds, got ${f.clockSkewMs}`)
  if (f.burst !== undefined) {
    const { everyMs, durationMs, factor } = f.burst
    if (!finite(everyMs) || everyMs <= 0)
      throw new RangeError(`burst.everyMs must be above 0, got ${everyMs}`)
    if (!finite(durationMs) || durationMs <= 0 || durationMs > everyMs)
      throw new RangeError(`burst.durationMs must be above 0 and at most everyMs, got ${durationMs}`)
    if (!finite(factor) || factor < 1) throw new RangeError(`burst.factor must be 1 or more, got ${factor}`)
  }
}

/** Whether a burst is on at `ts` (bursts start at multiples of everyMs since the epoch: every device agrees). */
export function inBurst(ts: number, burst: BurstOptions | undefined): boolean {
  return burst !== undefined && ts % burst.everyMs < burst.durationMs
}

/** The chance of at least one drop in `windowMs`, at `perMinute` drops a minute. */
export function dropChance(perMinute: number, windowMs: number): number {
  return 1 - Math.exp(-(perMinute * windowMs) / 60_000)
}

export interface BadPayload {
  topic: string
  payload: Uint8Array | string
  contentType: string
  /** What is wrong with it, for logs and tests. */
  flaw: string
}

/**
 * An invalid message for `deviceId`'s telemetry topic, one of several flaws a buggy firmware
 * makes. Each is one the platform's decoders refuse (checked by the simulator tests).
 */
export function badPayload(deviceId: string, ts: number, rng: Rng): BadPayload {
  const json = { topic: `devices/${deviceId}/telemetry`, contentType: 'application/json' }
  switch (rng.int(0, 3)) {
    case 0:
      return { ...json, payload: `{"ts": ${ts}, "temperature": 21.`, flaw: 'truncated JSON' }
    case 1:
      return {
        ...json,
        payload: `[{"ts": "yesterday", "temperature": 21.5}]`,
        flaw: 'timestamp not a number',
      }
    case 2:
      return { ...json, payload: `{"ts": ${ts}, "bad metric!": 1}`, flaw: 'invalid metric name' }
    default:
      return {
        topic: `devices/${deviceId}/telemetry/batch`,
        contentType: 'application/vnd.strata.batch',
        payload: new Uint8Array([0xff, 0x13, 0x37, 0x00, 0x42]),
        flaw: 'not a Strata batch',
      }
  }
}
