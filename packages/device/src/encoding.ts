/**
 * Turns a batch of points into one MQTT message in the chosen format (docs/topics.md,
 * "Telemetry payloads"): the Strata binary batch, or plain JSON.
 */
import { encodeBatch, TELEMETRY_FORMATS, type TelemetryPoint } from '@strata/protocol/telemetry'

export interface EncodedTelemetry {
  topic: string
  payload: Uint8Array
  /** The MQTT 5 Content Type [MQTT-3.3.2.3.9]; 3.1.1 has none, the topic suffix says it. */
  contentType: string
}

const info = (format: 'batch' | 'json'): { contentType: string; topicSuffix: string } => {
  const f = TELEMETRY_FORMATS.find((x) => x.format === format)
  if (f === undefined) throw new Error(`no telemetry format ${format}`)
  return f
}

const utf8 = new TextEncoder()

export function encodeTelemetry(
  deviceId: string,
  points: readonly TelemetryPoint[],
  format: 'batch' | 'json',
): EncodedTelemetry {
  const { contentType, topicSuffix } = info(format)
  const topic = `devices/${deviceId}/telemetry${topicSuffix}`
  const payload = format === 'batch' ? encodeBatch(points) : utf8.encode(JSON.stringify(jsonRows(points)))
  return { topic, payload, contentType }
}

/**
 * Consecutive points at one time share an object (`{"ts": t, "a": 1, "b": 2}`); a metric
 * seen twice at one time starts a new object, since a repeated key would lose a value.
 */
export function jsonRows(points: readonly TelemetryPoint[]): Record<string, number | boolean | string>[] {
  const rows: Record<string, number | boolean | string>[] = []
  let row: Record<string, number | boolean | string> | undefined
  for (const p of points) {
    if (row === undefined || row.ts !== p.ts || Object.hasOwn(row, p.metric)) {
      row = { ts: p.ts }
      rows.push(row)
    }
    row[p.metric] = p.value // names with a __proto__ segment were refused on the way in
  }
  return rows
}
