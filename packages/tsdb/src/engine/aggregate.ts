/**
 * Time-bucketed aggregates over the segments of read.ts.
 *
 * Buckets are aligned to the epoch (floor(ts / bucketMs) * bucketMs, as
 * TimescaleDB's time_bucket), each reported by its start; an empty bucket is
 * not reported. A stored chunk that lies wholly in one bucket and in the
 * range is taken by its summary columns, without reading or decoding it, and
 * so is a rollup bucket (addBucket; plan.ts decides when).
 *
 * Definitions (the same in chunk summaries, so both paths agree): count and
 * sum over every point (sum in time order: NaN propagates); avg = sum / count;
 * min and max ignore NaN (NaN only if every value is) and keep the first of
 * equal values (0 and -0); first and last are the values at the smallest and
 * largest timestamp in the bucket, bit for bit.
 */
import type { ChunkSummary } from '../storage/chunk-storage.js'
import { lowerBound, type Points } from './points.js'

export const AGGREGATE_FUNCTIONS = ['avg', 'min', 'max', 'sum', 'count', 'first', 'last'] as const
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number]

/** Buckets of one series; timestamps[i] is bucket i's start. */
export interface AggregateBatch {
  series: string
  /** The bucket width used (the one asked for, or the one a point budget chose). */
  bucketMs: number
  timestamps: Float64Array
  values: Float64Array
}

const BATCH = 1024

export class BucketAccumulator {
  private start = Number.NaN
  private end = Number.NEGATIVE_INFINITY
  private count = 0
  private sum = 0
  private min = Number.NaN
  private max = Number.NaN
  private first = Number.NaN
  private last = Number.NaN
  private outTs = new Float64Array(BATCH)
  private outValues = new Float64Array(BATCH)
  private outLength = 0

  constructor(
    private readonly fn: AggregateFunction,
    private readonly bucketMs: number,
  ) {}

  bucketOf(ts: number): number {
    return Math.floor(ts / this.bucketMs) * this.bucketMs
  }

  /** Enough buckets for a batch. */
  get ready(): boolean {
    return this.outLength >= BATCH
  }

  get pending(): boolean {
    return this.outLength > 0
  }

  /**
   * Adds points[i0, i1), in time order, after everything added so far. Bucket
   * ends are found by binary search; only the values the function needs are
   * visited (none for count, first and last).
   */
  addPoints(p: Points, i0: number, i1: number): void {
    const ts = p.timestamps
    const vs = p.values
    const fn = this.fn
    let i = i0
    while (i < i1) {
      if ((ts[i] as number) >= this.end) this.open(ts[i] as number)
      const j = (ts[i1 - 1] as number) < this.end ? i1 : lowerBound(ts, this.end, i, i1)
      if (this.count === 0) this.first = vs[i] as number
      if (fn === 'avg' || fn === 'sum') {
        let sum = this.sum
        for (let k = i; k < j; k++) sum += vs[k] as number
        this.sum = sum
      } else if (fn === 'min') {
        let min = this.min
        for (let k = i; k < j; k++) {
          const v = vs[k] as number
          // NaN is skipped; among equal values (0 and -0) the first one stays.
          if (!(min <= v) && !Number.isNaN(v)) min = v
        }
        this.min = min
      } else if (fn === 'max') {
        let max = this.max
        for (let k = i; k < j; k++) {
          const v = vs[k] as number
          if (!(max >= v) && !Number.isNaN(v)) max = v
        }
        this.max = max
      }
      this.count += j - i
      this.last = vs[j - 1] as number
      i = j
    }
  }

  /** Adds a whole chunk that lies in one bucket, after everything added so far. */
  addSummary(c: ChunkSummary): void {
    this.addBucket(c.startTs, c.count, c.sum, c.min, c.max, c.first, c.last)
  }

  /**
   * Adds the summary of points that lie in one bucket from `ts` on (a chunk,
   * a rollup bucket), after everything added so far. Numbers, not an object:
   * rollup reads call this once per minute of every series.
   */
  addBucket(
    ts: number,
    count: number,
    sum: number,
    min: number,
    max: number,
    first: number,
    last: number,
  ): void {
    if (ts >= this.end) this.open(ts)
    if (this.count === 0) this.first = first
    this.sum += sum
    this.count += count
    if (!(this.min <= min) && !Number.isNaN(min)) this.min = min
    if (!(this.max >= max) && !Number.isNaN(max)) this.max = max
    this.last = last
  }

  /** Ends the last bucket. */
  finish(): void {
    this.close()
    this.end = Number.NEGATIVE_INFINITY
  }

  take(series: string): AggregateBatch {
    const n = this.outLength
    const batch = {
      series,
      bucketMs: this.bucketMs,
      timestamps: this.outTs.slice(0, n),
      values: this.outValues.slice(0, n),
    }
    this.outLength = 0
    return batch
  }

  private open(ts: number): void {
    this.close()
    this.start = this.bucketOf(ts)
    this.end = this.start + this.bucketMs
  }

  private close(): void {
    if (this.count === 0) return
    if (this.outLength === this.outTs.length) {
      const ts = new Float64Array(this.outLength * 2)
      const vs = new Float64Array(this.outLength * 2)
      ts.set(this.outTs)
      vs.set(this.outValues)
      this.outTs = ts
      this.outValues = vs
    }
    this.outTs[this.outLength] = this.start
    this.outValues[this.outLength] = this.value()
    this.outLength++
    this.count = 0
    this.sum = 0
    this.min = Number.NaN
    this.max = Number.NaN
  }

  private value(): number {
    switch (this.fn) {
      case 'avg':
        return this.sum / this.count
      case 'sum':
        return this.sum
      case 'count':
        return this.count
      case 'min':
        return this.min
      case 'max':
        return this.max
      case 'first':
        return this.first
      case 'last':
        return this.last
    }
  }
}
