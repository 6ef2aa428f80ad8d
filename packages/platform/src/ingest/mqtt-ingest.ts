/**
 * MQTT telemetry: the broker's `ingest` hook for `devices/{id}/telemetry[/format]`, in front of the
 * shared pipeline (pipeline.ts). The format comes from the MQTT 5 Content Type or the topic suffix.
 * A refused message gets PUBACK 0x99 Payload format invalid (MQTT 5); the PUBACK of an accepted
 * QoS 1/2 message waits until its points are durable (QoS 0: best effort), and, for a buffer
 * type while storage lags, until the lag is over. A message back-pressure does not take gets
 * PUBACK 0x97 Quota exceeded, so the device keeps it. MQTT 3.1.1 has no negative PUBACK (the
 * broker answers a refusal with a plain PUBACK and drops the message), so 3.1.1 QoS 1/2 messages
 * are submitted as not refusable: the pipeline holds their acknowledgement instead, or, for
 * sample and shed types, drops and counts them (pipeline.ts).
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
      refusable: client.protocolVersion === 5,
      source: message.topic,
    })
    switch (result.kind) {
      case 'refused':
        return { refuse: ReasonCode.PayloadFormatInvalid, reason: result.error.message }
      case 'busy':
        // Only for MQTT 5 QoS 1/2 (refusable): the device keeps the message and may send it again.
        return { refuse: ReasonCode.QuotaExceeded, reason: result.reason }
      case 'accepted':
        return { durable: result.durable }
    }
  }
}
