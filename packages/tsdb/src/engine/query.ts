/**
 * The engine's streaming queries: raw points over read.ts's segments
 * (after the archive's points below the raw horizon, cold.ts), and bucketed
 * aggregates over the runs plan.ts cuts the range into (points, or 1-minute
 * or 1-hour rollups), every source through the same bucket accumulator.
 * Ranges are half-open, [from, to), in ms.
 */

import { decodeRollup, MAX_ROLLUP_BUCKETS, type RollupColumn } from '../codec/rollup.js'
import {
  AGGREGATE_FUNCTIONS,
  type AggregateBatch,
  type AggregateFunction,
  BucketAccumulator,
} from './aggregate.js'
import { type SeriesRef, tieredSegments } from './cold.js'
import { WINDOW_MS, windowOf } from './head.js'
import { planRuns, rollupTierFor } from './plan.js'
import { lowerBound, type Points } from './points.js'
import { inMemory, type ReadSources } from './read.js'

/** A run of one series' points, in increasing time order. */
export interface PointBatch {
  timestamps: Float64Array
  values: Float64Array
}

export function checkRange(from: number, to: number): void {
  if (typeof from !== 'number' || typeof to !== 'number' || Number.isNaN(from) || Number.isNaN(to)) {
    throw new RangeError(`a range needs two numbers (got ${String(from)}, ${String(to)})`)
  }
}

/** The part of `p` in [from, to) after `after`, as [i0, i1). */
function clip(p: Points, from: number, to: number, after: number): [number, number] {
  const ts = p.timestamps
  const lo = after >= from ? lowerBound(ts, after + 1) : lowerBound(ts, from)
  const hi = lowerBound(ts, to, lo)
  return [lo, hi]
}

export async function* rawQuery(
  src: ReadSources,
  series: SeriesRef,
  from: number,
  to: number,
  signal?: AbortSignal,
): AsyncGenerator<PointBatch, void, undefined> {
  let last = Number.NEGATIVE_INFINITY
  const options = { data: true, needsPoints: () => true, signal }
  for await (const seg of tieredSegments(src, series, from, to, options)) {
    if (seg.kind !== 'points') continue // not produced: every chunk needs its points here
    const [i0, i1] = clip(seg.points, from, to, last)
    if (i1 <= i0) continue
    const timestamps = seg.points.timestamps.subarray(i0, i1)
    last = timestamps[timestamps.length - 1] as number
    yield { timestamps, values: seg.points.values.subarray(i0, i1) }
  }
}

export function checkAggregate(bucketMs: number, fn: AggregateFunction): void {
  if (!Number.isSafeInteger(bucketMs) || bucketMs < 1) {
    throw new RangeError(`bucketMs must be a positive integer (got ${String(bucketMs)})`)
  }
  if (!AGGREGATE_FUNCTIONS.includes(fn)) {
    throw new RangeError(`unknown aggregate ${JSON.stringify(fn)} (one of ${AGGREGATE_FUNCTIONS.join(', ')})`)
  }
}

/**
 * The rollup columns each function reads: count always (the accumulator
 * tells an empty bucket by it), the function's own column besides.
 */
const COLUMNS_OF: Record<AggregateFunction, readonly RollupColumn[]> = {
  avg: ['count', 'sum'],
  sum: ['count', 'sum'],
  count: ['count'],
  min: ['count', 'min'],
  max: ['count', 'max'],
  first: ['count', 'first'],
  last: ['count', 'last'],
}
/** Stands for a column not decoded: read as zeros, which the function never uses. */
const SKIPPED = new Float64Array(MAX_ROLLUP_BUCKETS)

export interface AggregateQuery {
  readonly series: string
  readonly id: number
  readonly from: number
  readonly to: number
  readonly bucketMs: number
  readonly fn: AggregateFunction
  /** Read rollups where they give the same answer (default true; false reads points only). */
  readonly rollups: boolean
  readonly signal?: AbortSignal | undefined
}

export async function* aggregateQuery(
  src: ReadSources,
  q: AggregateQuery,
): AsyncGenerator<AggregateBatch, void, undefined> {
  const acc = new BucketAccumulator(q.fn, q.bucketMs)
  const tier = q.rollups ? rollupTierFor(q.bucketMs) : undefined
  const columns = COLUMNS_OF[q.fn]
  const runs = planRuns(q.from, q.to, tier, src.rollups, (w) => inMemory(src, q.id, w))
  for (const run of runs) {
    if (run.kind === 'raw') yield* pointsRun(src, acc, q, run.from, run.to)
    else if (run.kind === '1m') {
      const query = { from: windowOf(run.from), to: run.to, signal: q.signal }
      for await (const r of src.storage.minuteRollups(q.id, query)) {
        const c = decodeRollup(r.data, columns)
        const n = c.starts.length
        const col = (a: Float64Array) => (a.length === n ? a : SKIPPED)
        const [count, sum, min, max, first, last] = [c.count, c.sum, c.min, c.max, c.first, c.last].map(
          col,
        ) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array]
        for (let i = lowerBound(c.starts, run.from); i < n; i++) {
          const start = c.starts[i] as number
          if (start >= run.to) break
          acc.addBucket(
            start,
            count[i] as number,
            sum[i] as number,
            min[i] as number,
            max[i] as number,
            first[i] as number,
            last[i] as number,
          )
        }
        if (acc.ready) yield acc.take(q.series)
      }
    } else {
      for await (const r of src.storage.hourRollups(q.id, { from: run.from, to: run.to, signal: q.signal })) {
        acc.addBucket(r.windowStart, r.count, r.sum, r.min, r.max, r.first, r.last)
        if (acc.ready) yield acc.take(q.series)
      }
    }
  }
  acc.finish()
  if (acc.pending) yield acc.take(q.series)
}

/** Adds the points of [from, to) to the accumulator, yielding full batches. */
async function* pointsRun(
  src: ReadSources,
  acc: BucketAccumulator,
  q: AggregateQuery,
  from: number,
  to: number,
): AsyncGenerator<AggregateBatch, void, undefined> {
  let last = Number.NEGATIVE_INFINITY
  const needsPoints = (c: { startTs: number; endTs: number }) =>
    !(c.startTs >= from && c.endTs < to && acc.bucketOf(c.startTs) === acc.bucketOf(c.endTs))
  // Buckets shorter than a window cut nearly every chunk: read the bytes with the rows then,
  // rather than the summaries first and the bytes window by window.
  const data = q.bucketMs < WINDOW_MS
  const series = { id: q.id, key: q.series }
  const options = { data, needsPoints, signal: q.signal }
  for await (const seg of tieredSegments(src, series, from, to, options)) {
    if (seg.kind === 'summary') {
      if (seg.chunk.startTs <= last) continue // cannot happen unless storage changed under the read
      acc.addSummary(seg.chunk)
      last = seg.chunk.endTs
    } else {
      const [i0, i1] = clip(seg.points, from, to, last)
      if (i1 <= i0) continue
      acc.addPoints(seg.points, i0, i1)
      last = seg.points.timestamps[i1 - 1] as number
    }
    if (acc.ready) yield acc.take(q.series)
  }
}
