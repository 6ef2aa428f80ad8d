/**
 * The bounded offline buffer of telemetry points. Every point given to `telemetry()` is held
 * here until the broker acknowledges (PUBACK) the batch that carries it; the bounds count
 * held points, in flight or not.
 *
 *   queued ──take()──▶ in flight ──ack()──▶ gone
 *     ▲                    │
 *     └────requeue()───────┘  (no PUBACK: connection lost, or a transient refusal)
 *
 * A requeued batch goes back ahead of every queued point, whole, and is sent again as it
 * was; batches requeued together keep their order. When full, `whenFull` decides:
 * 'drop-oldest' removes the oldest queued points (never one in flight: it may already have
 * arrived) and counts them; 'reject' refuses the new points, all of them.
 */
import type { TelemetryPoint } from '@strata/protocol/telemetry'
import { Deque } from './deque.js'
import { BufferFullError } from './errors.js'
import type { WhenFull } from './options.js'
import { estimatePointBytes } from './points.js'

export interface BufferLimits {
  maxPoints: number
  maxBytes: number
  whenFull: WhenFull
}

export interface BufferEntry {
  point: TelemetryPoint
  bytes: number
  /** When it entered the buffer (clock ms): the batching delay runs from here. */
  at: number
  /** Order of arrival, for flush(): everything up to n has left the buffer. */
  n: number
}

export interface Batch {
  readonly seq: number
  points: TelemetryPoint[]
  bytes: number
  /** The entries, to requeue them as they were. */
  entries: BufferEntry[]
}

export class OfflineBuffer {
  private readonly queued = new Deque<BufferEntry>()
  /** Batches back from flight, oldest first; sent again before anything queued. */
  private readonly returned: Batch[] = []
  private readonly inflight = new Map<number, Batch>()
  private nextSeq = 0
  private nextN = 0
  private points = 0
  private bytes = 0
  private queuedPoints = 0
  private queuedBytes = 0
  /** Points removed to make room (drop-oldest), since the start. */
  dropped = 0

  constructor(private readonly limits: Readonly<BufferLimits>) {}

  /** Held points: queued and in flight. */
  get size(): number {
    return this.points
  }

  get sizeBytes(): number {
    return this.bytes
  }

  /** Points waiting to be sent (returned batches included). */
  get waiting(): number {
    return this.queuedPoints
  }

  get waitingBytes(): number {
    return this.queuedBytes
  }

  get inflightBatches(): number {
    return this.inflight.size
  }

  /** True when a batch came back from flight: it is due at once. */
  get hasReturned(): boolean {
    return this.returned.length > 0
  }

  /** The arrival number the next point will get (flush() waits for everything below it). */
  get nextArrival(): number {
    return this.nextN
  }

  /** When the oldest waiting point arrived; undefined when none waits. */
  oldestWaitingAt(): number | undefined {
    const r = this.returned[0]?.entries[0]
    return r !== undefined ? r.at : this.queued.peek()?.at
  }

  /** The smallest arrival number still held (Infinity when empty). */
  oldestHeld(): number {
    let min = this.returned[0]?.entries[0]?.n ?? this.queued.peek()?.n ?? Number.POSITIVE_INFINITY
    for (const b of this.inflight.values()) min = Math.min(min, b.entries[0]?.n ?? min)
    return min
  }

  /**
   * Adds points (already validated). Returns how many points were dropped to make room
   * ('drop-oldest'; some may be among the new ones when the call alone is over the bounds,
   * or when everything held is in flight). Throws BufferFullError ('reject').
   */
  add(points: readonly TelemetryPoint[], now: number): number {
    const sizes = points.map(estimatePointBytes)
    if (this.limits.whenFull === 'reject') {
      const bytes = sizes.reduce((a, b) => a + b, 0)
      if (this.points + points.length > this.limits.maxPoints || this.bytes + bytes > this.limits.maxBytes)
        throw new BufferFullError(
          `the telemetry buffer holds ${this.points} points (${this.bytes} bytes) of at most ` +
            `${this.limits.maxPoints} (${this.limits.maxBytes} bytes): ${points.length} more do not fit`,
        )
    }
    let dropped = 0
    for (const [i, point] of points.entries()) {
      const bytes = sizes[i] as number
      while (this.points + 1 > this.limits.maxPoints || this.bytes + bytes > this.limits.maxBytes) {
        if (!this.dropOldest()) break
        dropped++
      }
      if (this.points + 1 > this.limits.maxPoints || this.bytes + bytes > this.limits.maxBytes) {
        dropped++ // everything held is in flight: the new point is the one that cannot stay
        continue
      }
      this.queued.push({ point, bytes, at: now, n: this.nextN++ })
      this.held(1, bytes)
      this.wait(1, bytes)
    }
    this.dropped += dropped
    return dropped
  }

  /**
   * Moves up to `maxPoints` / `maxBytes` of the oldest waiting points into a new batch in
   * flight (a returned batch is taken whole, as it was). Undefined when nothing waits.
   */
  take(maxPoints: number, maxBytes: number): Batch | undefined {
    const back = this.returned.shift()
    if (back !== undefined) {
      this.inflight.set(back.seq, back)
      this.wait(-back.points.length, -back.bytes)
      return back
    }
    const entries: BufferEntry[] = []
    let bytes = 0
    for (let e = this.queued.peek(); e !== undefined; e = this.queued.peek()) {
      // The first point always goes, so a point over maxBytes alone still leaves.
      if (entries.length >= maxPoints || (entries.length > 0 && bytes + e.bytes > maxBytes)) break
      this.queued.shift()
      entries.push(e)
      bytes += e.bytes
    }
    if (entries.length === 0) return undefined
    const batch: Batch = { seq: this.nextSeq++, points: entries.map((e) => e.point), bytes, entries }
    this.inflight.set(batch.seq, batch)
    this.wait(-entries.length, -bytes)
    return batch
  }

  /** The batch was acknowledged (or refused for good): its points leave the buffer. */
  remove(batch: Batch): void {
    if (!this.inflight.delete(batch.seq)) return
    this.held(-batch.points.length, -batch.bytes)
  }

  /** The batch was not acknowledged: back ahead of the queued points, in sequence order. */
  requeue(batch: Batch): void {
    if (!this.inflight.delete(batch.seq)) return
    let i = this.returned.length
    while (i > 0 && (this.returned[i - 1] as Batch).seq > batch.seq) i--
    this.returned.splice(i, 0, batch)
    this.wait(batch.points.length, batch.bytes)
  }

  /** Removes the oldest waiting point; false when none waits (all held points are in flight). */
  private dropOldest(): boolean {
    const back = this.returned[0]
    if (back !== undefined) {
      const e = back.entries.shift() as BufferEntry
      back.points.shift()
      back.bytes -= e.bytes
      if (back.entries.length === 0) this.returned.shift()
      this.held(-1, -e.bytes)
      this.wait(-1, -e.bytes)
      return true
    }
    const e = this.queued.shift()
    if (e === undefined) return false
    this.held(-1, -e.bytes)
    this.wait(-1, -e.bytes)
    return true
  }

  private held(points: number, bytes: number): void {
    this.points += points
    this.bytes += bytes
  }

  private wait(points: number, bytes: number): void {
    this.queuedPoints += points
    this.queuedBytes += bytes
  }
}
