/**
 * Largest-Triangle-Three-Buckets downsampling (S. Steinarsson, "Downsampling
 * Time Series for Visual Representation", MSc thesis, University of Iceland,
 * 2013), streaming, for charts: at most maxPoints of the input's own points,
 * the first and the last always among them, chosen to keep the shape (peaks
 * and dips survive, unlike with averages).
 *
 * Variant: the thesis splits the points between the first and the last into
 * maxPoints - 2 buckets of equal count, which needs the count up front. Here
 * the range [from, to) is split into maxPoints - 2 buckets of equal time (as
 * in time-bucketed LTTB variants, e.g. Grafana's), so points can stream in:
 * memory is two buckets (the one being chosen from and the next, whose
 * average is the third vertex), never the range. Empty buckets are skipped.
 * If the input has at most maxPoints points, all of them come out.
 *
 * In each bucket the point chosen makes the largest triangle with the point
 * chosen last and the average of the next non-empty bucket (the last point,
 * for the last bucket); ties go to the earlier point.
 *
 * NaN: a NaN value is chosen only from a bucket of nothing but NaN (its first
 * point then, so the gap shows), and does not count in a bucket's average; a
 * triangle whose area is NaN (infinities) ranks below every real one. The
 * first and last points are kept whatever their value.
 */
import type { PointBatch } from './query.js'

class Buffer {
  ts = new Float64Array(64)
  vs = new Float64Array(64)
  length = 0
  /** Over the non-NaN values: their count, and sums of their times and values. */
  real = 0
  sumT = 0
  sumV = 0
  /** The bucket index, or -1 while unused. */
  bucket = -1

  push(t: number, v: number): void {
    if (this.length === this.ts.length) {
      const ts = new Float64Array(this.length * 2)
      const vs = new Float64Array(this.length * 2)
      ts.set(this.ts)
      vs.set(this.vs)
      this.ts = ts
      this.vs = vs
    }
    this.ts[this.length] = t
    this.vs[this.length] = v
    this.length++
    if (!Number.isNaN(v)) {
      this.real++
      this.sumT += t
      this.sumV += v
    }
  }

  /** Removes the last point (it becomes the output's last). */
  pop(): void {
    this.length--
    const v = this.vs[this.length] as number
    if (!Number.isNaN(v)) {
      this.real--
      this.sumT -= this.ts[this.length] as number
      this.sumV -= v
    }
  }

  clear(bucket: number): void {
    this.length = 0
    this.real = 0
    this.sumT = 0
    this.sumV = 0
    this.bucket = bucket
  }
}

export class Lttb {
  private readonly outTs: Float64Array
  private readonly outVs: Float64Array
  private out = 0
  /** Points seen; the first maxPoints are held in `held` in case that is all. */
  private seen = 0
  private held: Buffer | undefined = new Buffer()
  private cur = new Buffer()
  private next = new Buffer()
  /** The last chosen point with a real value: the triangles' first vertex. */
  private anchorT = Number.NaN
  private anchorV = Number.NaN
  private lastT = Number.NaN
  private readonly buckets: number

  constructor(
    private readonly from: number,
    private readonly to: number,
    private readonly maxPoints: number,
  ) {
    if (!Number.isSafeInteger(maxPoints) || maxPoints < 2) {
      throw new RangeError(`maxPoints must be an integer of at least 2 (got ${maxPoints})`)
    }
    if (!Number.isFinite(from) || !Number.isFinite(to) || !(to > from)) {
      throw new RangeError(`LTTB needs a finite, non-empty range (got ${from}, ${to})`)
    }
    this.buckets = maxPoints - 2
    this.outTs = new Float64Array(maxPoints)
    this.outVs = new Float64Array(maxPoints)
  }

  /** Adds points [i0, i1) of a batch; batches come in time order. */
  push(ts: Float64Array, vs: Float64Array, i0 = 0, i1 = ts.length): void {
    for (let i = i0; i < i1; i++) this.add(ts[i] as number, vs[i] as number)
  }

  /** The points chosen (views of the result: at most maxPoints). */
  finish(): PointBatch {
    if (this.seen <= this.maxPoints) {
      const h = this.held as Buffer
      return { timestamps: h.ts.slice(0, h.length), values: h.vs.slice(0, h.length) }
    }
    // The last point seen closes the output; it leaves its bucket.
    const lastBuffer = this.next.bucket >= 0 ? this.next : this.cur
    const lastV = lastBuffer.vs[lastBuffer.length - 1] as number
    lastBuffer.pop()
    if (this.next.bucket >= 0 && this.next.length > 0) {
      this.choose(this.cur, this.averageT(this.next), this.averageV(this.next))
      this.choose(this.next, this.lastT, lastV)
    } else this.choose(this.cur, this.lastT, lastV)
    this.emit(this.lastT, lastV)
    return { timestamps: this.outTs.subarray(0, this.out), values: this.outVs.subarray(0, this.out) }
  }

  private add(t: number, v: number): void {
    this.seen++
    this.lastT = t
    const held = this.held
    if (this.seen <= this.maxPoints) {
      ;(held as Buffer).push(t, v)
      return
    }
    if (this.seen === this.maxPoints + 1) {
      // Over budget: replay what was held through the buckets, then go on streaming.
      const h = held as Buffer
      this.held = undefined
      this.emit(h.ts[0] as number, h.vs[0] as number)
      for (let i = 1; i < h.length; i++) this.bucketPoint(h.ts[i] as number, h.vs[i] as number)
    }
    this.bucketPoint(t, v)
  }

  private bucketPoint(t: number, v: number): void {
    if (this.buckets === 0) {
      // Two points: the first and, at finish, the last; hold only the latest.
      this.cur.clear(0)
      this.cur.push(t, v)
      return
    }
    const k = Math.min(
      this.buckets - 1,
      Math.max(0, Math.floor(((t - this.from) / (this.to - this.from)) * this.buckets)),
    )
    if (this.cur.bucket < 0 || k === this.cur.bucket) {
      if (this.cur.bucket < 0) this.cur.clear(k)
      this.cur.push(t, v)
    } else if (this.next.bucket < 0 || k === this.next.bucket) {
      if (this.next.bucket < 0) this.next.clear(k)
      this.next.push(t, v)
    } else {
      // A third bucket begins: `next` is whole, so choose from `cur` and shift.
      this.choose(this.cur, this.averageT(this.next), this.averageV(this.next))
      const spare = this.cur
      this.cur = this.next
      this.next = spare
      this.next.clear(k)
      this.next.push(t, v)
    }
  }

  private averageT(b: Buffer): number {
    if (b.real > 0) return b.sumT / b.real
    return ((b.ts[0] as number) + (b.ts[b.length - 1] as number)) / 2
  }

  /** The bucket's average value; with none, the anchor's (a flat third vertex). */
  private averageV(b: Buffer): number {
    return b.real > 0 ? b.sumV / b.real : this.anchorV
  }

  /** Emits the point of `b` making the largest triangle with the anchor and (cT, cV). */
  private choose(b: Buffer, cT: number, cV: number): void {
    if (b.length === 0) return
    // No real anchor yet (a NaN first point): measure against a flat line at the third vertex.
    const aT = Number.isNaN(this.anchorV) ? (this.outTs[this.out - 1] as number) : this.anchorT
    const aV = Number.isNaN(this.anchorV) ? cV : this.anchorV
    let best = 0
    let bestArea = Number.NEGATIVE_INFINITY
    for (let i = 0; i < b.length; i++) {
      const t = b.ts[i] as number
      const v = b.vs[i] as number
      let area: number
      if (Number.isNaN(v)) area = -2
      else {
        area = Math.abs((aT - cT) * (v - aV) - (aT - t) * (cV - aV))
        if (Number.isNaN(area)) area = -1
      }
      if (area > bestArea) {
        bestArea = area
        best = i
      }
    }
    this.emit(b.ts[best] as number, b.vs[best] as number)
  }

  private emit(t: number, v: number): void {
    this.outTs[this.out] = t
    this.outVs[this.out] = v
    this.out++
    if (!Number.isNaN(v)) {
      this.anchorT = t
      this.anchorV = v
    }
  }
}

/** LTTB over points already in memory (sorted by time): a convenience over Lttb. */
export function lttb(
  timestamps: Float64Array,
  values: Float64Array,
  maxPoints: number,
  from = timestamps[0] ?? 0,
  to = (timestamps[timestamps.length - 1] ?? 0) + 1,
): PointBatch {
  const l = new Lttb(from, to, maxPoints)
  l.push(timestamps, values)
  return l.finish()
}
