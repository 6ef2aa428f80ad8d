/**
 * TelemetryQueries: reading telemetry back, on the time-series engine and the registry, for the
 * HTTP API (api/routes/telemetry.ts) and for anything in-process (a dashboard, an integration)
 * that wants the same answers without HTTP.
 *
 * Every method checks its whole input first and throws (QueryError, the registry's NotFoundError
 * or SelectorError) before anything is read; range queries then return an AsyncIterable that
 * reads the engine as it is consumed, batch by batch, so a range is never held in memory
 * whole. Breaking out of the loop, or aborting `signal`, stops the engine read.
 *
 * Guards against requests that would run for minutes or answer gigabytes: a fleet query takes at
 * most `maxDevices` devices, any aggregate at most `maxBuckets` buckets per series and
 * `maxCells` buckets in all; a raw read stops after `limit` points and says where to go on.
 */
import { METRIC_PATTERN } from '@strata/protocol'
import { AGGREGATE_FUNCTIONS, type AggregateFunction, type TimeSeriesEngine } from '@strata/tsdb'
import type { Device } from '../registry/model.js'
import { TAG_KEY_PATTERN } from '../registry/model.js'
import type { Page, RegistryRepository } from '../registry/repository.js'
import { invalidQuery, tooLarge, unsupported } from './errors.js'
import { type DurationInput, parseDuration, resolveRange, type TimeInput, type TimeRange } from './params.js'

export interface TelemetryQueryLimits {
  /** Devices a fleet query may select. Default 1000. */
  maxDevices: number
  /** Metrics one query may name. Default 32. */
  maxMetrics: number
  /** Buckets per series in the range. Default 100,000. */
  maxBuckets: number
  /** Buckets in all (series or groups × metrics × buckets). Default 2,000,000. */
  maxCells: number
  /** Largest `limit` of a raw read. Default 1,000,000. */
  maxRawPoints: number
  /** `limit` of a raw read that names none. Default 10,000. */
  defaultRawPoints: number
}

export const DEFAULT_QUERY_LIMITS: Readonly<TelemetryQueryLimits> = Object.freeze({
  maxDevices: 1000,
  maxMetrics: 32,
  maxBuckets: 100_000,
  maxCells: 2_000_000,
  maxRawPoints: 1_000_000,
  defaultRawPoints: 10_000,
})

/** The most points in one batch handed out: a line of the HTTP stream stays small. */
export const MAX_BATCH_POINTS = 2048

/** What the queries need of the engine (a narrower type so tests can wrap it); downsample() is optional. */
export type QueryEngine = Pick<TimeSeriesEngine, 'raw' | 'aggregate' | 'latest' | 'series'> &
  Partial<Pick<TimeSeriesEngine, 'downsample'>>
export type QueryRegistry = Pick<RegistryRepository, 'getDevice' | 'listDevices'>

export interface QueryCallOptions {
  signal?: AbortSignal
}

/** Points (or buckets: timestamps are bucket starts) of one device's metric, in time order. */
export interface SeriesBatch {
  readonly kind: 'series'
  readonly device: string
  readonly metric: string
  readonly timestamps: Float64Array
  readonly values: Float64Array
}

/** Buckets of a metric combined over the devices of one group (devices sharing a tag's value). */
export interface GroupBatch {
  readonly kind: 'group'
  /** `{building: 'north'}`; null for the devices without the tag. */
  readonly group: Readonly<Record<string, string | null>>
  readonly metric: string
  readonly timestamps: Float64Array
  readonly values: Float64Array
}

export interface LatestValue {
  metric: string
  ts: number
  value: number
}

export interface DeviceLatest {
  deviceId: string
  values: LatestValue[]
}

export interface RawQuery {
  deviceId: string
  metric: string
  from?: TimeInput
  to?: TimeInput
  /** Most points to return; default `defaultRawPoints`, at most `maxRawPoints`. Not with `points`. */
  limit?: number
  /**
   * At most this many points chosen by LTTB (the engine's downsample()): real points, the first
   * and last kept, for a chart. The whole range, no paging; at most `maxRawPoints`.
   */
  points?: number
}

export interface AggregateQuery {
  deviceId: string
  metric: string
  from?: TimeInput
  to?: TimeInput
  bucket: DurationInput
  /** Default 'avg'. */
  fn?: AggregateFunction
}

export type GroupBy = 'device' | { tag: string }

export interface FleetQuery {
  /** A fleet selector (docs/registry.md); default every device. */
  selector?: string
  metrics: readonly string[]
  from?: TimeInput
  to?: TimeInput
  bucket: DurationInput
  /** Default 'avg'. */
  fn?: AggregateFunction
  /** Default 'device'. */
  groupBy?: GroupBy
}

export interface FleetLatestQuery {
  selector?: string
  /** Only these metrics; default every metric of each device. */
  metrics?: readonly string[]
  /** Devices per page, 1..1000; default 100. */
  limit?: number
  cursor?: string | null
}

export interface RawResult extends AsyncIterable<SeriesBatch> {
  readonly range: TimeRange
  /** The most points it returns: `limit`, or `points` when downsampled. */
  readonly limit: number
  readonly downsampled: boolean
  /** Once iterated to the end: points returned. */
  readonly points: number
  /** Once iterated to the end: `from` of the next page (the next point's time), or null if the range is done. */
  readonly next: number | null
}

export interface AggregateResult extends AsyncIterable<SeriesBatch> {
  readonly range: TimeRange
  readonly bucketMs: number
  readonly fn: AggregateFunction
}

export interface FleetResult extends AsyncIterable<SeriesBatch | GroupBatch> {
  readonly range: TimeRange
  readonly bucketMs: number
  readonly fn: AggregateFunction
  readonly groupBy: GroupBy
  /** Devices the selector picked. */
  readonly devices: number
  /** Groups, in the order they come (tag values sorted, devices without the tag last); [] by device. */
  readonly groups: readonly (string | null)[]
}

export interface TelemetryQueriesOptions {
  engine: QueryEngine
  registry: QueryRegistry
  limits?: Partial<TelemetryQueryLimits>
  now?: () => number
}

const seriesKey = (device: string, metric: string): string => `${device}/${metric}`

function checkMetric(metric: unknown, field: string): string {
  if (typeof metric !== 'string' || !METRIC_PATTERN.test(metric))
    throw invalidQuery(
      field,
      `${field} must be a metric name: a letter or '_', then up to 127 of a-z A-Z 0-9 _ .`,
    )
  return metric
}

function checkFn(fn: unknown): AggregateFunction {
  if (!AGGREGATE_FUNCTIONS.includes(fn as AggregateFunction))
    throw invalidQuery('fn', `fn must be one of ${AGGREGATE_FUNCTIONS.join(', ')}`)
  return fn as AggregateFunction
}

/** Splits a batch into pieces of at most MAX_BATCH_POINTS (views, no copies). */
function* pieces(timestamps: Float64Array, values: Float64Array): Generator<[Float64Array, Float64Array]> {
  for (let i = 0; i < timestamps.length; i += MAX_BATCH_POINTS) {
    const j = Math.min(i + MAX_BATCH_POINTS, timestamps.length)
    yield [timestamps.subarray(i, j), values.subarray(i, j)]
  }
}

export class TelemetryQueries {
  readonly limits: Readonly<TelemetryQueryLimits>
  readonly #engine: QueryEngine
  readonly #registry: QueryRegistry
  readonly #now: () => number

  constructor(options: TelemetryQueriesOptions) {
    this.#engine = options.engine
    this.#registry = options.registry
    this.limits = Object.freeze({ ...DEFAULT_QUERY_LIMITS, ...options.limits })
    this.#now = options.now ?? Date.now
  }

  /** The metrics of a device that has telemetry, with their latest point. NotFoundError for an unknown device. */
  async latest(
    deviceId: string,
    query: { metrics?: readonly string[] } = {},
    options: QueryCallOptions = {},
  ): Promise<LatestValue[]> {
    const metrics = this.#metricList(query.metrics, false)
    await this.#registry.getDevice(deviceId, options)
    return this.#latestOf(deviceId, metrics)
  }

  /** The latest points of the devices a selector picks, a page of devices at a time (in id order). */
  async fleetLatest(
    query: FleetLatestQuery = {},
    options: QueryCallOptions = {},
  ): Promise<Page<DeviceLatest>> {
    const metrics = this.#metricList(query.metrics, false)
    const page = await this.#registry.listDevices(
      { selector: query.selector, limit: query.limit, cursor: query.cursor },
      options,
    )
    const items: DeviceLatest[] = []
    for (const device of page.items) {
      options.signal?.throwIfAborted()
      items.push({ deviceId: device.id, values: await this.#latestOf(device.id, metrics) })
    }
    return { items, nextCursor: page.nextCursor }
  }

  /** One device's metric over [from, to), point by point, at most `limit` points. */
  async raw(query: RawQuery, options: QueryCallOptions = {}): Promise<RawResult> {
    const metric = checkMetric(query.metric, 'metric')
    const range = resolveRange(query, this.#now())
    const { maxRawPoints, defaultRawPoints } = this.limits
    const downsampled = query.points !== undefined
    if (downsampled && query.limit !== undefined)
      throw invalidQuery(
        'limit',
        'limit pages raw points; points downsamples the whole range: give one of them',
      )
    const limit = query.points ?? query.limit ?? defaultRawPoints
    const field = downsampled ? 'points' : 'limit'
    if (!Number.isSafeInteger(limit) || limit < (downsampled ? 2 : 1))
      throw invalidQuery(field, `${field} must be an integer of at least ${downsampled ? 2 : 1}`)
    if (limit > maxRawPoints)
      throw tooLarge(
        field,
        `${field} must be at most ${maxRawPoints}${downsampled ? '' : "; page on with the answer's next"}`,
      )
    const engine = this.#engine
    const downsample = engine.downsample?.bind(engine)
    if (downsampled && downsample === undefined)
      throw unsupported(
        'points',
        'points (LTTB downsampling) is not supported by this engine; use bucket and fn',
      )
    await this.#registry.getDevice(query.deviceId, options)
    const device = query.deviceId
    const key = seriesKey(device, metric)
    const state = { points: 0, next: null as number | null }
    async function* read(): AsyncGenerator<SeriesBatch> {
      if (downsample !== undefined && downsampled) {
        // LTTB needs the whole range before it can answer; it holds only its `points` choices.
        const b = await downsample(key, range.from, range.to, limit, options)
        for (const [timestamps, values] of pieces(b.timestamps, b.values))
          yield { kind: 'series', device, metric, timestamps, values }
        state.points = b.timestamps.length
        return
      }
      for await (const b of engine.raw(key, range.from, range.to, options)) {
        const room = limit - state.points
        const n = b.timestamps.length
        const take = Math.min(room, n)
        for (const [timestamps, values] of pieces(
          b.timestamps.subarray(0, take),
          b.values.subarray(0, take),
        )) {
          yield { kind: 'series', device, metric, timestamps, values }
        }
        state.points += take
        if (take < n) {
          state.next = b.timestamps[take] as number
          return
        }
      }
    }
    return {
      range,
      limit,
      downsampled,
      get points() {
        return state.points
      },
      get next() {
        return state.next
      },
      [Symbol.asyncIterator]: () => read(),
    }
  }

  /** One device's metric over [from, to) in buckets of `bucket` (aligned to the epoch); empty buckets left out. */
  async aggregate(query: AggregateQuery, options: QueryCallOptions = {}): Promise<AggregateResult> {
    const metric = checkMetric(query.metric, 'metric')
    const fn = checkFn(query.fn ?? 'avg')
    const range = resolveRange(query, this.#now())
    const bucketMs = parseDuration(query.bucket, 'bucket')
    this.#checkBuckets(range, bucketMs)
    await this.#registry.getDevice(query.deviceId, options)
    const engine = this.#engine
    const device = query.deviceId
    this.#checkAvailable([seriesKey(device, metric)], range, bucketMs, fn)
    async function* read(): AsyncGenerator<SeriesBatch> {
      const key = seriesKey(device, metric)
      for await (const b of engine.aggregate([key], range.from, range.to, bucketMs, fn, options)) {
        for (const [timestamps, values] of pieces(b.timestamps, b.values))
          yield { kind: 'series', device, metric, timestamps, values }
      }
    }
    return { range, bucketMs, fn, [Symbol.asyncIterator]: () => read() }
  }

  /**
   * Metrics of the devices a selector picks, bucketed, per device or combined per value of a tag.
   * Combining is exact: sums add, counts add, min and max compare (NaN ignored unless every value
   * is NaN, as in the engine), and avg is the combined sum over the combined count, never an
   * average of averages. first and last are refused when grouping by tag: the engine's buckets do
   * not say at which instant their first and last values were, so they cannot be combined.
   */
  async fleet(query: FleetQuery, options: QueryCallOptions = {}): Promise<FleetResult> {
    const metrics = this.#metricList(query.metrics, true) as string[]
    const fn = checkFn(query.fn ?? 'avg')
    const range = resolveRange(query, this.#now())
    const bucketMs = parseDuration(query.bucket, 'bucket')
    const groupBy = query.groupBy ?? 'device'
    let tag: string | undefined
    if (groupBy !== 'device') {
      if (typeof groupBy !== 'object' || groupBy === null || typeof groupBy.tag !== 'string')
        throw invalidQuery('groupBy', "groupBy must be 'device' or {tag: <tag key>}")
      if (!TAG_KEY_PATTERN.test(groupBy.tag))
        throw invalidQuery('groupBy.tag', 'groupBy.tag is not a tag key')
      if (fn === 'first' || fn === 'last')
        throw unsupported(
          'fn',
          `fn ${fn} cannot be combined over the devices of a group; group by device, or use min, max, sum, count or avg`,
        )
      tag = groupBy.tag
    }
    const per = this.#checkBuckets(range, bucketMs)
    const devices = await this.#select(query.selector, options)
    const engine = this.#engine
    this.#checkAvailable(
      devices.flatMap((d) => metrics.map((m) => seriesKey(d.id, m))),
      range,
      bucketMs,
      fn,
    )
    if (tag === undefined) {
      this.#checkCells(devices.length * metrics.length * per)
      const keys: string[] = []
      const owner = new Map<string, { device: string; metric: string }>()
      for (const d of devices) {
        for (const metric of metrics) {
          const key = seriesKey(d.id, metric)
          keys.push(key)
          owner.set(key, { device: d.id, metric })
        }
      }
      async function* byDevice(): AsyncGenerator<SeriesBatch> {
        for await (const b of engine.aggregate(keys, range.from, range.to, bucketMs, fn, options)) {
          const o = owner.get(b.series)
          if (o === undefined) continue
          for (const [timestamps, values] of pieces(b.timestamps, b.values))
            yield { kind: 'series', device: o.device, metric: o.metric, timestamps, values }
        }
      }
      return {
        range,
        bucketMs,
        fn,
        groupBy,
        devices: devices.length,
        groups: [],
        [Symbol.asyncIterator]: byDevice,
      }
    }
    const groupTag = tag
    const members = new Map<string | null, string[]>()
    for (const d of devices) {
      const value = Object.hasOwn(d.tags, groupTag) ? (d.tags[groupTag] as string) : null
      const list = members.get(value)
      if (list) list.push(d.id)
      else members.set(value, [d.id])
    }
    const groups = [...members.keys()].sort((a, b) =>
      a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0,
    )
    this.#checkCells(groups.length * metrics.length * per)
    async function* byTag(): AsyncGenerator<GroupBatch> {
      for (const value of groups) {
        const ids = members.get(value) as string[]
        for (const metric of metrics) {
          const keys = ids.map((id) => seriesKey(id, metric))
          const group = { [groupTag]: value }
          for await (const [timestamps, values] of combine(engine, keys, range, bucketMs, fn, options))
            yield { kind: 'group', group, metric, timestamps, values }
        }
      }
    }
    return {
      range,
      bucketMs,
      fn,
      groupBy,
      devices: devices.length,
      groups,
      [Symbol.asyncIterator]: byTag,
    }
  }

  async #latestOf(deviceId: string, metrics: readonly string[] | undefined): Promise<LatestValue[]> {
    const prefix = `${deviceId}/`
    const keys = (metrics ?? this.#engine.series({ device: deviceId }).map((k) => k.slice(prefix.length)))
      .slice()
      .sort()
      .map((m) => prefix + m)
    const points = await this.#engine.latest(keys)
    const out: LatestValue[] = []
    points.forEach((p, i) => {
      if (p) out.push({ metric: (keys[i] as string).slice(prefix.length), ts: p.ts, value: p.value })
    })
    return out
  }

  #metricList(metrics: readonly string[] | undefined, required: boolean): readonly string[] | undefined {
    if (metrics === undefined) {
      if (required) throw invalidQuery('metrics', 'metrics must name at least one metric')
      return undefined
    }
    if (!Array.isArray(metrics) || (required && metrics.length === 0))
      throw invalidQuery('metrics', 'metrics must be a list of at least one metric name')
    if (metrics.length > this.limits.maxMetrics)
      throw tooLarge('metrics', `at most ${this.limits.maxMetrics} metrics in one query`)
    metrics.forEach((m, i) => {
      checkMetric(m, `metrics.${i}`)
    })
    return [...new Set(metrics)]
  }

  /** Buckets per series in the range; throws over maxBuckets. */
  #checkBuckets(range: TimeRange, bucketMs: number): number {
    const per = Math.floor((range.to - 1) / bucketMs) - Math.floor(range.from / bucketMs) + 1
    if (per > this.limits.maxBuckets)
      throw tooLarge(
        'bucket',
        `${per} buckets of ${bucketMs} ms in the range; at most ${this.limits.maxBuckets}: use a larger bucket or a shorter range`,
      )
    return per
  }

  #checkCells(cells: number): void {
    if (cells > this.limits.maxCells)
      throw tooLarge(
        'bucket',
        `the answer could hold ${cells} buckets (series × buckets); at most ${this.limits.maxCells}: select fewer devices or metrics, or use a larger bucket`,
      )
  }

  /**
   * Where retention dropped the raw points (and no archive is read), the engine refuses a bucket
   * finer than the rollups left (a RangeError when the read is set up, before any batch): a 400
   * naming `bucket`, checked before the answer starts streaming rather than a failed stream.
   */
  #checkAvailable(keys: string[], range: TimeRange, bucketMs: number, fn: AggregateFunction): void {
    try {
      // Not iterated: setting the read up runs the engine's checks.
      this.#engine.aggregate(keys, range.from, range.to, bucketMs, fn)
    } catch (err) {
      if (!(err instanceof RangeError)) throw err
      throw unsupported('bucket', `${err.message}; ask for whole minutes or hours over that range`)
    }
  }

  async #select(selector: string | undefined, options: QueryCallOptions): Promise<Device[]> {
    const max = this.limits.maxDevices
    const out: Device[] = []
    let cursor: string | null = null
    do {
      const page: Page<Device> = await this.#registry.listDevices(
        { selector, limit: Math.min(1000, max + 1), cursor },
        options,
      )
      out.push(...page.items)
      if (out.length > max)
        throw tooLarge(
          'selector',
          `the selector picks more than ${max} devices; narrow it (type:, group:, tag:)`,
        )
      cursor = page.nextCursor
    } while (cursor !== null)
    return out
  }
}

/**
 * The buckets of `fn` (not first or last) over several series combined into one series, as
 * batches. Held in memory: one group's buckets (at most maxBuckets, checked), never its points.
 */
async function* combine(
  engine: QueryEngine,
  keys: readonly string[],
  range: TimeRange,
  bucketMs: number,
  fn: AggregateFunction,
  options: QueryCallOptions,
): AsyncGenerator<[Float64Array, Float64Array]> {
  const first = Math.floor(range.from / bucketMs)
  const n = Math.floor((range.to - 1) / bucketMs) - first + 1
  const seen = new Uint8Array(n)
  const acc = new Float64Array(n).fill(fn === 'min' || fn === 'max' ? Number.NaN : 0)
  const counts = fn === 'avg' ? new Float64Array(n) : undefined
  const passes: AggregateFunction[] = fn === 'avg' ? ['sum', 'count'] : [fn]
  for (const pass of passes) {
    const into = pass === 'count' && counts ? counts : acc
    for await (const b of engine.aggregate(keys, range.from, range.to, bucketMs, pass, options)) {
      for (let i = 0; i < b.timestamps.length; i++) {
        const at = Math.round((b.timestamps[i] as number) / bucketMs) - first
        const v = b.values[i] as number
        seen[at] = 1
        const cur = into[at] as number
        if (pass === 'min') {
          if (!(cur <= v) && !Number.isNaN(v)) into[at] = v
        } else if (pass === 'max') {
          if (!(cur >= v) && !Number.isNaN(v)) into[at] = v
        } else into[at] = cur + v
      }
    }
  }
  let ts = new Float64Array(Math.min(MAX_BATCH_POINTS, n))
  let vs = new Float64Array(ts.length)
  let k = 0
  for (let i = 0; i < n; i++) {
    if (seen[i] === 0) continue
    ts[k] = (first + i) * bucketMs
    vs[k] = counts ? (acc[i] as number) / (counts[i] as number) : (acc[i] as number)
    if (++k === ts.length) {
      yield [ts, vs]
      ts = new Float64Array(Math.min(MAX_BATCH_POINTS, n))
      vs = new Float64Array(ts.length)
      k = 0
    }
  }
  if (k > 0) yield [ts.subarray(0, k), vs.subarray(0, k)]
}
