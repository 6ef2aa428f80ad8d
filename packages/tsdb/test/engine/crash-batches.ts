/**
 * The batches of the engine's crash test, shared by the child that writes
 * them and the parent that checks them: every (series, timestamp) belongs to
 * exactly one batch, so a point read back tells which batch and index it is,
 * and the value it must hold (bit for bit).
 *
 * Batch n's points are at T0 + n·20 s + i (i < 10,000); a late batch (every
 * 30th) goes 400 batches back, at T0 + (n - 400)·20 s + 10 s + i, into a
 * window that is usually sealed already.
 */
import type { EnginePoint } from '../../src/index.js'
import { pointValue, T0 } from './helpers.js'

export const STEP_MS = 20_000
const LATE_OFFSET = 10_000
const LATE_BACK = 400
export const SERIES = 50

export const batchSize = (n: number): number => (n % 50 === 0 ? 5_000 : 1 + ((n * 7) % 120))
const isLate = (n: number): boolean => n % 30 === 0
const seriesOf = (n: number, i: number): string => `dev-${(n * 31 + i) % SERIES}/m`

export function batchPoints(n: number): EnginePoint[] {
  const base = isLate(n) ? T0 + (n - LATE_BACK) * STEP_MS + LATE_OFFSET : T0 + n * STEP_MS
  return Array.from({ length: batchSize(n) }, (_, i) => ({
    series: seriesOf(n, i),
    ts: base + i,
    value: pointValue(n, i),
  }))
}

/** The batch and index a stored point must come from, or undefined if no batch writes there. */
export function origin(series: string, ts: number): { n: number; i: number } | undefined {
  const step = Math.floor((ts - T0) / STEP_MS)
  const rest = ts - T0 - step * STEP_MS
  const late = rest >= LATE_OFFSET
  const n = late ? step + LATE_BACK : step
  const i = late ? rest - LATE_OFFSET : rest
  if (isLate(n) !== late || i >= batchSize(n) || seriesOf(n, i) !== series) return undefined
  return { n, i }
}
