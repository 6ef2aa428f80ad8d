import type { QoS } from '@strata/protocol'
import { ConnState } from './connection.js'
import type { BrokerContext } from './context.js'
import type { Delivery } from './delivery.js'
import { Message } from './message.js'
import type { StoredMessage } from './persistence/store.js'
import type { OutMessage, Session } from './session.js'
import type { MatchVisitor, SharedGroup, SubscriptionEntry } from './subscriptions.js'

const minQos = (a: QoS, b: QoS): QoS => (a < b ? a : b)

/**
 * Routes an accepted message: retained set, then one delivery per matching
 * session. Overlapping subscriptions of one session yield one delivery at
 * their highest QoS with all their Subscription Identifiers [MQTT-3.3.4-2]
 * [MQTT-3.3.4-3]; each shared group matched yields one delivery to one member.
 *
 * Matching marks sessions with an epoch number instead of building a map per
 * message, so a fan-out allocates nothing per subscriber for QoS 0.
 */
export class Router implements MatchVisitor<Session> {
  private epoch = 0
  private readonly matched: Session[] = []
  private readonly sharedMatched: SharedGroup<Session>[] = []
  private origin: string | undefined

  constructor(
    private readonly ctx: BrokerContext,
    private readonly delivery: Delivery,
  ) {}

  /** Routes a message; `persistRetained` false for broker-generated $SYS values, which need no journal. */
  publish(stored: StoredMessage, persistRetained = true): Message {
    const message = new Message(stored)
    if (stored.retain) this.retain(stored, persistRetained)
    const now = Date.now()
    const matched = this.matched
    const shared = this.sharedMatched
    this.epoch++
    this.origin = stored.origin
    this.ctx.subscriptions.match(stored.topic, this)
    for (let i = 0; i < matched.length; i++) {
      const s = matched[i] as Session
      // [MQTT-3.8.4-8] delivered at min(published QoS, granted QoS); [MQTT-3.3.1-12] [MQTT-3.3.1-13] RETAIN.
      const retain = s.matchRetainAsPublished ? stored.retain : false
      this.delivery.deliver(
        s,
        message,
        minQos(stored.qos, s.matchQos),
        retain,
        s.matchSubscriptionIds,
        undefined,
        now,
      )
      s.matchSubscriptionIds = undefined
    }
    matched.length = 0
    for (let i = 0; i < shared.length; i++) {
      const group = shared[i] as SharedGroup<Session>
      const member = this.pickShared(group, undefined)
      if (member !== undefined) this.deliverShared(member, message, stored.qos, group, now)
    }
    shared.length = 0
    return message
  }

  /** Hands an unacknowledged shared-subscription message to another member of its group. */
  handOff(from: Session, out: OutMessage, group: SharedGroup<Session>): void {
    const member = this.pickShared(group, from)
    if (member === undefined) return
    this.deliverShared(member, out.message, out.message.stored.qos, group, Date.now())
  }

  subscription(entry: SubscriptionEntry<Session>): void {
    const s = entry.owner
    // [MQTT-3.8.3-3] No Local: not back to the publisher's own connection.
    if (entry.noLocal && this.origin === s.clientId) return
    if (s.matchEpoch !== this.epoch) {
      s.matchEpoch = this.epoch
      s.matchQos = entry.qos
      s.matchRetainAsPublished = entry.retainAsPublished
      s.matchSubscriptionIds =
        entry.subscriptionIdentifier === undefined ? undefined : [entry.subscriptionIdentifier]
      this.matched.push(s)
      return
    }
    if (entry.qos > s.matchQos) s.matchQos = entry.qos
    if (entry.retainAsPublished) s.matchRetainAsPublished = true
    if (entry.subscriptionIdentifier !== undefined) {
      s.matchSubscriptionIds ??= []
      s.matchSubscriptionIds.push(entry.subscriptionIdentifier)
    }
  }

  shared(group: SharedGroup<Session>): void {
    this.sharedMatched.push(group)
  }

  /**
   * Chooses the member of a shared group for one message: among connected
   * members, the least loaded (in flight + queued), ties broken round-robin
   * from `group.next`, which gives an even spread when all keep up. A group
   * with no connected member queues to a persistent one.
   */
  pickShared(
    group: SharedGroup<Session>,
    exclude: Session | undefined,
  ): SubscriptionEntry<Session> | undefined {
    const members = group.members
    const n = members.length
    let best: SubscriptionEntry<Session> | undefined
    let bestLoad = Number.POSITIVE_INFINITY
    let bestIndex = 0
    let fallback: SubscriptionEntry<Session> | undefined
    for (let k = 0; k < n; k++) {
      const index = (group.next + k) % n
      const m = members[index] as SubscriptionEntry<Session>
      const s = m.owner
      if (s === exclude) continue
      if (s.connection === undefined || s.connection.state !== ConnState.Connected) {
        if (fallback === undefined && s.persistent) fallback = m
        continue
      }
      const load = s.inflightCount + s.queuedCount
      if (load < bestLoad) {
        best = m
        bestLoad = load
        bestIndex = index
        if (load === 0) break
      }
    }
    if (best !== undefined) {
      group.next = (bestIndex + 1) % n
      return best
    }
    return fallback
  }

  private deliverShared(
    member: SubscriptionEntry<Session>,
    message: Message,
    qos: QoS,
    group: SharedGroup<Session>,
    now: number,
  ): void {
    const s = member.owner
    // [MQTT-3.8.3-4] No Local is not allowed on shared subscriptions, so no origin check here.
    const retain = member.retainAsPublished ? message.stored.retain : false
    const ids = member.subscriptionIdentifier === undefined ? undefined : [member.subscriptionIdentifier]
    this.delivery.deliver(s, message, minQos(qos, member.qos), retain, ids, group, now)
  }

  private retain(stored: StoredMessage, persist: boolean): void {
    const { retained, store, limits } = this.ctx
    if (stored.payload.length === 0) {
      // [MQTT-3.3.1-6] an empty retained payload deletes; [MQTT-3.3.1-7] and is not stored itself.
      if (retained.delete(stored.topic) !== undefined && persist) store.setRetained(stored.topic, null)
      return
    }
    // Over maxRetainedMessages a new retained topic is not kept (it is still delivered); replacing is always allowed.
    if (retained.size >= limits.maxRetainedMessages && retained.get(stored.topic) === undefined) {
      this.ctx.log.warn({ topic: stored.topic }, 'retained message limit reached, not retained')
      return
    }
    retained.set(stored)
    if (persist) store.setRetained(stored.topic, stored)
  }
}
