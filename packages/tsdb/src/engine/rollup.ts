/**
 * Rollups of one series' window, computed at seal time from the window's
 * final points (after any late points were merged), so a re-seal recomputes
 * them and they stay exact: the window's 1-minute buckets (a rollup blob,
 * codec/rollup.ts) and the window as one 1-hour bucket (summary columns).
 *
 * Definitions are aggregate.ts's, so a query answered from rollups agrees
 * with one answered from points: count over every point, min and max ignore
 * NaN and keep the first of equal values, first and last bit for bit. Sum
 * over every point in time order, compensated (Neumaier's variant of Kahan
 * summation): within an ulp or so of the exact sum, so no less accurate than
 * the plain sum a query over points computes (they agree within its rounding
 * error), and, measured, it pays twice: the sum of quantised readings then
 * comes out as the short decimal it is (1198.2, not 1198.1999999999998),
 * which the codec's Decimal encoding stores in about 1 byte instead of the
 * 6 a noisy float costs (sum was 350 of a 490-byte minute blob, then 76), and
 * decodes faster. A sum that is not finite is the plain one (NaN propagates,
 * infinities stay), as compensation would turn Infinity - Infinity into NaN.
 */
import { encodeRollup, type RollupColumns } from '../codec/rollup.js'
import type { BucketSummary, SeriesRollup } from '../storage/chunk-storage.js'
import type { Points } from './points.js'

export const MINUTE_MS = 60_000
export const HOUR_MS = 3_600_000

/** The summary of points[i0, i1), i1 > i0, in time order. */
export function summarise(vs: Float64Array, i0: number, i1: number): BucketSummary {
  let sum = 0
  let compensation = 0
  let min = Number.NaN
  let max = Number.NaN
  for (let i = i0; i < i1; i++) {
    const v = vs[i] as number
    const t = sum + v
    compensation += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum
    sum = t
    // NaN is skipped; among equal values (0 and -0) the first one stays.
    if (!Number.isNaN(v)) {
      if (!(min <= v)) min = v
      if (!(max >= v)) max = v
    }
  }
  if (Number.isFinite(sum) && Number.isFinite(compensation)) sum += compensation
  return { count: i1 - i0, sum, min, max, first: vs[i0] as number, last: vs[i1 - 1] as number }
}

/** The 1-minute buckets of points (sorted, unique), as columns. */
export function minuteColumns(p: Points): RollupColumns {
  const ts = p.timestamps
  const n = ts.length
  let buckets = 0
  for (let i = 0, end = Number.NEGATIVE_INFINITY; i < n; i++) {
    if ((ts[i] as number) >= end) {
      buckets++
      end = Math.floor((ts[i] as number) / MINUTE_MS) * MINUTE_MS + MINUTE_MS
    }
  }
  const c: RollupColumns = {
    starts: new Float64Array(buckets),
    count: new Float64Array(buckets),
    sum: new Float64Array(buckets),
    min: new Float64Array(buckets),
    max: new Float64Array(buckets),
    first: new Float64Array(buckets),
    last: new Float64Array(buckets),
  }
  let b = 0
  let i = 0
  while (i < n) {
    const start = Math.floor((ts[i] as number) / MINUTE_MS) * MINUTE_MS
    let j = i + 1
    while (j < n && (ts[j] as number) < start + MINUTE_MS) j++
    const s = summarise(p.values, i, j)
    c.starts[b] = start
    c.count[b] = s.count
    c.sum[b] = s.sum
    c.min[b] = s.min
    c.max[b] = s.max
    c.first[b] = s.first
    c.last[b] = s.last
    b++
    i = j
  }
  return c
}

/** Both rollups of one series' window; `p` is the window's points, sorted, unique, at least one. */
export function rollupOf(seriesId: number, p: Points): SeriesRollup {
  return {
    seriesId,
    minutes: encodeRollup(minuteColumns(p)),
    hour: summarise(p.values, 0, p.values.length),
  }
}
