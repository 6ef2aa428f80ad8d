/**
 * Choosing a bucket for a point budget (a chart of N pixels): the smallest
 * "round" bucket that keeps the number of buckets over [from, to) within the
 * budget. Round buckets divide a minute or are multiples of a minute or an
 * hour, so every choice from a minute up reads rollups (plan.ts), and buckets
 * line up across queries and with the rollups' own.
 */
import { HOUR_MS, MINUTE_MS } from './rollup.js'

const SECOND = 1000
const DAY_MS = 86_400_000

/** Round buckets below a day, ascending; beyond, whole days. */
export const BUCKET_LADDER: readonly number[] = [
  1,
  2,
  5,
  10,
  20,
  50,
  100,
  200,
  500,
  SECOND,
  2 * SECOND,
  5 * SECOND,
  10 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE_MS,
  2 * MINUTE_MS,
  5 * MINUTE_MS,
  10 * MINUTE_MS,
  15 * MINUTE_MS,
  30 * MINUTE_MS,
  HOUR_MS,
  2 * HOUR_MS,
  3 * HOUR_MS,
  6 * HOUR_MS,
  12 * HOUR_MS,
  DAY_MS,
]

export interface PickBucketOptions {
  /** The bucket must be at least this (ms). Default 1. */
  minBucketMs?: number
  /** The bucket must be a multiple of this (ms), say 60,000 where only rollups are left. Default 1. */
  multipleOf?: number
}

/** Epoch-aligned buckets of `bucketMs` that meet [from, to). */
export function bucketCount(from: number, to: number, bucketMs: number): number {
  if (to <= from) return 0
  return Math.floor((to - 1) / bucketMs) - Math.floor(from / bucketMs) + 1
}

/**
 * The smallest round bucket (BUCKET_LADDER, then whole days) giving at most
 * `maxPoints` buckets over [from, to). Throws RangeError on a range that is
 * not finite or a budget below 1.
 */
export function pickBucket(
  from: number,
  to: number,
  maxPoints: number,
  options: PickBucketOptions = {},
): number {
  if (!Number.isFinite(from) || !Number.isFinite(to)) {
    throw new RangeError(`pickBucket needs a finite range (got ${from}, ${to})`)
  }
  if (!Number.isSafeInteger(maxPoints) || maxPoints < 1) {
    throw new RangeError(`maxPoints must be a positive integer (got ${maxPoints})`)
  }
  const atLeast = options.minBucketMs ?? 1
  const multipleOf = options.multipleOf ?? 1
  const fits = (b: number) => b >= atLeast && b % multipleOf === 0 && bucketCount(from, to, b) <= maxPoints
  for (const b of BUCKET_LADDER) if (fits(b)) return b
  // Whole days: start near the answer, then step up (a few steps at most, unless multipleOf is odd).
  let days = Math.max(1, Math.floor((to - from) / (maxPoints * DAY_MS)), Math.ceil(atLeast / DAY_MS))
  while (!fits(days * DAY_MS)) days++
  return days * DAY_MS
}
