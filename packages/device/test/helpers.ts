// Test plumbing for the device SDK: an MQTT user that records what reaches the broker,
// and polling. The platform itself comes from the platform package's helpers.
import { decodeBatch, decodeTelemetry, type TelemetryPoint } from '@strata/protocol'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'

export interface Seen {
  topic: string
  payload: Buffer
  contentType: string | undefined
  retain: boolean
}

export interface Recorder {
  client: MqttClient
  messages: Seen[]
  /** Telemetry points per device id, decoded with the platform's decoders. */
  points(deviceId: string): TelemetryPoint[]
  close(): Promise<void>
}

/**
 * An anonymous (user) client subscribed to `filter`, recording every message. The handler
 * is attached before CONNACK: a resumed session's queued messages can arrive in the same
 * read as the CONNACK, before an awaited connectAsync would have let us attach it.
 */
export async function record(
  url: string,
  filter = 'devices/#',
  options: IClientOptions = {},
): Promise<Recorder> {
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...options,
  })
  const messages: Seen[] = []
  client.on('message', (topic, payload, packet) =>
    messages.push({ topic, payload, contentType: packet.properties?.contentType, retain: packet.retain }),
  )
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  await client.subscribeAsync(filter, { qos: 1 })
  return {
    client,
    messages,
    points(deviceId) {
      const out: TelemetryPoint[] = []
      for (const m of messages) {
        if (m.topic === `devices/${deviceId}/telemetry/batch`) out.push(...decodeBatch(m.payload))
        else if (m.topic === `devices/${deviceId}/telemetry`)
          out.push(...decodeTelemetry('json', m.payload, 0))
      }
      return out
    },
    close: () => client.endAsync(),
  }
}

/** Polls `check` every `everyMs` (0: at every turn of the event loop). */
export async function waitUntil(
  check: () => boolean,
  what: string,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => (everyMs === 0 ? setImmediate(r) : setTimeout(r, everyMs)))
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Back-off fast enough for tests. */
export const FAST_RECONNECT = { initialMs: 50, maxMs: 400 }
