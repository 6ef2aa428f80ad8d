/**
 * The building blocks of simulated signals. Each is seeded and driven by the sample's own
 * timestamp (calls must come in non-decreasing time order), so the same seed and the same
 * timestamps give the same values, whatever the wall clock: a device's signal can be
 * replayed, and a test can check it value for value. What makes them look real is what
 * real sensors do: daily cycles, slow drift rather than white noise, quantised readings,
 * counters that only go up, rare bursts.
 */
import type { Rng } from './random.js'

export const SECOND = 1_000
export const MINUTE = 60_000
export const HOUR = 3_600_000
export const DAY = 86_400_000

/**
 * `value` rounded to a multiple of `step`, as the exact shortest decimal (21.3, not
 * 21.300000000000001): what a sensor with that resolution reports.
 */
export function quantize(value: number, step: number): number {
  const decimals = decimalsOf(step)
  return Number((Math.round(value / step) * step).toFixed(decimals))
}

function decimalsOf(step: number): number {
  const text = String(step)
  const dot = text.indexOf('.')
  if (text.includes('e-')) return Number(text.slice(text.indexOf('e-') + 2))
  return dot < 0 ? 0 : text.length - dot - 1
}

export const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value))

/** Hours since local midnight, in [0, 24). */
export function hourOfDay(ts: number, utcOffsetMs: number): number {
  const local = (((ts + utcOffsetMs) % DAY) + DAY) % DAY
  return local / HOUR
}

/** 0 Sunday ... 6 Saturday, local time. */
export function dayOfWeek(ts: number, utcOffsetMs: number): number {
  return new Date(ts + utcOffsetMs).getUTCDay()
}

/** A smooth daily cycle: `mean` ± `amplitude`, highest at `peakHour` local time. */
export function dailyCycle(
  ts: number,
  o: { mean: number; amplitude: number; peakHour: number; utcOffsetMs: number },
): number {
  const h = hourOfDay(ts, o.utcOffsetMs)
  return o.mean + o.amplitude * Math.cos((2 * Math.PI * (h - o.peakHour)) / 24)
}

/** A smooth step from 0 to 1 between `from` and `to` (hours). */
function ramp(h: number, from: number, to: number): number {
  if (h <= from) return 0
  if (h >= to) return 1
  const x = (h - from) / (to - from)
  return x * x * (3 - 2 * x)
}

/**
 * How busy an office is, 0 to 1: people arrive 7:30 to 9:30, a lunch dip at 12:30, leave
 * 16:30 to 18:30; weekends almost empty.
 */
export function workdayShape(ts: number, utcOffsetMs: number): number {
  const day = dayOfWeek(ts, utcOffsetMs)
  const h = hourOfDay(ts, utcOffsetMs)
  const presence = ramp(h, 7.5, 9.5) * (1 - ramp(h, 16.5, 18.5))
  const lunch = 1 - 0.45 * Math.exp(-(((h - 12.75) / 0.6) ** 2))
  const weekend = day === 0 || day === 6 ? 0.06 : 1
  return presence * lunch * weekend
}

/**
 * Slow noise: an Ornstein-Uhlenbeck process (a random walk pulled back to 0), the drift of a
 * real sensor and of the air it measures. `sigma` is its long-run standard deviation, `tauMs`
 * how long it takes to forget. Exact for any step length, so the sample rate does not change
 * its statistics.
 */
export class SlowNoise {
  #value: number
  #ts: number | undefined

  constructor(
    private readonly rng: Rng,
    private readonly sigma: number,
    private readonly tauMs: number,
  ) {
    this.#value = sigma * rng.normal() // start from the stationary distribution
  }

  at(ts: number): number {
    if (this.#ts !== undefined && ts > this.#ts) {
      const decay = Math.exp(-(ts - this.#ts) / this.tauMs)
      this.#value = this.#value * decay + this.sigma * Math.sqrt(1 - decay * decay) * this.rng.normal()
    }
    if (this.#ts === undefined || ts > this.#ts) this.#ts = ts
    return this.#value
  }
}

/** First-order lag toward a target: how a room's CO2 or a motor's temperature follows its cause. */
export class Lag {
  #value: number
  #ts: number | undefined

  constructor(
    initial: number,
    private readonly tauMs: number,
  ) {
    this.#value = initial
  }

  at(ts: number, target: number, tauMs = this.tauMs): number {
    if (this.#ts !== undefined && ts > this.#ts) {
      this.#value = target + (this.#value - target) * Math.exp(-(ts - this.#ts) / tauMs)
    }
    if (this.#ts === undefined || ts > this.#ts) this.#ts = ts
    return this.#value
  }
}

/** People in a room: small integers following the working-day shape, changing a few at a time. */
export class Occupancy {
  #noise: SlowNoise

  constructor(
    rng: Rng,
    private readonly capacity: number,
    private readonly utcOffsetMs: number,
  ) {
    this.#noise = new SlowNoise(rng, 0.12, 20 * MINUTE)
  }

  at(ts: number): number {
    const expected = this.capacity * workdayShape(ts, this.utcOffsetMs)
    const people = expected * (1 + this.#noise.at(ts))
    return clamp(Math.round(people), 0, this.capacity)
  }
}

/**
 * An energy meter: a monotonic integer in watt-hours (kWh × 1000), as a real meter's register.
 * `at(ts, watts)` integrates the power since the previous call; the fraction of a watt-hour
 * not yet reached is kept, so nothing is lost to rounding and the register never goes back.
 */
export class EnergyCounter {
  #wh: number
  #ts: number | undefined

  constructor(startWh: number) {
    this.#wh = startWh
  }

  at(ts: number, watts: number): number {
    if (this.#ts !== undefined && ts > this.#ts) this.#wh += (Math.max(0, watts) * (ts - this.#ts)) / HOUR
    if (this.#ts === undefined || ts > this.#ts) this.#ts = ts
    return Math.floor(this.#wh)
  }
}

/** A counter of events that happen every `periodMs` on average while `active` (parts made). */
export class EventCounter {
  #count: number
  #progress = 0
  #ts: number | undefined

  constructor(
    private readonly rng: Rng,
    start: number,
    private readonly periodMs: number,
  ) {
    this.#count = start
  }

  at(ts: number, active: boolean): number {
    if (this.#ts !== undefined && ts > this.#ts && active) {
      // Cycle times vary by a few percent: progress accrues at a slightly noisy speed.
      this.#progress += ((ts - this.#ts) / this.periodMs) * (1 + 0.05 * this.rng.normal())
      const whole = Math.floor(this.#progress)
      if (whole > 0) {
        this.#count += whole
        this.#progress -= whole
      }
    }
    if (this.#ts === undefined || ts > this.#ts) this.#ts = ts
    return this.#count
  }
}

/**
 * A status flag: a two-state process whose time in each state is exponential with the given
 * mean. Long means make it mostly constant, with a rare change (a machine stopping).
 */
export class Flag {
  #on: boolean
  #until: number | undefined

  constructor(
    private readonly rng: Rng,
    initial: boolean,
    private readonly meanOnMs: number,
    private readonly meanOffMs: number,
  ) {
    this.#on = initial
  }

  at(ts: number): boolean {
    this.#until ??= ts + this.dwell()
    while (ts >= this.#until) {
      this.#on = !this.#on
      this.#until += this.dwell()
    }
    return this.#on
  }

  private dwell(): number {
    return Math.max(SECOND, this.rng.exponential(this.#on ? this.meanOnMs : this.meanOffMs))
  }
}

export interface VibrationOptions {
  /** Standard deviation of the background noise. */
  noise: number
  /** Mean bursts per hour. */
  burstsPerHour: number
  /** Peak of a burst, in the noise's unit. */
  burstAmplitude: number
  /** Oscillation frequency of a burst, in Hz. */
  frequencyHz: number
  /** Time constant of a burst's decay. */
  decayMs: number
}

/**
 * Vibration: full-precision Gaussian noise (an accelerometer's raw reading) plus, now and
 * then, a burst of decaying oscillation (a tool strike, a bearing knock).
 */
export class Vibration {
  #burstAt: number | undefined
  #nextBurst: number | undefined
  #amplitude = 0
  #phase = 0

  constructor(
    private readonly rng: Rng,
    private readonly o: VibrationOptions,
  ) {}

  at(ts: number): number {
    this.#nextBurst ??= ts + this.gap()
    while (ts >= this.#nextBurst) {
      this.#burstAt = this.#nextBurst
      this.#amplitude = this.o.burstAmplitude * this.rng.range(0.5, 1.5)
      this.#phase = this.rng.range(0, 2 * Math.PI)
      this.#nextBurst += this.gap()
    }
    let value = this.o.noise * this.rng.normal()
    if (this.#burstAt !== undefined) {
      const t = ts - this.#burstAt
      const envelope = Math.exp(-t / this.o.decayMs)
      if (envelope > 1e-3)
        value +=
          this.#amplitude * envelope * Math.sin((2 * Math.PI * this.o.frequencyHz * t) / SECOND + this.#phase)
    }
    return value
  }

  private gap(): number {
    return Math.max(SECOND, this.rng.exponential(HOUR / this.o.burstsPerHour))
  }
}

/** A point on the Earth, in degrees. */
export interface LatLon {
  lat: number
  lon: number
}

const EARTH_RADIUS_M = 6_371_000
const toRad = (deg: number): number => (deg * Math.PI) / 180

/** Great-circle distance in metres (haversine). */
export function distanceM(a: LatLon, b: LatLon): number {
  const dLat = toRad(b.lat - a.lat)
  const dLon = toRad(b.lon - a.lon)
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(toRad(a.lat)) * Math.cos(toRad(b.lat)) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)))
}

/**
 * A closed delivery route: waypoints scattered around a centre, visited in angular order
 * so the loop does not cross itself. `at(distance)` is where a vehicle is after driving
 * that far along it (the loop repeats).
 */
export class Route {
  readonly waypoints: readonly LatLon[]
  readonly lengthM: number
  readonly #cumulative: number[]

  constructor(rng: Rng, centre: LatLon, radiusM: number, stops: number) {
    const points: Array<LatLon & { angle: number }> = []
    for (let i = 0; i < stops; i++) {
      const angle = (2 * Math.PI * (i + rng.range(-0.3, 0.3))) / stops
      const r = radiusM * rng.range(0.35, 1)
      const dLat = (r * Math.cos(angle)) / EARTH_RADIUS_M
      const dLon = (r * Math.sin(angle)) / (EARTH_RADIUS_M * Math.cos(toRad(centre.lat)))
      points.push({
        lat: centre.lat + (dLat * 180) / Math.PI,
        lon: centre.lon + (dLon * 180) / Math.PI,
        angle,
      })
    }
    points.sort((a, b) => a.angle - b.angle)
    this.waypoints = points.map(({ lat, lon }) => ({ lat, lon }))
    this.#cumulative = [0]
    let total = 0
    for (let i = 0; i < this.waypoints.length; i++) {
      total += distanceM(this.point(i), this.point(i + 1))
      this.#cumulative.push(total)
    }
    this.lengthM = total
  }

  at(distance: number): LatLon {
    const d = ((distance % this.lengthM) + this.lengthM) % this.lengthM
    let i = 0
    while (i < this.waypoints.length - 1 && (this.#cumulative[i + 1] as number) <= d) i++
    const start = this.#cumulative[i] as number
    const leg = (this.#cumulative[i + 1] as number) - start
    const f = leg > 0 ? (d - start) / leg : 0
    const a = this.point(i)
    const b = this.point(i + 1)
    return { lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f }
  }

  private point(i: number): LatLon {
    return this.waypoints[i % this.waypoints.length] as LatLon
  }
}
