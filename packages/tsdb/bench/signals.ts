/**
 * Synthetic IoT series for the codec benchmark (issue 4's signal kinds), seeded
 * so every run sees the same points: 1 s interval, 3 hours (10,800 points) each.
 */

export interface Series {
  name: string
  timestamps: number[]
  values: Float64Array
}

/** mulberry32: a small seeded PRNG, good enough for test signals. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

export const START = Date.UTC(2025, 0, 1, 6) // 06:00 UTC: the daily cycle is rising
export const POINTS = 3 * 3600
const DAY = 86_400

const regular = (): number[] => Array.from({ length: POINTS }, (_, i) => START + i * 1000)

const quantise = (x: number, step: number): number => Math.round(x / step) * step
/** How a device formats a quantised reading: a short decimal, parsed back from its text. */
const decimal = (x: number, digits: number): number => Number(x.toFixed(digits))

function temperature(seed: number, ts: number[]): Float64Array {
  const noise = gaussian(rng(seed))
  return Float64Array.from(ts, (t) => {
    const s = t / 1000
    return decimal(quantise(21 + 4 * Math.sin((2 * Math.PI * s) / DAY) + 0.05 * noise(), 0.1), 1)
  })
}

export function signals(): Series[] {
  const ts = regular()
  const out: Series[] = []

  out.push({ name: 'temperature 0.1', timestamps: ts, values: temperature(1, ts) })

  {
    const noise = gaussian(rng(2))
    const values = Float64Array.from(ts, (t) => {
      const s = t / 1000
      return quantise(55 - 10 * Math.sin((2 * Math.PI * s) / DAY) + 0.4 * noise(), 0.5)
    })
    out.push({ name: 'humidity 0.5', timestamps: ts, values })
  }

  {
    // RMS acceleration in g, full precision; bursts of 30-90 s about every 20 min.
    const random = rng(3)
    const noise = gaussian(random)
    let burstLeft = 0
    const values = Float64Array.from(ts, (t) => {
      if (burstLeft === 0 && random() < 1 / 1200) burstLeft = 30 + Math.floor(random() * 60)
      const gain = burstLeft > 0 ? 15 : 1
      if (burstLeft > 0) burstLeft--
      return Math.abs(0.02 * gain * (1 + 0.2 * Math.sin((2 * Math.PI * t) / 60_000)) + 0.004 * gain * noise())
    })
    out.push({ name: 'vibration (float)', timestamps: ts, values })
  }

  {
    // Energy meter in Wh, monotonic: 5-25 kW of load, so 1-7 Wh per second.
    const noise = gaussian(rng(4))
    let energy = 12_345_678
    const values = Float64Array.from(ts, (t) => {
      const kw = 15 + 10 * Math.sin((2 * Math.PI * t) / 5_400_000) + noise()
      energy += (kw * 1000) / 3600
      return Math.floor(energy)
    })
    out.push({ name: 'energy counter', timestamps: ts, values })
  }

  {
    // Status flag: flips about every 40 minutes.
    const random = rng(5)
    let state = 1
    const values = Float64Array.from(ts, () => {
      if (random() < 1 / 2400) state = 1 - state
      return state
    })
    out.push({ name: 'status flag', timestamps: ts, values })
  }

  {
    // Room occupancy: ±1 about every 90 s, never below 0.
    const random = rng(6)
    let people = 12
    const values = Float64Array.from(ts, () => {
      if (random() < 1 / 90) people = Math.max(0, people + (random() < 0.55 ? 1 : -1))
      return people
    })
    out.push({ name: 'occupancy', timestamps: ts, values })
  }

  {
    // ±50 ms jitter around the 1 s grid, and 4 gaps of 10 s to 15 min (device offline).
    const random = rng(7)
    const gaps: [number, number][] = Array.from({ length: 4 }, () => {
      const from = Math.floor(random() * POINTS)
      return [from, from + 10 + Math.floor(random() * 890)]
    })
    const jittered = ts
      .map((t) => t + Math.round((random() - 0.5) * 100))
      .filter((_, i) => !gaps.some(([a, b]) => i >= a && i < b))
    out.push({ name: 'jittered + gaps', timestamps: jittered, values: temperature(8, jittered) })
  }
  return out
}
