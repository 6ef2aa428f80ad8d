// The simulator's signals and profiles: deterministic per seed, quantised exactly as a real
// sensor's readings, counters that never go back, values within their device type's spec,
// and bad payloads that the platform's own decoders refuse.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeTelemetry, type TelemetryFormat, TelemetryFormatError } from '@strata/protocol'
import { badPayload, checkFaults, dropChance, inBurst } from '../src/simulator/faults.js'
import { PROFILE_NAMES, PROFILES, type Sample } from '../src/simulator/profiles.js'
import { Rng } from '../src/simulator/random.js'
import {
  DAY,
  distanceM,
  EnergyCounter,
  HOUR,
  MINUTE,
  quantize,
  Route,
  SECOND,
  SlowNoise,
  Vibration,
  workdayShape,
} from '../src/simulator/signals.js'

// A Monday, 00:00 UTC: the samples below cover a whole working week and a weekend.
const START = Date.UTC(2031, 0, 6)

/** Samples of `seed` every `stepMs` for `spanMs`. */
function series(profile: keyof typeof PROFILES, seed: string, spanMs: number, stepMs: number): Sample[] {
  const signals = PROFILES[profile].create(seed)
  const out: Sample[] = []
  for (let ts = START; ts < START + spanMs; ts += stepMs) out.push(signals.sample(ts))
  return out
}

/** True when `value` is written with at most `decimals` decimals (what a sensor of that resolution reports). */
const hasDecimals = (value: number, decimals: number): boolean =>
  Number(value.toFixed(decimals)) === value && !/e/.test(String(value)) && decimalsIn(value) <= decimals

const decimalsIn = (value: number): number => (String(value).split('.')[1] ?? '').length

describe('simulator signals', () => {
  test('the same seed gives the same values, another seed others', () => {
    for (const name of PROFILE_NAMES) {
      const a = series(name, 'dev-1', HOUR, 10 * SECOND)
      const b = series(name, 'dev-1', HOUR, 10 * SECOND)
      const c = series(name, 'dev-2', HOUR, 10 * SECOND)
      assert.deepEqual(a, b, `${name}: deterministic`)
      assert.notDeepEqual(a, c, `${name}: seeded`)
    }
  })

  test('quantize gives exact shortest decimals', () => {
    assert.equal(quantize(21.349999, 0.1), 21.3)
    assert.equal(quantize(21.35, 0.1), 21.4)
    assert.equal(quantize(0.1 + 0.2, 0.1), 0.3)
    assert.equal(quantize(47.26, 0.5), 47.5)
    assert.equal(quantize(52.36761234, 0.000001), 52.367612)
    assert.equal(quantize(-3.04, 0.1), -3)
    const rng = new Rng(1)
    for (let i = 0; i < 10_000; i++) {
      const v = quantize(rng.range(-50, 50), 0.1)
      assert.ok(hasDecimals(v, 1), `${v} has one decimal at most`)
    }
  })

  test('building: 0.1 °C, 0.5 % humidity, integer CO2 and occupancy, monotonic energy, within spec', () => {
    const spec = new Map(PROFILES.building.telemetry.map((m) => [m.metric, m]))
    const week = series('building', 'room-7', 7 * DAY, 5 * MINUTE)
    let energy = -1
    let maxPeople = 0
    for (const s of week) {
      assert.ok(hasDecimals(s.temperature as number, 1), `temperature ${s.temperature}`)
      const halves = (s.humidity as number) * 2
      assert.equal(halves, Math.round(halves), `humidity ${s.humidity} is a multiple of 0.5`)
      assert.ok(Number.isInteger(s.co2) && Number.isInteger(s.occupancy) && Number.isInteger(s.energy))
      assert.ok((s.energy as number) >= energy, 'the energy counter never goes back')
      energy = s.energy as number
      maxPeople = Math.max(maxPeople, s.occupancy as number)
      assert.equal(typeof s.hvac_on, 'boolean')
      for (const [metric, value] of Object.entries(s)) {
        const m = spec.get(metric)
        assert.ok(m, `${metric} is in the spec`)
        if (typeof value === 'number') {
          assert.ok(m.min === undefined || value >= m.min, `${metric} ${value} >= ${m.min}`)
          assert.ok(m.max === undefined || value <= m.max, `${metric} ${value} <= ${m.max}`)
        }
      }
    }
    assert.ok(maxPeople > 0, 'people come in on working days')
    // Saturday and Sunday are (almost) empty; Tuesday at 10:00 is not.
    const at = (day: number, hour: number): Sample => week[(day * DAY + hour * HOUR) / (5 * MINUTE)] as Sample
    assert.ok((at(5, 11).occupancy as number) <= Math.ceil(maxPeople * 0.2))
    assert.equal(at(6, 3).hvac_on, false, 'no HVAC on Sunday night')
    assert.ok(workdayShape(START + DAY + 10 * HOUR, 0) > 0.9)
  })

  test('factory: full-precision vibration with bursts, monotonic counters, integer rpm', () => {
    const day = series('factory', 'press-3', DAY, SECOND)
    let parts = -1
    let energy = -1
    let fine = 0
    let peak = 0
    for (const s of day) {
      assert.ok((s.parts_count as number) >= parts && (s.energy as number) >= energy, 'counters only go up')
      parts = s.parts_count as number
      energy = s.energy as number
      assert.ok(Number.isInteger(s.spindle_rpm))
      assert.ok(hasDecimals(s.motor_temp as number, 1))
      if (decimalsIn(s.vibration_x as number) > 6) fine++
      peak = Math.max(peak, Math.abs(s.vibration_x as number))
    }
    assert.ok(fine > day.length * 0.9, 'vibration keeps full precision')
    assert.ok(parts > (day[0]?.parts_count as number), 'parts are made')
    assert.ok(peak > 0.2, `bursts stand out of the 0.02 g noise (peak ${peak})`)
  })

  test('a vibration burst decays', () => {
    const v = new Vibration(new Rng(3), {
      noise: 0,
      burstsPerHour: 1,
      burstAmplitude: 1,
      frequencyHz: 0.37,
      decayMs: 15 * SECOND,
    })
    const samples: number[] = []
    for (let ts = 0; ts < 10 * HOUR; ts += 100) samples.push(Math.abs(v.at(ts)))
    const first = samples.findIndex((x) => x > 0.3)
    assert.ok(first >= 0, 'a burst came')
    const later = samples.slice(first + 900, first + 1000) // 90 s on: six time constants
    assert.ok(Math.max(...later) < 0.05, 'and died down')
  })

  test('fleet: positions along the route, speed, fuel and engine within spec', () => {
    const day = series('fleet', 'van-12', DAY, 10 * SECOND)
    let moved = 0
    let prev: Sample | undefined
    for (const s of day) {
      assert.ok(hasDecimals(s.lat as number, 6) && hasDecimals(s.lon as number, 6))
      assert.ok((s.speed as number) >= 0 && (s.speed as number) <= 130)
      assert.ok((s.fuel as number) >= 0 && (s.fuel as number) <= 100)
      if (!s.ignition) assert.ok((s.speed as number) < 60, 'slowing down once the engine is off')
      if (prev) {
        const step = distanceM(
          { lat: prev.lat as number, lon: prev.lon as number },
          { lat: s.lat as number, lon: s.lon as number },
        )
        assert.ok(step < 500, `no teleporting: ${step} m in 10 s`)
        moved += step
      }
      prev = s
    }
    assert.ok(moved > 20_000, `it drives during its shift (${Math.round(moved)} m)`)
    assert.ok(day.some((s) => s.ignition) && day.some((s) => !s.ignition))
  })

  test('a route is a closed loop', () => {
    const route = new Route(new Rng(9), { lat: 52.37, lon: 4.9 }, 5000, 10)
    const a = route.at(0)
    const b = route.at(route.lengthM)
    assert.ok(distanceM(a, b) < 1)
    assert.ok(route.lengthM > 10_000)
  })

  test('slow noise has the asked spread and drifts slowly; energy integrates power', () => {
    const noise = new SlowNoise(new Rng(5), 2, 10 * MINUTE)
    const values: number[] = []
    for (let ts = 0; ts < 200 * HOUR; ts += MINUTE) values.push(noise.at(ts))
    const mean = values.reduce((a, b) => a + b, 0) / values.length
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length)
    assert.ok(sd > 1.6 && sd < 2.4, `sd ${sd}`)
    const steps = values.slice(1).map((v, i) => Math.abs(v - (values[i] as number)))
    const meanStep = steps.reduce((a, b) => a + b, 0) / steps.length
    assert.ok(meanStep < sd / 2, `drifts: a minute's step (${meanStep}) is small beside the spread`)
    const meter = new EnergyCounter(1000)
    meter.at(0, 1000)
    assert.equal(meter.at(HOUR, 1000), 2000, '1 kW for an hour is 1000 Wh')
  })
})

describe('simulator faults', () => {
  test('every bad payload is refused by the platform decoders', () => {
    const rng = new Rng(11)
    const flaws = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const bad = badPayload('dev-1', START, rng)
      flaws.add(bad.flaw)
      const format: TelemetryFormat = bad.topic.endsWith('/batch') ? 'batch' : 'json'
      const bytes = typeof bad.payload === 'string' ? new TextEncoder().encode(bad.payload) : bad.payload
      assert.throws(() => decodeTelemetry(format, bytes, START), TelemetryFormatError, bad.flaw)
    }
    assert.equal(flaws.size, 4)
  })

  test('bursts, drop chances and option checks', () => {
    const burst = { everyMs: 30_000, durationMs: 5_000, factor: 10 }
    assert.equal(inBurst(60_000, burst), true)
    assert.equal(inBurst(66_000, burst), false)
    assert.equal(inBurst(60_000, undefined), false)
    assert.ok(Math.abs(dropChance(1, 60_000) - (1 - Math.exp(-1))) < 1e-12)
    assert.throws(() => checkFaults({ badPayloadFraction: 1.5 }), /badPayloadFraction/)
    assert.throws(() => checkFaults({ disconnectPerMinute: -1 }), /disconnectPerMinute/)
    assert.throws(() => checkFaults({ burst: { ...burst, durationMs: 40_000 } }), /durationMs/)
    checkFaults({ badPayloadFraction: 0.2, clockSkewMs: -3_600_000, burst })
  })
})
