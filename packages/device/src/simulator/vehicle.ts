/**
 * A delivery vehicle for the fleet profile: it drives a closed route during its shift,
 * stops for deliveries with the engine off, burns fuel with distance and idling, refuels
 * when low, and its engine warms up and cools down. One state advanced by each sample's
 * timestamp (non-decreasing), like the signals it is built from.
 */
import type { Rng } from './random.js'
import {
  clamp,
  dailyCycle,
  Flag,
  HOUR,
  hourOfDay,
  Lag,
  type LatLon,
  MINUTE,
  type Route,
  SECOND,
  SlowNoise,
} from './signals.js'

export interface VehicleReading extends LatLon {
  /** km/h */
  speed: number
  /** Percent of the tank. */
  fuel: number
  /** °C */
  engineTemp: number
  ignition: boolean
}

export interface VehicleOptions {
  utcOffsetMs: number
  /** Usual speed on the route, km/h. */
  cruiseKmh: number
  /** Where on the route it starts, in metres. */
  startM: number
  /** Litres in the tank at the start. */
  fuelL: number
}

const TANK_L = 80
const L_PER_KM = 0.12
const IDLE_L_PER_H = 1
const REFUEL_BELOW_L = 10

export class Vehicle {
  readonly #route: Route
  readonly #o: VehicleOptions
  readonly #delivering: Flag
  readonly #traffic: SlowNoise
  readonly #speed = new Lag(0, 20 * SECOND)
  readonly #engine: Lag
  readonly #shiftStart: number
  readonly #shiftEnd: number
  #distanceM: number
  #fuelL: number
  #lastSpeed = 0
  #ts: number | undefined

  constructor(rng: Rng, route: Route, o: VehicleOptions) {
    this.#route = route
    this.#o = o
    this.#delivering = new Flag(rng.fork('delivering'), false, 4 * MINUTE, 12 * MINUTE)
    this.#traffic = new SlowNoise(rng.fork('traffic'), 0.25, 90 * SECOND)
    this.#shiftStart = rng.range(5.5, 7.5)
    this.#shiftEnd = rng.range(17, 20)
    this.#engine = new Lag(15, 4 * MINUTE)
    this.#distanceM = o.startM
    this.#fuelL = o.fuelL
  }

  at(ts: number): VehicleReading {
    const h = hourOfDay(ts, this.#o.utcOffsetMs)
    const onShift = h >= this.#shiftStart && h < this.#shiftEnd
    const delivering = this.#delivering.at(ts)
    const ignition = onShift && !delivering
    const target = ignition ? Math.max(0, this.#o.cruiseKmh * (1 + this.#traffic.at(ts))) : 0
    const dt = this.#ts === undefined || ts <= this.#ts ? 0 : ts - this.#ts
    const before = this.#lastSpeed
    const speed = this.#speed.at(ts, target)
    this.#lastSpeed = speed
    // Distance at the mean speed over the step; fuel with distance, and idling while on.
    const km = (((before + speed) / 2) * dt) / HOUR
    this.#distanceM += km * 1000
    this.#fuelL -= km * L_PER_KM + (ignition ? (IDLE_L_PER_H * dt) / HOUR : 0)
    if (delivering && this.#fuelL < REFUEL_BELOW_L) this.#fuelL = TANK_L
    this.#fuelL = clamp(this.#fuelL, 0, TANK_L)
    const ambient = dailyCycle(ts, { mean: 14, amplitude: 6, peakHour: 15, utcOffsetMs: this.#o.utcOffsetMs })
    const engineTemp = ignition
      ? this.#engine.at(ts, 88 + 6 * (speed / 100))
      : this.#engine.at(ts, ambient, 40 * MINUTE)
    if (this.#ts === undefined || ts > this.#ts) this.#ts = ts
    const where = this.#route.at(this.#distanceM)
    return { ...where, speed, fuel: (100 * this.#fuelL) / TANK_L, engineTemp, ignition }
  }
}
