/**
 * Which windows' rollups the engine may read, per rollup tier: those whose
 * rollups storage marked complete (loaded at open), plus those sealed since,
 * minus those retention dropped. A window absent here is read from points,
 * which covers windows sealed before rollups existed, and windows whose seal
 * wrote rollups but crashed before its seal mark (their points are back in
 * memory then).
 */
import type { RollupTier } from '../storage/chunk-storage.js'

export class RollupIndex {
  /** Window starts, ascending, per tier. */
  private readonly windows: Record<RollupTier, number[]>
  /** What retention dropped before, per tier. */
  readonly horizon: Record<RollupTier, number>

  constructor(
    rolledUp: Readonly<Record<RollupTier, number[]>>,
    horizon: Readonly<Record<RollupTier, number>>,
  ) {
    this.windows = { '1m': [...rolledUp['1m']], '1h': [...rolledUp['1h']] }
    for (const list of Object.values(this.windows)) list.sort((a, b) => a - b)
    this.horizon = { ...horizon }
  }

  has(tier: RollupTier, start: number): boolean {
    const list = this.windows[tier]
    const i = lowerBound64(list, start)
    return list[i] === start
  }

  /** Marks a window's rollups complete (after its first seal), unless retention is past it. */
  add(tier: RollupTier, start: number): void {
    if (start < this.horizon[tier]) return
    const list = this.windows[tier]
    const i = lowerBound64(list, start)
    if (list[i] !== start) list.splice(i, 0, start)
  }

  /** The tier's windows starting in [from, to), ascending. */
  range(tier: RollupTier, from: number, to: number): number[] {
    const list = this.windows[tier]
    return list.slice(lowerBound64(list, from), lowerBound64(list, to))
  }

  dropBefore(tier: RollupTier, horizon: number): void {
    this.horizon[tier] = Math.max(this.horizon[tier], horizon)
    const list = this.windows[tier]
    list.splice(0, lowerBound64(list, horizon))
  }

  size(tier: RollupTier): number {
    return this.windows[tier].length
  }
}

/** lowerBound over a plain array (points.ts's takes a Float64Array). */
function lowerBound64(list: readonly number[], t: number): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((list[mid] as number) < t) lo = mid + 1
    else hi = mid
  }
  return lo
}
