/**
 * The telemetry pipeline: points go into the offline buffer; batches leave it by count, by
 * size or by age, at QoS 1, a few in flight at a time; a batch leaves the buffer only at its
 * PUBACK. No PUBACK (the connection ended) puts it back, to be sent again first on the next
 * connection: at-least-once, so a batch whose PUBACK was lost arrives twice.
 *
 * A PUBACK refusal the broker may lift (0x80 unspecified, 0x91 packet id in use, 0x97 quota
 * exceeded) puts the batch back and pauses sending (back-off); any other (0x87 not
 * authorized, 0x99 payload format invalid...) will not change by retrying: the batch is
 * removed, its points counted as rejected, and an error is emitted.
 */

import { abortable } from './abort.js'
import { Backoff } from './backoff.js'
import { type Batch, OfflineBuffer } from './buffer.js'
import { encodeTelemetry } from './encoding.js'
import { DeviceClosedError, PublishRefusedError } from './errors.js'
import type { ResolvedTelemetryOptions } from './options.js'
import { type TelemetryCallOptions, type TelemetryInput, toPoints } from './points.js'

/** What the pipeline needs of a connection. */
export interface TelemetryLink {
  readonly connected: boolean
  publish(topic: string, payload: Uint8Array, options: { qos: 1; contentType: string }): Promise<void>
}

export interface TelemetryHooks {
  /** Points removed from the buffer to make room. */
  onDrop(points: number): void
  /** A batch the broker refused for good (its points are gone). */
  onRejected(err: PublishRefusedError, points: number): void
}

export interface TelemetryCounters {
  /** Points held: waiting or in flight. */
  queuedPoints: number
  queuedBytes: number
  inflightBatches: number
  /** Batches and points acknowledged by the broker. */
  sentBatches: number
  sentPoints: number
  /** Points dropped by the buffer's drop-oldest policy. */
  droppedPoints: number
  /** Points of batches the broker refused for good. */
  rejectedPoints: number
  /** Batches put back after a send without PUBACK (each is sent again: a possible duplicate). */
  resentBatches: number
}

const TRANSIENT_PUBACK = new Set([0x80, 0x91, 0x97])

export class TelemetryPipeline {
  private readonly buffer: OfflineBuffer
  private timer: ReturnType<typeof setTimeout> | undefined
  private pausedUntil = 0
  private readonly retry = new Backoff({ initialMs: 1_000, maxMs: 60_000 })
  private flushing = 0
  private readonly flushWaiters = new Set<{ upTo: number; resolve: () => void }>()
  private stopped = false
  private sentBatches = 0
  private sentPoints = 0
  private rejectedPoints = 0
  private resentBatches = 0

  constructor(
    private readonly deviceId: string,
    private readonly options: Readonly<ResolvedTelemetryOptions>,
    private readonly link: TelemetryLink,
    private readonly hooks: TelemetryHooks,
    private readonly clock: () => number = Date.now,
  ) {
    this.buffer = new OfflineBuffer(options)
  }

  /** Validates and queues; returns how many points were dropped to make room. */
  add(input: TelemetryInput, options?: TelemetryCallOptions): number {
    if (this.stopped) throw new DeviceClosedError()
    const points = toPoints(input, this.options.format, options, this.clock())
    const dropped = this.buffer.add(points, this.clock())
    if (dropped > 0) {
      this.hooks.onDrop(dropped)
      this.settleFlushes()
    }
    this.pump()
    return dropped
  }

  /**
   * Resolves once every point queued before the call has left the buffer: acknowledged,
   * or dropped or refused (see the counters). Sends partial batches at once meanwhile.
   */
  flush(signal?: AbortSignal): Promise<void> {
    const upTo = this.buffer.nextArrival
    if (this.buffer.oldestHeld() >= upTo) return Promise.resolve()
    return abortable<void>(signal, (resolve) => {
      const waiter = { upTo, resolve }
      this.flushWaiters.add(waiter)
      this.flushing++
      this.pump()
      return () => {
        this.flushWaiters.delete(waiter)
        this.flushing--
      }
    })
  }

  counters(): TelemetryCounters {
    return {
      queuedPoints: this.buffer.size,
      queuedBytes: this.buffer.sizeBytes,
      inflightBatches: this.buffer.inflightBatches,
      sentBatches: this.sentBatches,
      sentPoints: this.sentPoints,
      droppedPoints: this.buffer.dropped,
      rejectedPoints: this.rejectedPoints,
      resentBatches: this.resentBatches,
    }
  }

  /** Sends what is due; called on connect, on add, on every PUBACK and by the delay timer. */
  pump(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.stopped || !this.link.connected) return
    const o = this.options
    const now = this.clock()
    if (now < this.pausedUntil) {
      this.arm(this.pausedUntil - now)
      return
    }
    while (this.buffer.inflightBatches < o.maxInflightBatches && this.buffer.waiting > 0) {
      const oldest = this.buffer.oldestWaitingAt() ?? now
      const due =
        this.flushing > 0 ||
        this.buffer.hasReturned ||
        this.buffer.waiting >= o.batchPoints ||
        this.buffer.waitingBytes >= o.maxBatchBytes ||
        now - oldest >= o.maxDelayMs
      if (!due) {
        this.arm(oldest + o.maxDelayMs - now)
        return
      }
      const batch = this.buffer.take(o.batchPoints, o.maxBatchBytes)
      if (batch === undefined) return
      this.send(batch)
    }
  }

  /** Stops sending; what is held stays counted in `queuedPoints` and is not sent any more. */
  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => this.pump(), Math.max(0, delay))
  }

  private send(batch: Batch): void {
    let encoded: ReturnType<typeof encodeTelemetry>
    try {
      encoded = encodeTelemetry(this.deviceId, batch.points, this.options.format)
    } catch (err) {
      // Points are checked on the way in; a batch that still cannot be encoded is refused as a whole.
      this.refused(batch, new PublishRefusedError(0x99, `devices/${this.deviceId}/telemetry`, { cause: err }))
      return
    }
    this.link.publish(encoded.topic, encoded.payload, { qos: 1, contentType: encoded.contentType }).then(
      () => {
        this.buffer.remove(batch)
        this.sentBatches++
        this.sentPoints += batch.points.length
        this.retry.reset()
        this.settleFlushes()
        this.pump()
      },
      (err: unknown) => {
        if (err instanceof PublishRefusedError && !TRANSIENT_PUBACK.has(err.reasonCode)) {
          this.refused(batch, err)
          return
        }
        // No PUBACK (ConnectionLostError, DeviceClosedError) or a transient refusal: keep it.
        this.buffer.requeue(batch)
        this.resentBatches++
        if (err instanceof PublishRefusedError) this.pausedUntil = this.clock() + this.retry.next()
        this.pump()
      },
    )
  }

  private refused(batch: Batch, err: PublishRefusedError): void {
    this.buffer.remove(batch)
    this.rejectedPoints += batch.points.length
    this.hooks.onRejected(err, batch.points.length)
    this.settleFlushes()
    this.pump()
  }

  private settleFlushes(): void {
    if (this.flushWaiters.size === 0) return
    const oldest = this.buffer.oldestHeld()
    for (const w of [...this.flushWaiters]) if (oldest >= w.upTo) w.resolve()
  }
}
