/**
 * engine.downsample(): LTTB (lttb.ts) over one series' range, streamed from
 * the finest data left: points where retention kept them, else the 1-minute
 * rollups' averages, else the 1-hour rollups' (each at its bucket start),
 * else the archive's points where no rollup is left either (if it is read).
 */
import type { Tier } from '../storage/chunk-storage.js'
import type { SeriesRef } from './cold.js'
import { Lttb } from './lttb.js'
import { aggregateQuery, type PointBatch, rawQuery } from './query.js'
import type { ReadSources } from './read.js'
import { HOUR_MS, MINUTE_MS } from './rollup.js'

export interface DownsampleOptions {
  signal?: AbortSignal | undefined
  /** Read rollups where points are gone (default true). */
  rollups?: boolean | undefined
}

export async function downsampleQuery(
  src: ReadSources,
  series: SeriesRef | undefined,
  from: number,
  to: number,
  maxPoints: number,
  horizons: Readonly<Record<Tier, number>>,
  options: DownsampleOptions,
): Promise<PointBatch> {
  const lttb = new Lttb(from, to, maxPoints)
  if (series === undefined) return lttb.finish()
  const { signal } = options
  const { id, key } = series
  if (options.rollups ?? true) {
    // Before any rollup is left: the archive's points (rawQuery reads the archive below its horizon).
    const bare = Math.min(to, horizons.raw, horizons['1m'], horizons['1h'])
    if (src.archive?.query === true && from < bare) {
      for await (const b of rawQuery(src, series, from, bare, signal)) lttb.push(b.timestamps, b.values)
    }
    // Oldest first: only hourly averages before the 1-minute horizon, minutes up to the raw one.
    const parts: [number, number, number][] = [
      [Math.max(from, horizons['1h']), Math.min(to, horizons.raw, horizons['1m']), HOUR_MS],
      [Math.max(from, horizons['1m']), Math.min(to, horizons.raw), MINUTE_MS],
    ]
    for (const [lo, hi, bucketMs] of parts) {
      if (lo >= hi) continue
      const q = { series: key, id, from: lo, to: hi, bucketMs, fn: 'avg' as const, rollups: true, signal }
      for await (const b of aggregateQuery(src, q)) lttb.push(b.timestamps, b.values)
    }
  }
  for await (const b of rawQuery(src, series, Math.max(from, horizons.raw), to, signal)) {
    lttb.push(b.timestamps, b.values)
  }
  return lttb.finish()
}
