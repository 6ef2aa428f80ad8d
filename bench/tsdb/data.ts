// The benchmark's data: devices x metrics at a 1-second interval, deterministic from a seed.
// Every series has its own random streams (one for its values, one for its device's clock), so
// a series comes out the same whether it is generated alone (the bit-exact check regenerates
// it) or among all the others in time-ordered batches (ingest), and nothing is held in memory
// beyond one batch: batches are typed arrays, never one object per point.

export const KINDS = ['temperature', 'humidity', 'vibration', 'counter', 'status', 'occupancy'] as const
export type Kind = (typeof KINDS)[number]

/** The ten metrics of every device, and the kind of signal each one is. */
export const METRICS: readonly { name: string; kind: Kind }[] = [
  { name: 'temperature', kind: 'temperature' },
  { name: 'temperature_probe', kind: 'temperature' },
  { name: 'humidity', kind: 'humidity' },
  { name: 'vibration_x', kind: 'vibration' },
  { name: 'vibration_y', kind: 'vibration' },
  { name: 'energy_wh', kind: 'counter' },
  { name: 'pulses', kind: 'counter' },
  { name: 'status', kind: 'status' },
  { name: 'door_open', kind: 'status' },
  { name: 'occupancy', kind: 'occupancy' },
]

export interface DataSpec {
  devices: number
  /** Nominal samples per series: one per second. */
  seconds: number
  /** Epoch ms of the first nominal sample (a whole minute). */
  startMs: number
  seed: number
}

/** Devices whose clock is jittered by ±50 ms and which go silent now and then (gaps). */
export const isJittered = (device: number): boolean => device % 25 === 3

export const seriesId = (device: number, metric: number): number => device * METRICS.length + metric
export const deviceOf = (id: number): number => Math.floor(id / METRICS.length)
export const metricOf = (id: number) => METRICS[id % METRICS.length] as { name: string; kind: Kind }
export const deviceName = (device: number): string => `d${String(device).padStart(3, '0')}`
export const seriesCount = (spec: DataSpec): number => spec.devices * METRICS.length
export const endMs = (spec: DataSpec): number => spec.startMs + spec.seconds * 1000

/**
 * Series the recovery test writes to while the engine is killed: ids from SCRATCH_BASE up, so
 * they never collide with the data set's series (name: metric "scratch", device "s<n>").
 */
export const SCRATCH_BASE = 1_000_000

export function seriesName(id: number): { metric: string; device: string } {
  if (id >= SCRATCH_BASE) return { metric: 'scratch', device: `s${id - SCRATCH_BASE}` }
  return { metric: metricOf(id).name, device: deviceName(deviceOf(id)) }
}

/** Series ids grouped by kind, in id order. */
export function seriesOfKind(spec: DataSpec, kind: Kind): number[] {
  const out: number[] = []
  for (let id = 0; id < seriesCount(spec); id++) if (metricOf(id).kind === kind) out.push(id)
  return out
}

/** mulberry32: small, fast, and good enough for synthetic signals. */
class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0
    let t = this.s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** Standard normal (Box-Muller, one value per call). */
  gauss(): number {
    const u = this.next() || 1e-12
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }
}

function mix(a: number, b: number, c: number): number {
  let h = (a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca77)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d)
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b)
  return (h ^ (h >>> 16)) >>> 0
}

const DAY_S = 86_400

/** One series: its values evolve every nominal second; a point is emitted unless in a gap. */
export class SeriesGenerator {
  private readonly rng: Rng
  private readonly clock: Rng | null
  private readonly kind: Kind
  private readonly metric: number
  private sec = 0
  private gapLeft = 0
  // Signal state, used according to the kind.
  private readonly base: number
  private readonly phase: number
  private noise = 0
  private level = 0
  private burstLeft = 0
  private burstAmp = 0
  private burstHz = 0

  constructor(
    private readonly spec: DataSpec,
    readonly id: number,
  ) {
    const device = deviceOf(id)
    this.metric = id % METRICS.length
    this.kind = metricOf(id).kind
    this.rng = new Rng(mix(spec.seed, id, 1))
    this.clock = isJittered(device) ? new Rng(mix(spec.seed, device, 2)) : null
    const r = this.rng
    this.phase = r.next() * 2 * Math.PI
    switch (this.kind) {
      case 'temperature':
        this.base = (this.metric === 0 ? 21 : 35) + r.gauss() * 2
        break
      case 'humidity':
        this.base = 45 + r.gauss() * 5
        break
      case 'counter':
        // energy_wh: 0.5 to 4 Wh a second; pulses: a pulse in about 30% of seconds.
        this.base = this.metric === 5 ? 0.5 + r.next() * 3.5 : 0.3
        this.level = r.int(0, 5_000_000)
        break
      case 'status':
        this.level = this.metric === 7 ? 1 : 0
        this.base = 0
        break
      case 'occupancy':
        this.level = r.int(0, 10)
        this.base = 0
        break
      default:
        this.base = 0
    }
  }

  /** The next nominal second's value (advances the signal state). */
  private value(t: number): number {
    const r = this.rng
    const day = Math.sin((2 * Math.PI * (this.spec.startMs / 1000 + t)) / DAY_S + this.phase)
    switch (this.kind) {
      case 'temperature':
        // Daily cycle plus slow noise, quantised to 0.1 (a typical sensor's resolution).
        this.noise = 0.995 * this.noise + 0.02 * r.gauss()
        return Math.round((this.base + 4 * day + this.noise) * 10) / 10
      case 'humidity':
        this.noise = 0.995 * this.noise + 0.05 * r.gauss()
        return Math.round((this.base - 10 * day + this.noise) * 2) / 2
      case 'vibration': {
        // Full-precision noise, with bursts of a decaying oscillation now and then.
        let v = 0.01 * r.gauss()
        if (this.burstLeft === 0 && r.next() < 1 / 600) {
          this.burstLeft = r.int(5, 30)
          this.burstAmp = 0.5 + r.next() * 4.5
          this.burstHz = 0.05 + r.next() * 0.4
        }
        if (this.burstLeft > 0) {
          this.burstLeft--
          v += this.burstAmp * Math.sin(2 * Math.PI * this.burstHz * t) * (0.5 + 0.5 * r.next())
        }
        return v
      }
      case 'counter':
        // Monotonic integer counters.
        this.level += this.metric === 5 ? Math.floor(this.base + r.next() * 2) : r.next() < this.base ? 1 : 0
        return this.level
      case 'status':
        // Mostly constant: status drops to 0 for a while once in ~1.4 h; the door opens every ~15 min.
        if (this.burstLeft > 0) {
          if (--this.burstLeft === 0) this.level = this.metric === 7 ? 1 : 0
        } else if (r.next() < (this.metric === 7 ? 1 / 5000 : 1 / 900)) {
          this.burstLeft = r.int(5, 120)
          this.level = this.metric === 7 ? 0 : 1
        }
        return this.level
      case 'occupancy': {
        // A small integer drifting toward a daytime-biased target.
        const target = Math.round(12 + 10 * day)
        if (r.next() < 0.05) this.level = Math.max(0, this.level + (this.level < target ? 1 : -1))
        else if (r.next() < 0.01) this.level = Math.max(0, this.level + (r.next() < 0.5 ? 1 : -1))
        return this.level
      }
    }
  }

  /**
   * Appends the points of nominal seconds [current, untilSec) to ts/values from `at`; returns
   * how many were written (fewer than the seconds when the device is in a gap).
   */
  fill(untilSec: number, ts: Float64Array, values: Float64Array, at: number): number {
    const until = Math.min(untilSec, this.spec.seconds)
    let n = at
    for (; this.sec < until; this.sec++) {
      const t = this.sec
      let jitter = 0
      let skip = false
      if (this.clock) {
        // Same draws for every metric of the device, so its metrics share gaps and jitter.
        const c = this.clock
        if (this.gapLeft > 0) {
          this.gapLeft--
          skip = true
        } else if (c.next() < 1 / 1200) {
          this.gapLeft = c.int(20, 300)
          skip = true
        }
        jitter = Math.round((c.next() * 2 - 1) * 50)
      }
      const v = this.value(t)
      if (skip) continue
      ts[n] = this.spec.startMs + t * 1000 + jitter
      values[n] = v
      n++
    }
    return n - at
  }
}

/** One series in full (used by the checks; 10,800 points for 3 hours). */
export function seriesData(spec: DataSpec, id: number): { ts: Float64Array; values: Float64Array } {
  const ts = new Float64Array(spec.seconds)
  const values = new Float64Array(spec.seconds)
  const n = new SeriesGenerator(spec, id).fill(spec.seconds, ts, values, 0)
  return { ts: ts.slice(0, n), values: values.slice(0, n) }
}

/**
 * A batch: consecutive runs of points, one run per series, each run in time order. Runs cover
 * the same window of time; batches follow each other in time (the way devices report).
 */
export interface Batch {
  /** Series id of each run. */
  series: Int32Array
  /** Run r is points [offsets[r], offsets[r + 1]). */
  offsets: Int32Array
  ts: Float64Array
  values: Float64Array
  points: number
}

/** What to ingest: a plain description, so that a child process can generate it itself. */
export interface BatchSource {
  spec: DataSpec
  /** Series to include (all of the data set, or one kind's). */
  series: number[]
  /** Seconds of data per batch (all the series over that window). */
  batchSeconds: number
}

/** The batches of a source, generated as they are consumed; `genMs` counts the time spent here. */
export class BatchStream implements Iterable<Batch> {
  genMs = 0
  points = 0
  constructor(readonly source: BatchSource) {}

  *[Symbol.iterator](): Iterator<Batch> {
    const { spec, series, batchSeconds } = this.source
    const gens = series.map((id) => new SeriesGenerator(spec, id))
    for (let from = 0; from < spec.seconds; from += batchSeconds) {
      const t0 = performance.now()
      const until = Math.min(from + batchSeconds, spec.seconds)
      const cap = gens.length * (until - from)
      const batch: Batch = {
        series: Int32Array.from(series),
        offsets: new Int32Array(gens.length + 1),
        ts: new Float64Array(cap),
        values: new Float64Array(cap),
        points: 0,
      }
      let n = 0
      for (let r = 0; r < gens.length; r++) {
        batch.offsets[r] = n
        n += (gens[r] as SeriesGenerator).fill(until, batch.ts, batch.values, n)
      }
      batch.offsets[gens.length] = n
      batch.points = n
      this.points += n
      this.genMs += performance.now() - t0
      yield batch
    }
  }
}

/** Points per scratch batch (the recovery test's writes). */
export const SCRATCH_POINTS = 500

/** A small batch for the scratch series of the recovery test: `points` points after the data. */
export function scratchBatch(spec: DataSpec, seq: number, points: number): Batch {
  const ts = new Float64Array(points)
  const values = new Float64Array(points)
  const t0 = endMs(spec) + 60_000 + seq * points
  for (let i = 0; i < points; i++) {
    ts[i] = t0 + i
    values[i] = seq + i / points
  }
  return {
    series: Int32Array.of(SCRATCH_BASE),
    offsets: Int32Array.of(0, points),
    ts,
    values,
    points,
  }
}

/**
 * How many points of scratch batches 0..batches-1 (the acknowledged ones) are in `got`, the
 * scratch series read back after a restart: same timestamp, same float64.
 */
export function scratchFound(
  spec: DataSpec,
  batches: number,
  points: number,
  got: { ts: Float64Array; values: Float64Array },
): number {
  const byTs = new Map<number, number>()
  for (let i = 0; i < got.ts.length; i++) byTs.set(got.ts[i] as number, got.values[i] as number)
  let found = 0
  for (let seq = 0; seq < batches; seq++) {
    const b = scratchBatch(spec, seq, points)
    for (let i = 0; i < b.points; i++) if (Object.is(byTs.get(b.ts[i] as number), b.values[i])) found++
  }
  return found
}

/** Expected per-minute averages of a series over [fromMs, toMs): bucket start -> mean. */
export function expectedMinuteAverages(
  data: { ts: Float64Array; values: Float64Array },
  fromMs: number,
  toMs: number,
): Map<number, number> {
  const sums = new Map<number, [number, number]>()
  for (let i = 0; i < data.ts.length; i++) {
    const t = data.ts[i] as number
    if (t < fromMs || t >= toMs) continue
    const m = Math.floor(t / 60_000) * 60_000
    const s = sums.get(m) ?? [0, 0]
    s[0] += data.values[i] as number
    s[1]++
    sums.set(m, s)
  }
  return new Map([...sums].map(([m, [sum, n]]) => [m, sum / n]))
}
