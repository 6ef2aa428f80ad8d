/**
 * Resolution choice for an aggregate over one series: the range is cut into
 * runs, each read from points (stored chunks and memory, read.ts) or from a
 * rollup tier. Buckets are epoch-aligned and a 1-minute (1-hour) rollup
 * bucket lies wholly inside any bucket of a multiple of 1 minute (1 hour), so
 * with such a bucket every whole rollup bucket in the range can come from the
 * rollup, and the result is the same as from points:
 *
 *   [from, a)       points: the range edge cuts a rollup bucket
 *   [a, b)          per window: points if the window has points of the series
 *                   in memory (the head, a late point, a seal under way) or
 *                   no complete rollups; else the rollup (1-hour buckets if the
 *                   bucket is a multiple of an hour and the window has them,
 *                   else 1-minute)
 *   [b, to)         points: the other edge
 *
 * with a and b the range's ends rounded inwards to the rollup grid. Windows
 * are visited through the rollup index, never one by one over the range, so
 * an open-ended range costs what the data in it costs.
 *
 * Where retention dropped the points, the order of preference is: the
 * rollups left, for whole rollup buckets (as above: windows with complete
 * rollups), then the archive's points (cold.ts) for everything the rollups
 * cannot answer, since a 'raw' run below the raw horizon reads the archive:
 * range edges, windows without rollups, and any bucket that is not a
 * multiple of the finest rollup left (planRuns then gives one raw run). With
 * no archive to read, such a bucket is refused (checkAvailable throws a
 * RangeError rather than answer at another resolution than asked), and
 * rollup buckets cut by the range edges are left out, as their points are.
 */
import type { RollupTier } from '../storage/chunk-storage.js'
import { WINDOW_MS } from './head.js'
import { HOUR_MS, MINUTE_MS } from './rollup.js'
import type { RollupIndex } from './rollup-index.js'

export type RunKind = 'raw' | RollupTier

/** A part of the range, [from, to), and where to read it from. */
export interface Run {
  readonly kind: RunKind
  readonly from: number
  readonly to: number
}

/** The coarsest rollup tier whose buckets nest in buckets of `bucketMs`, if any. */
export function rollupTierFor(bucketMs: number): RollupTier | undefined {
  if (bucketMs % HOUR_MS === 0) return '1h'
  if (bucketMs % MINUTE_MS === 0) return '1m'
  return undefined
}

export function planRuns(
  from: number,
  to: number,
  tier: RollupTier | undefined,
  index: RollupIndex,
  inMemory: (windowStart: number) => boolean,
): Run[] {
  if (tier === undefined) return [{ kind: 'raw', from, to }]
  const grid = tier === '1h' ? HOUR_MS : MINUTE_MS
  const a = Math.ceil(from / grid) * grid
  const b = Math.floor(to / grid) * grid
  if (a >= b) return [{ kind: 'raw', from, to }]
  const runs: Run[] = []
  const push = (kind: RunKind, lo: number, hi: number) => {
    if (hi <= lo) return
    const prev = runs[runs.length - 1]
    if (prev !== undefined && prev.kind === kind && prev.to === lo)
      runs[runs.length - 1] = { kind, from: prev.from, to: hi }
    else runs.push({ kind, from: lo, to: hi })
  }
  push('raw', from, a)
  const first = Math.floor(a / WINDOW_MS) * WINDOW_MS
  let windows = index.range('1m', first, b)
  if (tier === '1h')
    windows = [...new Set([...windows, ...index.range('1h', first, b)])].sort((x, y) => x - y)
  let at = a
  for (const w of windows) {
    const lo = Math.max(w, a)
    const hi = Math.min(w + WINDOW_MS, b)
    push('raw', at, lo)
    let kind: RunKind = 'raw'
    if (!inMemory(w)) {
      if (tier === '1h' && index.has('1h', w)) kind = '1h'
      else if (index.has('1m', w)) kind = '1m'
    }
    push(kind, lo, hi)
    at = hi
  }
  push('raw', at, b)
  push('raw', b, to)
  return runs
}

/**
 * What a bucket over [from, to) must be a multiple of: 1 where points are
 * left, 60,000 where retention dropped them but 1-minute rollups are left,
 * 3,600,000 where only 1-hour rollups are.
 */
export function finestAvailable(from: number, to: number, rawHorizon: number, index: RollupIndex): number {
  if (from >= rawHorizon) return 1
  const gone = Math.min(to, rawHorizon)
  if (Math.max(from, index.horizon['1h']) < Math.min(gone, index.horizon['1m'])) return HOUR_MS
  if (Math.max(from, index.horizon['1m']) < gone) return MINUTE_MS
  return 1
}

/** Throws a RangeError if `bucketMs` is finer than what retention left somewhere in [from, to). */
export function checkAvailable(
  from: number,
  to: number,
  bucketMs: number,
  rawHorizon: number,
  index: RollupIndex,
): void {
  const need = finestAvailable(from, to, rawHorizon, index)
  if (bucketMs % need === 0) return
  const iso = (t: number) => (Math.abs(t) < 8.64e15 ? new Date(t).toISOString() : String(t))
  const before = need === HOUR_MS ? Math.min(rawHorizon, index.horizon['1m']) : rawHorizon
  throw new RangeError(
    `before ${iso(before)} retention left only ${need === HOUR_MS ? '1-hour' : '1-minute'} rollups: ` +
      `bucketMs must be a multiple of ${need} over this range (got ${bucketMs})`,
  )
}
