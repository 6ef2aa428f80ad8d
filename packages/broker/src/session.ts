import type { ProtocolVersion, QoS, Will } from '@strata/protocol'
import type { Connection } from './connection.js'
import type { Deque } from './deque.js'
import type { PendingAck } from './durability.js'
import type { Message } from './message.js'
import type { ClientIdentity } from './options.js'
import type { SessionRecord, StoredSubscription } from './persistence/store.js'
import type { SharedGroup, SubscriptionEntry } from './subscriptions.js'

/** Session Expiry Interval meaning "never" [MQTT-3.1.2-23]. */
export const NEVER_EXPIRES = 0xffffffff

/** One QoS 1/2 delivery to one session: queued (packetId 0) or in flight. */
export interface OutMessage {
  readonly message: Message
  readonly qos: 1 | 2
  readonly retain: boolean
  readonly subscriptionIdentifiers: number[] | undefined
  /** 0 until sent; then kept for every redelivery [MQTT-4.4.0-1]. */
  packetId: number
  /** QoS 2: PUBREC received, PUBREL is what remains to (re)send. */
  released: boolean
  /** The shared subscription it came through, so that another member can take it if this one leaves. */
  readonly shared: SharedGroup<Session> | undefined
}

/** A will waiting for its delay or for the end of its session (MQTT 5 section 3.1.3.2). */
export interface PendingWill {
  will: Will
  identity: ClientIdentity
  timer: NodeJS.Timeout | undefined
}

/**
 * The state of one MQTT session (section 4.1): subscriptions, outbound QoS
 * 1/2 messages in flight and queued, inbound QoS 2 packet ids awaiting
 * PUBREL. It outlives its connections when its Session Expiry Interval is
 * not 0. Maps are created on first use: most sessions never need most of them.
 */
export class Session {
  connection: Connection | undefined
  /** By topic filter as subscribed (with any `$share/` prefix); created on the first SUBSCRIBE. */
  private subs: Map<string, SubscriptionEntry<Session>> | undefined
  inflight: Map<number, OutMessage> | undefined
  queue: Deque<OutMessage> | undefined
  inboundQos2: Set<number> | undefined
  disconnectedAt: number | undefined
  expiryTimer: NodeJS.Timeout | undefined
  pendingWill: PendingWill | undefined
  /** Publishers' acks held back because this session's queue passed its high-water mark. */
  heldAcks: PendingAck[] | undefined
  /** Written to the store (persistent sessions only). */
  saved = false
  private nextPacketId = 1

  // Scratch of the router for one match, so that fan-out allocates nothing per subscriber.
  matchEpoch = 0
  matchQos: QoS = 0
  matchRetainAsPublished = false
  matchSubscriptionIds: number[] | undefined

  /** AuthenticateResult.sessionOwner of the client that created it (kept across restarts). */
  owner: string | undefined
  /** Set by endSession while connected: the session ends when its connection does. */
  endOnDetach = false

  constructor(
    readonly clientId: string,
    public protocolVersion: ProtocolVersion,
    /** Seconds; 0 ends the session with its connection, NEVER_EXPIRES never. */
    public expiryInterval: number,
  ) {}

  get subscriptionCount(): number {
    return this.subs?.size ?? 0
  }

  getSubscription(topicFilter: string): SubscriptionEntry<Session> | undefined {
    return this.subs?.get(topicFilter)
  }

  setSubscription(entry: SubscriptionEntry<Session>): void {
    this.subs ??= new Map()
    this.subs.set(entry.topicFilter, entry)
  }

  deleteSubscription(topicFilter: string): void {
    this.subs?.delete(topicFilter)
    if (this.subs?.size === 0) this.subs = undefined
  }

  /** Removes and returns every subscription (session end). */
  takeSubscriptions(): SubscriptionEntry<Session>[] {
    const all = this.subs === undefined ? [] : [...this.subs.values()]
    this.subs = undefined
    return all
  }

  get persistent(): boolean {
    return this.expiryInterval > 0
  }

  get inflightCount(): number {
    return this.inflight?.size ?? 0
  }

  get queuedCount(): number {
    return this.queue?.length ?? 0
  }

  /** A packet id not in use by an in-flight message (1..65535) [MQTT-2.2.1-3]. */
  allocatePacketId(): number {
    const inflight = this.inflight
    for (let i = 0; i < 65535; i++) {
      const id = this.nextPacketId
      this.nextPacketId = id === 65535 ? 1 : id + 1
      if (inflight === undefined || !inflight.has(id)) return id
    }
    throw new Error('no free packet identifier')
  }

  record(now?: number): SessionRecord {
    const subscriptions: StoredSubscription[] = []
    for (const s of this.subs?.values() ?? []) {
      const sub: StoredSubscription = {
        topicFilter: s.topicFilter,
        qos: s.qos,
        noLocal: s.noLocal,
        retainAsPublished: s.retainAsPublished,
        retainHandling: s.retainHandling,
      }
      if (s.subscriptionIdentifier !== undefined) sub.subscriptionIdentifier = s.subscriptionIdentifier
      subscriptions.push(sub)
    }
    const record: SessionRecord = {
      clientId: this.clientId,
      protocolVersion: this.protocolVersion,
      sessionExpiryInterval: this.expiryInterval,
      subscriptions,
    }
    const at = now ?? this.disconnectedAt
    if (at !== undefined) record.disconnectedAt = at
    if (this.owner !== undefined) record.owner = this.owner
    return record
  }
}
