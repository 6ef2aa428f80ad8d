/**
 * MQTT telemetry: the broker's `ingest` hook for `devices/{id}/telemetry[/format]`, in front of the
 * shared pipeline (pipeline.ts). The format comes from the MQTT 5 Content Type or the topic suffix.
 * A refused message gets PUBACK 0x99 Payload format invalid (MQTT 5); the PUBACK of an accepted
 * QoS 1/2 message waits for the engine's write-ahead log (QoS 0: best effort).
 */
import type { ClientIdentity, IngestResult, PublishedMessage } from '@strata/broker'
import { formatOf, ReasonCode, TelemetryFormatError } from '@strata/protocol'
import type { MqttPrincipal } from '../auth/mqtt-auth.js'
import type { TelemetryPipeline } from './pipeline.js'

const TELEMETRY = '/telemetry'

/** The format suffix of a telemetry topic in the device's own namespace, if it is one. */
function telemetryTopic(topic: string, namespace: string): { suffix: string } | undefined {
  if (!topic.startsWith(namespace)) return undefined
  const rest = topic.slice(namespace.length - 1)
  if (rest === TELEMETRY) return { suffix: '' }
  if (rest.startsWith(`${TELEMETRY}/`)) return { suffix: rest.slice(TELEMETRY.length) }
  return undefined
}

export function createMqttIngest(
  pipeline: TelemetryPipeline,
): (client: ClientIdentity, message: PublishedMessage) => IngestResult {
  return (client, message) => {
    const p = client.principal as MqttPrincipal | undefined
    if (p?.kind !== 'device') return undefined
    const match = telemetryTopic(message.topic, p.acl.namespace)
    if (match === undefined) return undefined
    let format: ReturnType<typeof formatOf>
    try {
      format = formatOf(message.properties?.contentType, match.suffix)
    } catch (err) {
      if (!(err instanceof TelemetryFormatError)) throw err
      const refused = pipeline.refuse(p.deviceId, message.topic, err)
      return { refuse: ReasonCode.PayloadFormatInvalid, reason: refused.error.message }
    }
    const result = pipeline.submit({
      deviceId: p.deviceId,
      format,
      payload: message.payload,
      acknowledged: message.qos > 0,
      source: message.topic,
    })
    switch (result.kind) {
      case 'refused':
        return { refuse: ReasonCode.PayloadFormatInvalid, reason: result.error.message }
      case 'busy':
        // MQTT has no "retry later" for one message: the buffer strategy never answers busy here
        // (it delays the PUBACK instead); a shed message is acknowledged and counted.
        return { refuse: ReasonCode.QuotaExceeded, reason: 'telemetry storage is behind' }
      case 'accepted':
        return { durable: result.durable }
    }
  }
}
