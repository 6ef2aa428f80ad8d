import type { Properties, ProtocolVersion, QoS } from '@strata/protocol'

/**
 * The broker's durable state, behind one interface so that the embedded
 * journal (log-store.ts) can be replaced beyond one machine (PostgreSQL, a
 * NATS JetStream KV bucket) without touching the broker.
 *
 * Model: the broker keeps its working state in memory and tells the store
 * every change as a record. Record methods are synchronous and only buffer;
 * `commit()` resolves once every record given before the call is durable
 * (group commit: one write and one fdatasync for everything pending). The
 * broker awaits `commit()` before it sends PUBACK/PUBREC for a QoS 1/2
 * PUBLISH, so an acknowledged message survives kill -9.
 *
 * `open()` returns the state as it was after the last durable record: a
 * record that was not committed may or may not be there, never half of one.
 */
export interface BrokerStore {
  open(signal?: AbortSignal): Promise<RecoveredState>

  /** A message body, stored once however many sessions it is queued for. */
  putMessage(message: StoredMessage): void
  /** Sets (message) or deletes (null) the retained message of a topic. The message need not be put first. */
  setRetained(topic: string, message: StoredMessage | null): void

  /** Creates or replaces a persistent session's metadata and its whole subscription list. */
  saveSession(session: SessionRecord): void
  /** Deletes a session with its subscriptions, queue and inbound QoS 2 state. */
  deleteSession(clientId: string): void

  /** Queues a put message for a session, at the QoS it will be delivered with. */
  enqueue(clientId: string, entry: QueueEntry): void
  /** Records the packet id a queued message was sent with, or that its PUBREC arrived (QoS 2: PUBREL phase). */
  updateDelivery(clientId: string, messageId: number, packetId: number, released: boolean): void
  /** Removes a message from a session's queue (PUBACK/PUBCOMP received, expired, or dropped by policy). */
  dequeue(clientId: string, messageId: number): void

  /** An inbound QoS 2 packet id awaiting PUBREL [MQTT-4.3.3-9]; `false` when PUBREL arrives. */
  setInboundQos2(clientId: string, packetId: number, pending: boolean): void

  /** Resolves once every record given before this call is durable. */
  commit(): Promise<void>
  /** Commits what is pending and releases files. The store is unusable afterwards. */
  close(): Promise<void>
}

export interface StoredMessage {
  /** Unique, increasing; assigned by the broker from RecoveredState.nextMessageId. */
  id: number
  topic: string
  payload: Buffer
  /** QoS it was published with. */
  qos: QoS
  retain: boolean
  /** PUBLISH properties to forward (no Topic Alias, no Subscription Identifiers: those are per delivery). */
  properties?: Properties
  /** Epoch ms after which it must not be delivered (Message Expiry Interval) [MQTT-3.3.2-5]. */
  expiresAt?: number
  /** Client id of the publisher, for No Local [MQTT-3.8.3-3]. */
  origin?: string
  /** Epoch ms at which the broker received it. */
  receivedAt: number
}

export interface StoredSubscription {
  /** The filter as subscribed, with its `$share/{group}/` prefix if shared. */
  topicFilter: string
  qos: QoS
  noLocal: boolean
  retainAsPublished: boolean
  retainHandling: 0 | 1 | 2
  subscriptionIdentifier?: number
}

export interface SessionRecord {
  clientId: string
  protocolVersion: ProtocolVersion
  /** Seconds; 0xFFFFFFFF never expires [MQTT-3.1.2-23]. */
  sessionExpiryInterval: number
  /** Epoch ms of the last disconnect, or undefined while connected. */
  disconnectedAt?: number
  /** Who owns the session (AuthenticateResult.sessionOwner); absent in journals before it existed. */
  owner?: string
  subscriptions: StoredSubscription[]
}

export interface QueueEntry {
  messageId: number
  /** Delivery QoS: min(published QoS, granted QoS). */
  qos: QoS
  /** Subscription identifiers to send with it (MQTT 5). */
  subscriptionIdentifiers?: number[]
  /** Whether RETAIN is set on delivery (Retain As Published). */
  retain?: boolean
  /** Set once sent; the same id must be reused on redelivery [MQTT-4.4.0-1]. */
  packetId?: number
  /** QoS 2: PUBREC received, PUBREL is what remains to (re)send. */
  released?: boolean
}

export interface RecoveredState {
  sessions: SessionRecord[]
  /** Every message still referenced by a queue or by the retained set. */
  messages: Map<number, StoredMessage>
  retained: Map<string, StoredMessage>
  /** Per client id, its queue in enqueue order. */
  queues: Map<string, QueueEntry[]>
  /** Per client id, inbound QoS 2 packet ids awaiting PUBREL. */
  inboundQos2: Map<string, number[]>
  /** One more than the highest message id ever put. */
  nextMessageId: number
}
