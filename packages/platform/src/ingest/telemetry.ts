/**
 * Telemetry ingestion: the broker's `ingest` hook for `devices/{id}/telemetry[/format]`.
 * A message is decoded whole (docs/topics.md) or refused whole: MQTT 5 gets PUBACK 0x99 Payload
 * format invalid, the device gets the reason on `devices/{id}/errors`, the ledger counts it.
 * Decoded numeric points go to the time-series engine; the PUBACK of a QoS 1/2 message waits for
 * the engine's write-ahead log, so an acknowledged point is durable (QoS 0: best effort).
 */
import type { ClientIdentity, IngestResult, Logger, PublishedMessage } from '@strata/broker'
import {
  decodeTelemetry,
  formatOf,
  ReasonCode,
  TelemetryFormatError,
  type TelemetryPoint,
} from '@strata/protocol'
import type { TimeSeriesEngine } from '@strata/tsdb'
import type { MqttPrincipal } from '../auth/mqtt-auth.js'
import type { DeliveryLedger } from './ledger.js'

export interface TelemetryIngestOptions {
  engine: TimeSeriesEngine
  ledger: DeliveryLedger
  logger: Logger
  /** A device's type id (for the ledger's labels), cached by the caller. */
  typeOf(deviceId: string): string | null
  /** Publishes a rejection event to the device (never awaited by the publisher's ack). */
  publishError(deviceId: string, payload: Buffer): void
  now?: () => number
}

const TELEMETRY = '/telemetry'

/** The device id and format suffix of a telemetry topic in the device's own namespace, if it is one. */
function telemetryTopic(topic: string, namespace: string): { suffix: string } | undefined {
  if (!topic.startsWith(namespace)) return undefined
  const rest = topic.slice(namespace.length - 1)
  if (rest === TELEMETRY) return { suffix: '' }
  if (rest.startsWith(`${TELEMETRY}/`)) return { suffix: rest.slice(TELEMETRY.length) }
  return undefined
}

export function createTelemetryIngest(
  options: TelemetryIngestOptions,
): (client: ClientIdentity, message: PublishedMessage) => IngestResult {
  const { engine, ledger, logger } = options
  const now = options.now ?? Date.now

  const refuse = (
    deviceId: string,
    typeId: string | null,
    err: TelemetryFormatError,
    topic: string,
  ): IngestResult => {
    ledger.count(typeId, 'rejected', 1, 0)
    logger.info({ deviceId, topic, code: err.code, err: err.message }, 'telemetry refused')
    options.publishError(
      deviceId,
      Buffer.from(JSON.stringify({ topic, code: err.code, message: err.message })),
    )
    return { refuse: ReasonCode.PayloadFormatInvalid, reason: err.message }
  }

  return (client, message) => {
    const p = client.principal as MqttPrincipal | undefined
    if (p?.kind !== 'device') return undefined
    const match = telemetryTopic(message.topic, p.acl.namespace)
    if (match === undefined) return undefined
    const deviceId = p.deviceId
    const typeId = options.typeOf(deviceId)
    ledger.count(typeId, 'received', 1, 0)
    let points: TelemetryPoint[]
    try {
      const format = formatOf(message.properties?.contentType, match.suffix)
      points = decodeTelemetry(format, message.payload, now())
    } catch (err) {
      if (err instanceof TelemetryFormatError) return refuse(deviceId, typeId, err, message.topic)
      throw err
    }
    ledger.count(typeId, 'decoded', 1, points.length)
    const numeric = []
    let strings = 0
    for (const point of points) {
      const value = point.value
      if (typeof value === 'string') strings++
      else
        numeric.push({
          series: `${deviceId}/${point.metric}`,
          ts: point.ts,
          value: value === true ? 1 : value === false ? 0 : value,
        })
    }
    // String values belong to the event log, which does not exist yet: counted, never silent.
    if (strings > 0) ledger.count(typeId, 'rejected', 0, strings)
    ledger.count(typeId, 'queued', 1, numeric.length)
    const durable = engine.write(numeric).then(() => {
      ledger.count(typeId, 'stored', 1, numeric.length)
      if (message.qos > 0) ledger.count(typeId, 'acknowledged', 1, numeric.length)
    })
    return { durable }
  }
}
