/**
 * The simulator's device profiles: what a building sensor, a factory machine and a delivery
 * vehicle report, composed from the signals of signals.ts. Each profile also describes its
 * metrics as a device type's telemetry spec (the registry's TelemetrySpec shape), so the
 * platform knows the units and ranges of what arrives.
 */
import { Rng } from './random.js'
import {
  clamp,
  DAY,
  dailyCycle,
  dayOfWeek,
  EnergyCounter,
  EventCounter,
  Flag,
  HOUR,
  hourOfDay,
  Lag,
  type LatLon,
  MINUTE,
  Occupancy,
  quantize,
  Route,
  SECOND,
  SlowNoise,
  Vibration,
} from './signals.js'
import { Vehicle } from './vehicle.js'

/** One metric of a device type: the registry's TelemetrySpec (packages/platform/src/registry/model.ts). */
export interface MetricSpec {
  metric: string
  unit?: string
  valueType: 'number' | 'integer' | 'boolean'
  /** Expected range of number and integer metrics. */
  min?: number
  max?: number
}

/** One reading of every metric of a profile, at one time. */
export type Sample = Record<string, number | boolean>

/** One simulated device's signals. Call `sample` with non-decreasing timestamps. */
export interface SimulatedSignals {
  sample(ts: number): Sample
}

export interface SignalEnvironment {
  /** The devices' local time zone, for daily and weekly shapes. Default 0 (UTC). */
  utcOffsetMs?: number
}

export const PROFILE_NAMES = ['building', 'factory', 'fleet'] as const
export type ProfileName = (typeof PROFILE_NAMES)[number]

export interface Profile {
  name: ProfileName
  /** One line, for --help and the device type's name. */
  description: string
  telemetry: readonly MetricSpec[]
  /** The signals of one device: the same seed (and environment) gives the same values. */
  create(seed: string, env?: SignalEnvironment): SimulatedSignals
}

// ---- building: one room or zone of an office ------------------------------------------

const building: Profile = {
  name: 'building',
  description: 'office room sensors: temperature, humidity, CO2, occupancy, energy meter, HVAC state',
  telemetry: [
    { metric: 'temperature', unit: '°C', valueType: 'number', min: 10, max: 35 },
    { metric: 'humidity', unit: '%', valueType: 'number', min: 0, max: 100 },
    { metric: 'co2', unit: 'ppm', valueType: 'integer', min: 350, max: 5000 },
    { metric: 'occupancy', unit: 'people', valueType: 'integer', min: 0, max: 40 },
    { metric: 'energy', unit: 'Wh', valueType: 'integer', min: 0 },
    { metric: 'hvac_on', valueType: 'boolean' },
  ],
  create(seed, env = {}) {
    const utcOffsetMs = env.utcOffsetMs ?? 0
    const rng = new Rng(seed)
    const capacity = rng.int(4, 40)
    const setpoint = rng.range(20.5, 22.5)
    const hvacFrom = rng.range(6, 7.5)
    const hvacTo = rng.range(18, 19.5)
    const occupancy = new Occupancy(rng.fork('occupancy'), capacity, utcOffsetMs)
    const hvacFault = new Flag(rng.fork('hvac-fault'), false, 20 * MINUTE, 2 * DAY)
    const room = new Lag(setpoint - 1, 30 * MINUTE)
    const tempNoise = new SlowNoise(rng.fork('temperature'), 0.3, 40 * MINUTE)
    const humidityNoise = new SlowNoise(rng.fork('humidity'), 4, 2 * HOUR)
    const co2 = new Lag(430, 15 * MINUTE)
    const co2Noise = new SlowNoise(rng.fork('co2'), 12, 10 * MINUTE)
    const meter = new EnergyCounter(rng.int(1_000_000, 50_000_000))
    return {
      sample(ts) {
        const h = hourOfDay(ts, utcOffsetMs)
        const day = dayOfWeek(ts, utcOffsetMs)
        const scheduled = day !== 0 && day !== 6 && h >= hvacFrom && h < hvacTo
        const hvacOn = scheduled && !hvacFault.at(ts)
        const people = occupancy.at(ts)
        // With HVAC the room goes to its setpoint; without, it drifts with the weather.
        const outside = dailyCycle(ts, { mean: setpoint - 3, amplitude: 2.5, peakHour: 16, utcOffsetMs })
        const air = hvacOn ? room.at(ts, setpoint) : room.at(ts, outside, 3 * HOUR)
        const temperature = clamp(air + 0.04 * people + tempNoise.at(ts), 10, 35)
        const humidity = clamp(45 + humidityNoise.at(ts) - 1.5 * (temperature - 21) + 0.1 * people, 15, 85)
        const co2Target = 420 + (650 * people) / capacity / (hvacOn ? 1.6 : 1)
        const ppm = clamp(Math.round(co2.at(ts, co2Target) + co2Noise.at(ts)), 380, 5000)
        const watts = 300 + 60 * people + (hvacOn ? 2200 + 300 * Math.abs(temperature - setpoint) : 0)
        return {
          temperature: quantize(temperature, 0.1),
          humidity: quantize(humidity, 0.5),
          co2: ppm,
          occupancy: people,
          energy: meter.at(ts, watts),
          hvac_on: hvacOn,
        }
      },
    }
  },
}

// ---- factory: one machine tool ---------------------------------------------------------

const factory: Profile = {
  name: 'factory',
  description:
    'machine tool: vibration (x, y), motor temperature, spindle speed, energy meter, running, parts made',
  telemetry: [
    { metric: 'vibration_x', unit: 'g', valueType: 'number', min: -4, max: 4 },
    { metric: 'vibration_y', unit: 'g', valueType: 'number', min: -4, max: 4 },
    { metric: 'motor_temp', unit: '°C', valueType: 'number', min: 0, max: 120 },
    { metric: 'spindle_rpm', unit: 'rpm', valueType: 'integer', min: 0, max: 12000 },
    { metric: 'energy', unit: 'Wh', valueType: 'integer', min: 0 },
    { metric: 'running', valueType: 'boolean' },
    { metric: 'parts_count', unit: 'parts', valueType: 'integer', min: 0 },
  ],
  create(seed, env = {}) {
    const utcOffsetMs = env.utcOffsetMs ?? 0
    const rng = new Rng(seed)
    const rpmSetpoint = rng.int(30, 90) * 100
    const running = new Flag(rng.fork('running'), rng.chance(0.9), 2 * HOUR, 8 * MINUTE)
    const vibration = {
      noise: 0.02,
      burstsPerHour: 4,
      burstAmplitude: 0.8,
      frequencyHz: 0.37,
      decayMs: 15 * SECOND,
    }
    const vibX = new Vibration(rng.fork('vibration_x'), vibration)
    const vibY = new Vibration(rng.fork('vibration_y'), { ...vibration, noise: 0.015 })
    const rpm = new Lag(0, 5 * SECOND)
    const motor = new Lag(40, 10 * MINUTE)
    const motorNoise = new SlowNoise(rng.fork('motor'), 0.2, 2 * MINUTE)
    const meter = new EnergyCounter(rng.int(10_000_000, 900_000_000))
    const parts = new EventCounter(rng.fork('parts'), rng.int(0, 100_000), rng.range(20, 90) * SECOND)
    const noise = rng.fork('noise')
    return {
      sample(ts) {
        const on = running.at(ts)
        const load = rpmSetpoint / 9000
        const speed = rpm.at(ts, on ? rpmSetpoint : 0)
        const ambient = dailyCycle(ts, { mean: 22, amplitude: 2, peakHour: 15, utcOffsetMs })
        const temp = on ? motor.at(ts, 50 + 20 * load) : motor.at(ts, ambient, 25 * MINUTE)
        const quiet = on ? 1 : 0.15
        return {
          vibration_x: clamp(vibX.at(ts) * quiet, -4, 4),
          vibration_y: clamp(vibY.at(ts) * quiet, -4, 4),
          motor_temp: quantize(clamp(temp + motorNoise.at(ts), 0, 120), 0.1),
          spindle_rpm: clamp(Math.round(speed * (1 + 0.003 * noise.normal())), 0, 12000),
          energy: meter.at(ts, on ? 9000 + 4000 * load : 1200),
          running: on,
          parts_count: parts.at(ts, on),
        }
      },
    }
  },
}

// ---- fleet: one delivery van ------------------------------------------------------------

const CITIES: readonly LatLon[] = [
  { lat: 52.3676, lon: 4.9041 }, // Amsterdam
  { lat: 45.764, lon: 4.8357 }, // Lyon
  { lat: 48.1351, lon: 11.582 }, // Munich
  { lat: 41.3874, lon: 2.1686 }, // Barcelona
  { lat: 30.2672, lon: -97.7431 }, // Austin
  { lat: 43.6532, lon: -79.3832 }, // Toronto
]

const fleet: Profile = {
  name: 'fleet',
  description:
    'delivery vehicle: GPS position along a route, speed, fuel level, engine temperature, ignition',
  telemetry: [
    { metric: 'lat', unit: '°', valueType: 'number', min: -90, max: 90 },
    { metric: 'lon', unit: '°', valueType: 'number', min: -180, max: 180 },
    { metric: 'speed', unit: 'km/h', valueType: 'number', min: 0, max: 130 },
    { metric: 'fuel', unit: '%', valueType: 'number', min: 0, max: 100 },
    { metric: 'engine_temp', unit: '°C', valueType: 'number', min: -40, max: 130 },
    { metric: 'ignition', valueType: 'boolean' },
  ],
  create(seed, env = {}) {
    const rng = new Rng(seed)
    const city = CITIES[rng.int(0, CITIES.length - 1)] as LatLon
    const route = new Route(rng.fork('route'), city, rng.range(3_000, 9_000), rng.int(8, 14))
    const vehicle = new Vehicle(rng.fork('vehicle'), route, {
      utcOffsetMs: env.utcOffsetMs ?? 0,
      cruiseKmh: rng.range(35, 60),
      startM: rng.range(0, route.lengthM),
      fuelL: rng.range(20, 80),
    })
    return {
      sample(ts) {
        const v = vehicle.at(ts)
        return {
          lat: quantize(v.lat, 0.000001),
          lon: quantize(v.lon, 0.000001),
          speed: quantize(clamp(v.speed, 0, 130), 0.1),
          fuel: quantize(v.fuel, 0.1),
          engine_temp: quantize(v.engineTemp, 0.5),
          ignition: v.ignition,
        }
      },
    }
  },
}

export const PROFILES: Readonly<Record<ProfileName, Profile>> = Object.freeze({ building, factory, fleet })

/** The profile called `name`, or undefined. */
export function profileOf(name: string): Profile | undefined {
  return (PROFILE_NAMES as readonly string[]).includes(name) ? PROFILES[name as ProfileName] : undefined
}
