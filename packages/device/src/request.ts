/**
 * Request and reply over MQTT, as the platform answers provisioning and certificate
 * rotation (docs/topics.md): listen first, subscribe to the reply topics, publish the JSON
 * request with MQTT 5 Correlation Data [MQTT-4.10], and take the reply that carries it
 * back (with 3.1.1, which has no properties, the first message on a reply topic).
 * `{"ok": false, "code", "message"}` rejects with RequestRefusedError.
 */
import { abortable } from './abort.js'
import type { Connection, InboundMessage } from './connection.js'
import { BadReplyError, ConnectionLostError, RequestRefusedError } from './errors.js'

export interface RequestSpec {
  requestTopic: string
  /** Topics (not filters) the reply may come on; each is subscribed for the request's time. */
  replyTopics: readonly string[]
  body: Readonly<Record<string, unknown>>
  protocolVersion: 4 | 5
  signal?: AbortSignal
}

export type Reply = { ok: true; topic: string } & Record<string, unknown>

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.byteLength !== b.byteLength) return false
  for (let i = 0; i < b.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

const utf8 = new TextDecoder()

function parseReply(message: InboundMessage): Reply {
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(message.payload))
  } catch (cause) {
    throw new BadReplyError(`the reply on ${message.topic} is not JSON`, { cause })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new BadReplyError(`the reply on ${message.topic} is not a JSON object`)
  const body = value as Record<string, unknown>
  if (body.ok === true) return { ...body, ok: true, topic: message.topic }
  const code = typeof body.code === 'string' ? body.code : 'STRATA_REQUEST_FAILED'
  const text = typeof body.message === 'string' ? body.message : 'the platform refused the request'
  throw new RequestRefusedError(code, text)
}

export async function request(connection: Connection, spec: RequestSpec): Promise<Reply> {
  await connection.whenConnected(spec.signal)
  const correlation = crypto.getRandomValues(new Uint8Array(16))
  const offs: (() => void)[] = []
  // Listen before subscribing: the reply can come as soon as the request is out.
  const reply = abortable<InboundMessage>(spec.signal, (resolve, reject) => {
    offs.push(
      connection.events.on('message', (m) => {
        if (!spec.replyTopics.includes(m.topic)) return
        if (spec.protocolVersion === 5 && !sameBytes(m.correlationData, correlation)) return
        resolve(m)
      }),
      connection.events.on('disconnect', () =>
        reject(new ConnectionLostError('the connection ended before the reply came; send the request again')),
      ),
    )
    return () => {
      for (const off of offs) off()
    }
  })
  // If subscribing or publishing fails, the reply promise is abandoned: keep it from
  // surfacing as an unhandled rejection.
  reply.catch(() => undefined)
  try {
    for (const topic of spec.replyTopics) await connection.subscribe(topic, { qos: 1, signal: spec.signal })
    await connection.publish(spec.requestTopic, JSON.stringify(spec.body), {
      qos: 1,
      contentType: 'application/json',
      correlationData: correlation,
    })
    return parseReply(await reply)
  } finally {
    for (const off of offs) off()
    for (const topic of spec.replyTopics) void connection.unsubscribe(topic)
  }
}
