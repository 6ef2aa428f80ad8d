/**
 * What command and config handlers receive: the message as it came, with helpers to read
 * it as text or JSON (the payload format is the sender's; these do not guess).
 */
import type { InboundMessage } from './connection.js'

export interface DeviceMessage {
  topic: string
  payload: Uint8Array
  /** The MQTT 5 Content Type, when the sender gave one. */
  contentType?: string
  /** MQTT 5 request/response: where the sender wants an answer, and what to copy into it. */
  responseTopic?: string
  correlationData?: Uint8Array
  /** True for a retained message (a config sent while the device was away). */
  retained: boolean
  /** The payload as UTF-8 text. */
  text(): string
  /** The payload parsed as JSON; throws SyntaxError when it is not JSON. */
  json(): unknown
}

/** A command on `devices/{id}/commands/{name}`; `name` may have several levels (`valve/open`). */
export interface Command extends DeviceMessage {
  name: string
}

export type CommandHandler = (command: Command) => void | Promise<void>
export type ConfigHandler = (config: DeviceMessage) => void | Promise<void>

const utf8 = new TextDecoder()

export function deviceMessage(m: InboundMessage): DeviceMessage {
  const out: DeviceMessage = {
    topic: m.topic,
    payload: m.payload,
    retained: m.retain,
    text: () => utf8.decode(m.payload),
    json: () => JSON.parse(utf8.decode(m.payload)) as unknown,
  }
  if (m.contentType !== undefined) out.contentType = m.contentType
  if (m.responseTopic !== undefined) out.responseTopic = m.responseTopic
  if (m.correlationData !== undefined) out.correlationData = m.correlationData
  return out
}
