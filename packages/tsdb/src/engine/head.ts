/**
 * The head: points not yet sealed into chunks, in memory, by time window
 * (one hour, aligned to the epoch) and series.
 *
 * A window holds, per series, growing arrays of timestamps and values in
 * arrival order; they are sorted (and duplicates resolved, last write wins)
 * only when read or sealed, and only if a point came out of order. A window
 * also remembers the log position of its first record: the engine may
 * checkpoint the log up to the smallest such position over the windows still
 * in memory.
 *
 * Late points: a point for a window that was sealed already opens that window
 * again in the head. It is sealed at the next check (its end is long past),
 * merged with the window's stored chunks then; until that, reads merge the
 * head and storage per window (read.ts). So there is one path for late and
 * on-time points, and the cost of lateness falls on the late points' windows.
 */

import type { WalPoint } from '../wal/index.js'
import type { PointColumns } from '../wal/record-codec.js'
import { type Points, sortUnique } from './points.js'

export const WINDOW_MS = 3_600_000

const INITIAL_CAPACITY = 32

export class HeadChunk {
  timestamps = new Float64Array(INITIAL_CAPACITY)
  values = new Float64Array(INITIAL_CAPACITY)
  length = 0
  /** Timestamps increasing so far (no sort or duplicate to resolve). */
  private ordered = true
  private lastTs = Number.NEGATIVE_INFINITY

  push(ts: number, value: number): void {
    if (this.length === this.timestamps.length) this.grow(this.length * 2)
    this.timestamps[this.length] = ts
    this.values[this.length] = value
    this.length++
    if (ts > this.lastTs) this.lastTs = ts
    else this.ordered = false
  }

  /** Appends another chunk's points after this one's (they were written later). */
  append(other: HeadChunk): void {
    const n = this.length + other.length
    if (n > this.timestamps.length) this.grow(n)
    this.timestamps.set(other.timestamps.subarray(0, other.length), this.length)
    this.values.set(other.values.subarray(0, other.length), this.length)
    this.length = n
    this.ordered = false
  }

  /** Sorts and resolves duplicates in place if needed; returns views of the points (valid until the next push). */
  view(): Points {
    if (!this.ordered) {
      this.length = sortUnique(this.timestamps, this.values, this.length)
      this.ordered = true
      this.lastTs = this.length > 0 ? (this.timestamps[this.length - 1] as number) : Number.NEGATIVE_INFINITY
    }
    return {
      timestamps: this.timestamps.subarray(0, this.length),
      values: this.values.subarray(0, this.length),
    }
  }

  /** A copy of view(), for a reader that holds it across awaits. */
  snapshot(): Points {
    const v = this.view()
    return { timestamps: v.timestamps.slice(), values: v.values.slice() }
  }

  private grow(capacity: number): void {
    const ts = new Float64Array(capacity)
    const vs = new Float64Array(capacity)
    ts.set(this.timestamps.subarray(0, this.length))
    vs.set(this.values.subarray(0, this.length))
    this.timestamps = ts
    this.values = vs
  }
}

export class HeadWindow {
  /** Indexed by series id (ids are dense). */
  readonly chunks: (HeadChunk | undefined)[] = []
  /** Series with a chunk here, in first-write order. */
  readonly ids: number[] = []
  points = 0

  constructor(
    readonly start: number,
    /** Log position of the first record with a point here. */
    public firstPosition: number,
  ) {}

  get end(): number {
    return this.start + WINDOW_MS
  }

  chunk(id: number): HeadChunk {
    let c = this.chunks[id]
    if (c === undefined) {
      c = new HeadChunk()
      this.chunks[id] = c
      this.ids.push(id)
    }
    return c
  }

  /** Removes the series for which `drop` is true (retention of their class passed the window). */
  removeSeries(drop: (id: number) => boolean): void {
    let k = 0
    for (const id of this.ids) {
      if (!drop(id)) {
        this.ids[k++] = id
        continue
      }
      this.points -= (this.chunks[id] as HeadChunk).length
      this.chunks[id] = undefined
    }
    this.ids.length = k
  }

  /** Takes in a window of the same start written after this one (a failed seal puts a window back). */
  absorb(later: HeadWindow): void {
    for (const id of later.ids) this.chunk(id).append(later.chunks[id] as HeadChunk)
    this.points += later.points
    this.firstPosition = Math.min(this.firstPosition, later.firstPosition)
  }
}

export const windowOf = (ts: number): number => Math.floor(ts / WINDOW_MS) * WINDOW_MS

export class Head {
  readonly windows = new Map<number, HeadWindow>()
  /** The window the last point went to: consecutive points mostly share it. */
  private last: HeadWindow | undefined

  /**
   * Adds a record's points (validated by the log's append()). With `marks`
   * (replay), points of a window whose seal mark is past `position` are
   * skipped: they are in storage already. Returns the points added.
   */
  insert(points: readonly WalPoint[], position: number, marks?: ReadonlyMap<number, number>): number {
    let added = 0
    let win = this.last
    let start = win?.start ?? Number.NaN
    let end = win === undefined ? Number.NaN : start + WINDOW_MS
    let skip = false
    for (let i = 0; i < points.length; i++) {
      const p = points[i] as WalPoint
      const t = p.ts
      if (!(t >= start && t < end)) {
        start = windowOf(t)
        end = start + WINDOW_MS
        skip = marks !== undefined && (marks.get(start) ?? -1) > position
        if (skip) continue
        win = this.windows.get(start)
        if (win === undefined) {
          win = new HeadWindow(start, position)
          this.windows.set(start, win)
        }
        this.last = win
      } else if (skip) {
        continue
      }
      ;(win as HeadWindow).chunk(p.series).push(t, p.value)
      ;(win as HeadWindow).points++
      added++
    }
    return added
  }

  /**
   * insert() of a replayed record's points, cols[start, end) (the log's
   * columns, no object per point), skipping those of windows whose seal mark
   * is past `position`. Returns the points added.
   */
  insertColumns(
    cols: PointColumns,
    start: number,
    end: number,
    position: number,
    marks: ReadonlyMap<number, number>,
  ): number {
    const { series, ts, values } = cols
    let added = 0
    let win = this.last
    let wStart = win?.start ?? Number.NaN
    let wEnd = win === undefined ? Number.NaN : wStart + WINDOW_MS
    let skip = false
    // Consecutive points of one series (a batch is mostly series-major) share a chunk lookup.
    let id = -1
    let chunk: HeadChunk | undefined
    for (let i = start; i < end; i++) {
      const t = ts[i] as number
      if (!(t >= wStart && t < wEnd)) {
        wStart = windowOf(t)
        wEnd = wStart + WINDOW_MS
        chunk = undefined
        skip = (marks.get(wStart) ?? -1) > position
        if (skip) continue
        win = this.windows.get(wStart)
        if (win === undefined) {
          win = new HeadWindow(wStart, position)
          this.windows.set(wStart, win)
        }
        this.last = win
      } else if (skip) {
        continue
      }
      const s = series[i] as number
      if (s !== id || chunk === undefined) {
        chunk = (win as HeadWindow).chunk(s)
        id = s
      }
      chunk.push(t, values[i] as number)
      ;(win as HeadWindow).points++
      added++
    }
    return added
  }

  /** Removes a window from the head (to seal it) and returns it. */
  detach(start: number): HeadWindow | undefined {
    const win = this.windows.get(start)
    if (win === undefined) return undefined
    this.windows.delete(start)
    if (this.last === win) this.last = undefined
    return win
  }

  /** Puts back a window whose seal failed, before any points that came for it since. */
  restore(win: HeadWindow): void {
    const newer = this.windows.get(win.start)
    if (newer !== undefined) win.absorb(newer)
    this.windows.set(win.start, win)
    if (this.last === newer) this.last = undefined
  }

  get points(): number {
    let n = 0
    for (const w of this.windows.values()) n += w.points
    return n
  }
}
