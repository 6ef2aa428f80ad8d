/**
 * The engine's streaming queries over read.ts's segments: raw points and
 * bucketed aggregates. Ranges are half-open, [from, to), in ms.
 */
import {
  AGGREGATE_FUNCTIONS,
  type AggregateBatch,
  type AggregateFunction,
  BucketAccumulator,
} from './aggregate.js'
import { WINDOW_MS } from './head.js'
import { lowerBound, type Points } from './points.js'
import { type ReadSources, segments } from './read.js'

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
  id: number,
  from: number,
  to: number,
  signal?: AbortSignal,
): AsyncGenerator<PointBatch, void, undefined> {
  let last = Number.NEGATIVE_INFINITY
  const options = { data: true, needsPoints: () => true, signal }
  for await (const seg of segments(src, id, from, to, options)) {
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

export async function* aggregateQuery(
  src: ReadSources,
  series: string,
  id: number,
  from: number,
  to: number,
  bucketMs: number,
  fn: AggregateFunction,
  signal?: AbortSignal,
): AsyncGenerator<AggregateBatch, void, undefined> {
  const acc = new BucketAccumulator(fn, bucketMs)
  let last = Number.NEGATIVE_INFINITY
  const needsPoints = (c: { startTs: number; endTs: number }) =>
    !(c.startTs >= from && c.endTs < to && acc.bucketOf(c.startTs) === acc.bucketOf(c.endTs))
  // Buckets shorter than a window cut nearly every chunk: read the bytes with the rows then,
  // rather than the summaries first and the bytes window by window.
  const data = bucketMs < WINDOW_MS
  for await (const seg of segments(src, id, from, to, { data, needsPoints, signal })) {
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
    if (acc.ready) yield acc.take(series)
  }
  acc.finish()
  if (acc.pending) yield acc.take(series)
}
