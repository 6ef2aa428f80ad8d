/**
 * Point arrays: ordering, the last-write-wins rule, summaries, and cutting
 * into encoded chunks.
 *
 * Last write wins: a point with the same series and timestamp as an earlier
 * one replaces it (as InfluxDB does, and VictoriaMetrics' deduplication), so a
 * QoS 1 redelivery is not counted twice, and replaying the log over chunks
 * that already hold its points changes nothing.
 */
import { encodeChunk, MAX_CHUNK_POINTS } from '../codec/chunk.js'
import type { StoredChunk } from '../storage/chunk-storage.js'

export interface Points {
  /** Milliseconds, increasing (after sortUnique). */
  timestamps: Float64Array
  values: Float64Array
}

/**
 * Sorts the first n points by timestamp, stably, and keeps the last of each
 * run of equal timestamps (the latest written); in place; returns the new count.
 */
export function sortUnique(ts: Float64Array, vs: Float64Array, n: number): number {
  let sorted = true
  for (let i = 1; i < n; i++) {
    if ((ts[i] as number) < (ts[i - 1] as number)) {
      sorted = false
      break
    }
  }
  if (!sorted) {
    const idx = new Uint32Array(n)
    for (let i = 0; i < n; i++) idx[i] = i
    idx.sort((a, b) => (ts[a] as number) - (ts[b] as number) || a - b)
    const t0 = ts.slice(0, n)
    const v0 = vs.slice(0, n)
    for (let i = 0; i < n; i++) {
      const j = idx[i] as number
      ts[i] = t0[j] as number
      vs[i] = v0[j] as number
    }
  }
  let w = 0
  for (let i = 0; i < n; i++) {
    if (i + 1 < n && ts[i + 1] === ts[i]) continue
    if (w !== i) {
      ts[w] = ts[i] as number
      vs[w] = vs[i] as number
    }
    w++
  }
  return w
}

/**
 * Merges sources of one series' window, each sorted and unique, listed from
 * oldest to newest write: on equal timestamps the later source wins.
 */
export function mergeSources(sources: readonly Points[]): Points {
  if (sources.length === 1) return sources[0] as Points
  let n = 0
  for (const s of sources) n += s.timestamps.length
  const timestamps = new Float64Array(n)
  const values = new Float64Array(n)
  let at = 0
  for (const s of sources) {
    timestamps.set(s.timestamps, at)
    values.set(s.values, at)
    at += s.timestamps.length
  }
  const m = sortUnique(timestamps, values, n)
  return { timestamps: timestamps.subarray(0, m), values: values.subarray(0, m) }
}

/** First index in [lo, hi) whose timestamp is ≥ t. */
export function lowerBound(ts: Float64Array, t: number, lo = 0, hi = ts.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((ts[mid] as number) < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Encodes points (sorted, unique) into chunks of at most MAX_CHUNK_POINTS,
 * balanced, with their summaries, appending them to `out`.
 */
export function toChunks(seriesId: number, p: Points, out: StoredChunk[]): void {
  const n = p.timestamps.length
  if (n === 0) return
  const pieces = Math.ceil(n / MAX_CHUNK_POINTS)
  for (let k = 0; k < pieces; k++) {
    const a = Math.floor((k * n) / pieces)
    const b = Math.floor(((k + 1) * n) / pieces)
    const ts = p.timestamps.subarray(a, b)
    const vs = p.values.subarray(a, b)
    let sum = 0
    let min = Number.NaN
    let max = Number.NaN
    for (let i = 0; i < vs.length; i++) {
      const v = vs[i] as number
      sum += v
      // NaN is skipped; among equal values (0 and -0) the first one stays.
      if (!Number.isNaN(v)) {
        if (!(min <= v)) min = v
        if (!(max >= v)) max = v
      }
    }
    out.push({
      seriesId,
      startTs: ts[0] as number,
      endTs: ts[ts.length - 1] as number,
      count: ts.length,
      min,
      max,
      sum,
      first: vs[0] as number,
      last: vs[vs.length - 1] as number,
      data: encodeChunk(ts, vs),
    })
  }
}
