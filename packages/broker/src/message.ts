import type { Properties, ProtocolVersion, PublishPacket } from '@strata/protocol'
import { encodePacket } from '@strata/protocol'
import type { BrokerStore, StoredMessage } from './persistence/store.js'

/**
 * A message on its way through the broker: the stored form plus what only
 * lives in memory: whether its body is in the store yet, and the encoded
 * QoS 0 PUBLISH for each (protocol level, RETAIN) variant, so that a fan-out
 * to many subscribers encodes once and writes the same buffer to each.
 */
export class Message {
  private cache: (Buffer | undefined)[] | undefined

  /** `put`: the body is in the store already (recovered). */
  constructor(
    readonly stored: StoredMessage,
    private put = false,
  ) {}

  /** Puts the body in the store once, however many sessions it is queued for. */
  ensurePut(store: BrokerStore): void {
    if (this.put) return
    this.put = true
    store.putMessage(this.stored)
  }

  /** True once its Message Expiry Interval has passed [MQTT-3.3.2-5]. */
  expired(now: number): boolean {
    const at = this.stored.expiresAt
    return at !== undefined && at <= now
  }

  /**
   * The shared QoS 0 encoding for messages without per-delivery properties.
   * Messages with an expiry are encoded per delivery, since the remaining
   * interval they forward changes with time [MQTT-3.3.2-6].
   */
  encodedQos0(version: ProtocolVersion, retain: boolean): Buffer {
    const slot = (version === 5 ? 2 : 0) + (retain ? 1 : 0)
    this.cache ??= [undefined, undefined, undefined, undefined]
    let buf = this.cache[slot]
    if (buf === undefined) {
      buf = encodePacket(this.publishPacket(0, retain, false, undefined, undefined, undefined, 0), version)
      this.cache[slot] = buf
    }
    return buf
  }

  get cacheable(): boolean {
    return this.stored.expiresAt === undefined
  }

  /** The PUBLISH for one delivery, with its per-delivery properties. */
  publishPacket(
    qos: 0 | 1 | 2,
    retain: boolean,
    dup: boolean,
    packetId: number | undefined,
    subscriptionIdentifiers: number[] | undefined,
    topicAlias: { alias: number; sendTopic: boolean } | undefined,
    now: number,
  ): PublishPacket {
    const s = this.stored
    let properties: Properties | undefined = s.properties
    if (subscriptionIdentifiers !== undefined || topicAlias !== undefined || s.expiresAt !== undefined) {
      properties = { ...s.properties }
      if (subscriptionIdentifiers !== undefined) properties.subscriptionIdentifiers = subscriptionIdentifiers
      if (topicAlias !== undefined) properties.topicAlias = topicAlias.alias
      if (s.expiresAt !== undefined) {
        // [MQTT-3.3.2-6] forward the remaining interval, not the original one.
        properties.messageExpiryInterval = Math.max(1, Math.ceil((s.expiresAt - now) / 1000))
      }
    }
    const packet: PublishPacket = {
      type: 'publish',
      topic: topicAlias !== undefined && !topicAlias.sendTopic ? '' : s.topic,
      payload: s.payload,
      qos,
      retain,
      dup,
    }
    if (qos > 0) packet.packetId = packetId
    if (properties !== undefined) packet.properties = properties
    return packet
  }
}

/**
 * The stored form of an accepted PUBLISH or will: forwarded properties only
 * (Topic Alias and Subscription Identifiers are per delivery, Will Delay is
 * the will's own), Message Expiry turned into an absolute time.
 */
export function makeStoredMessage(
  id: number,
  topic: string,
  payload: Buffer,
  qos: 0 | 1 | 2,
  retain: boolean,
  properties: Properties | undefined,
  origin: string | undefined,
  now: number,
): StoredMessage {
  const message: StoredMessage = { id, topic, payload, qos, retain, receivedAt: now }
  if (properties !== undefined) {
    const { topicAlias, subscriptionIdentifiers, willDelayInterval, messageExpiryInterval, ...forward } =
      properties
    if (messageExpiryInterval !== undefined) message.expiresAt = now + messageExpiryInterval * 1000
    if (Object.keys(forward).length > 0) message.properties = forward
  }
  if (origin !== undefined) message.origin = origin
  return message
}
