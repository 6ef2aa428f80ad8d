/**
 * The telemetry pipeline: what happens to a device's telemetry message whatever carried it (the
 * broker's ingest hook for MQTT, `POST /api/v1/ingest/...` for HTTP). A message is decoded whole
 * (docs/topics.md) or refused whole; decoded numeric points go to the time-series engine, and the
 * sender's acknowledgement (PUBACK, HTTP 2xx) waits for the engine's write-ahead log. The delivery
 * ledger counts every stage.
 */
import type { Logger } from '@strata/broker'
import {
  decodeTelemetry,
  type TelemetryFormat,
  TelemetryFormatError,
  type TelemetryPoint,
} from '@strata/protocol'
import type { EnginePoint, TimeSeriesEngine } from '@strata/tsdb'
import type { DeliveryLedger } from './ledger.js'

/** One telemetry message from one authenticated device. */
export interface TelemetrySubmission {
  readonly deviceId: string
  readonly format: TelemetryFormat
  readonly payload: Uint8Array
  /**
   * Whether the sender waits for an acknowledgement (MQTT QoS 1/2, HTTP): counted `acknowledged`
   * once durable. QoS 0 is best effort.
   */
  readonly acknowledged: boolean
  /** Where it came from, for logs and the device's error event (an MQTT topic, an HTTP path). */
  readonly source: string
}

export type SubmitResult =
  /** Bad payload: nothing was stored. The device was told on `devices/{id}/errors`. */
  | { readonly kind: 'refused'; readonly error: TelemetryFormatError }
  /** Storage is behind and this message was not taken: retry after the delay (HTTP 429). */
  | { readonly kind: 'busy'; readonly retryAfterMs: number }
  /** Taken: `durable` resolves once every stored point is in the write-ahead log. */
  | { readonly kind: 'accepted'; readonly points: number; readonly durable: Promise<void> }

export interface TelemetryPipelineOptions {
  engine: TimeSeriesEngine
  ledger: DeliveryLedger
  logger: Logger
  /** A device's type id (for the ledger's labels), cached by the caller. */
  typeOf(deviceId: string): string | null
  /** Publishes a rejection event to the device (never awaited by the sender's ack). */
  publishError(deviceId: string, payload: Buffer): void
  now?: () => number
}

export class TelemetryPipeline {
  readonly #options: TelemetryPipelineOptions
  readonly #now: () => number

  constructor(options: TelemetryPipelineOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  submit(s: TelemetrySubmission): SubmitResult {
    const { engine, ledger } = this.#options
    const typeId = this.#options.typeOf(s.deviceId)
    ledger.count(typeId, 'received', 1, 0)
    let points: TelemetryPoint[]
    try {
      points = decodeTelemetry(s.format, s.payload, this.#now())
    } catch (err) {
      if (err instanceof TelemetryFormatError) return this.#refused(s.deviceId, typeId, s.source, err)
      throw err
    }
    ledger.count(typeId, 'decoded', 1, points.length)
    const numeric: EnginePoint[] = []
    let strings = 0
    for (const point of points) {
      const value = point.value
      if (typeof value === 'string') strings++
      else
        numeric.push({
          series: `${s.deviceId}/${point.metric}`,
          ts: point.ts,
          value: value === true ? 1 : value === false ? 0 : value,
        })
    }
    // String values belong to the event log, which does not exist yet: counted, never silent.
    if (strings > 0) ledger.count(typeId, 'rejected', 0, strings)
    ledger.count(typeId, 'queued', 1, numeric.length)
    const durable = engine.write(numeric).then(() => {
      ledger.count(typeId, 'stored', 1, numeric.length)
      if (s.acknowledged) ledger.count(typeId, 'acknowledged', 1, numeric.length)
    })
    return { kind: 'accepted', points: numeric.length, durable }
  }

  /** Refuses a message before decoding (an unknown format): counted `received` and `rejected`, the device told. */
  refuse(
    deviceId: string,
    source: string,
    err: TelemetryFormatError,
  ): { kind: 'refused'; error: TelemetryFormatError } {
    const typeId = this.#options.typeOf(deviceId)
    this.#options.ledger.count(typeId, 'received', 1, 0)
    return this.#refused(deviceId, typeId, source, err)
  }

  #refused(
    deviceId: string,
    typeId: string | null,
    source: string,
    err: TelemetryFormatError,
  ): { kind: 'refused'; error: TelemetryFormatError } {
    this.#options.ledger.count(typeId, 'rejected', 1, 0)
    this.#options.logger.info({ deviceId, source, code: err.code, err: err.message }, 'telemetry refused')
    // `source` is the MQTT topic or the HTTP path the message came on.
    this.#options.publishError(
      deviceId,
      Buffer.from(JSON.stringify({ source, code: err.code, message: err.message })),
    )
    return { kind: 'refused', error: err }
  }
}
