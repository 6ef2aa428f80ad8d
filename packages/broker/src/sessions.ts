import type { ProtocolVersion, Will } from '@strata/protocol'
import type { Connection } from './connection.js'
import type { BrokerContext } from './context.js'
import type { Delivery } from './delivery.js'
import { Deque } from './deque.js'
import { Message, makeStoredMessage } from './message.js'
import type { ClientIdentity } from './options.js'
import type { RecoveredState } from './persistence/store.js'
import type { Router } from './router.js'
import { NEVER_EXPIRES, type OutMessage, Session } from './session.js'
import { splitShared } from './subscriptions.js'
import { longTimeout } from './timers.js'

/**
 * All sessions by client id: opening (clean start or resume), detaching
 * when a connection ends, expiry timers, wills with their delay, recovery
 * from the store after a restart.
 */
export class SessionRegistry {
  private readonly byId = new Map<string, Session>()

  constructor(
    private readonly ctx: BrokerContext,
    private readonly delivery: Delivery,
    private readonly router: Router,
  ) {}

  get size(): number {
    return this.byId.size
  }

  get(clientId: string): Session | undefined {
    return this.byId.get(clientId)
  }

  values(): IterableIterator<Session> {
    return this.byId.values()
  }

  /**
   * CONNECT: [MQTT-3.1.2-4] Clean Start discards any existing session;
   * otherwise an existing one is resumed [MQTT-3.1.2-5] and sessionPresent is 1 [MQTT-3.2.2-2].
   */
  open(
    clientId: string,
    version: ProtocolVersion,
    clean: boolean,
    expiryInterval: number,
  ): { session: Session; present: boolean } {
    const existing = this.byId.get(clientId)
    if (existing !== undefined) {
      if (clean) {
        this.end(existing)
      } else {
        this.clearTimers(existing, true)
        existing.protocolVersion = version
        existing.expiryInterval = expiryInterval
        return { session: existing, present: true }
      }
    }
    const session = new Session(clientId, version, expiryInterval)
    this.byId.set(clientId, session)
    return { session, present: false }
  }

  attach(session: Session, conn: Connection): void {
    session.connection = conn
    session.disconnectedAt = undefined
    this.save(session)
  }

  /** Writes a persistent session's record (metadata and subscriptions), or deletes it once it is not persistent. */
  save(session: Session, now?: number): void {
    if (session.persistent) {
      this.ctx.store.saveSession(session.record(now))
      session.saved = true
    } else if (session.saved) {
      this.ctx.store.deleteSession(session.clientId)
      session.saved = false
    }
  }

  /** The connection of a session is over. `will` is the will to publish (abnormal end), if any. */
  detach(
    session: Session,
    conn: Connection,
    will: Will | undefined,
    identity: ClientIdentity | undefined,
  ): void {
    if (session.connection !== conn) return // already taken over by a newer connection
    session.connection = undefined
    this.delivery.release(session)
    if (session.endOnDetach) {
      this.end(session)
      return
    }
    if (will !== undefined && identity !== undefined) {
      const delay = will.properties?.willDelayInterval ?? 0
      if (delay > 0 && session.persistent) {
        // [MQTT-3.1.3-9] delayed; cancelled if the client reconnects first, sent at session end if that is earlier.
        const pending = { will, identity, timer: undefined as NodeJS.Timeout | undefined }
        session.pendingWill = pending
        longTimeout(
          Math.min(delay, session.expiryInterval) * 1000,
          () => {
            if (session.pendingWill !== pending) return
            session.pendingWill = undefined
            this.publishWill(will, identity)
          },
          (t) => {
            pending.timer = t
          },
        )
      } else {
        this.publishWill(will, identity)
      }
    }
    if (!session.persistent) {
      this.end(session)
      return
    }
    const now = Date.now()
    session.disconnectedAt = now
    this.save(session, now)
    this.scheduleExpiry(session, now)
  }

  /** Ends a session: subscriptions out of the index, pending will sent, state out of the store. */
  end(session: Session): void {
    const pending = session.pendingWill
    this.delivery.release(session)
    this.clearTimers(session, true)
    // The session ends before the will delay: the will goes now (section 3.1.3.2).
    if (pending !== undefined) this.publishWill(pending.will, pending.identity)
    for (const entry of session.takeSubscriptions()) {
      this.ctx.subscriptions.remove(session, entry.filter, entry.group)
    }
    // Unacknowledged messages of shared subscriptions go to another member (section 4.8.2).
    this.delivery.reassignShared(session, (out: OutMessage, group) =>
      this.router.handOff(session, out, group),
    )
    session.inflight = undefined
    session.queue = undefined
    if (this.byId.get(session.clientId) === session) this.byId.delete(session.clientId)
    if (session.saved || session.persistent) this.ctx.store.deleteSession(session.clientId)
    session.saved = false
  }

  /**
   * Asks the authorizeSubscribe hook again for each of the session's subscriptions on behalf of
   * `identity`, and removes those it refuses (a grant revoked while the client was away or
   * connected). Returns how many were removed.
   */
  reauthorize(session: Session, identity: ClientIdentity): number {
    const authorize = this.ctx.hooks.authorizeSubscribe
    if (authorize === undefined) return 0
    let removed = 0
    for (const entry of session.takeSubscriptions()) {
      if (authorize(identity, entry.topicFilter, entry.qos)) {
        session.setSubscription(entry)
        continue
      }
      this.ctx.subscriptions.remove(session, entry.filter, entry.group)
      removed++
    }
    if (removed > 0 && session.persistent) this.save(session)
    return removed
  }

  /** Ends a session for good without its will (endSession): now, or when its connection closes. */
  discard(session: Session): void {
    if (session.pendingWill?.timer !== undefined) clearTimeout(session.pendingWill.timer)
    session.pendingWill = undefined
    if (session.connection !== undefined) session.endOnDetach = true
    else this.end(session)
  }

  /**
   * Publishes a will as its client would have. Authorized at CONNECT, and again now: a delayed
   * will may go out long after, when the client's rights have changed.
   */
  publishWill(will: Will, identity: ClientIdentity): void {
    const authorize = this.ctx.hooks.authorizePublish
    if (authorize !== undefined && !authorize(identity, will.topic, will.qos, will.retain)) {
      this.ctx.log.info(
        { clientId: identity.clientId, topic: will.topic },
        'will dropped: no longer authorized',
      )
      return
    }
    const now = Date.now()
    const stored = makeStoredMessage(
      this.ctx.nextMessageId(),
      will.topic,
      will.payload,
      will.qos,
      will.retain,
      will.properties,
      identity.clientId,
      now,
    )
    this.ctx.counters.messagesReceived++
    this.router.publish(stored)
    const published = { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain }
    this.ctx.durability.ack(undefined, undefined, published, identity)
  }

  /** Rebuilds sessions from the store at startup; expired ones are deleted [MQTT-3.1.2-23]. */
  recover(state: RecoveredState): void {
    const now = Date.now()
    const messages = new Map<number, Message>()
    const messageOf = (id: number): Message | undefined => {
      let m = messages.get(id)
      if (m === undefined) {
        const stored = state.messages.get(id)
        if (stored === undefined) return undefined
        m = new Message(stored, true)
        messages.set(id, m)
      }
      return m
    }
    for (const record of state.sessions) {
      // A session whose broker died while it was connected counts as disconnected at restart.
      const disconnectedAt = record.disconnectedAt ?? now
      const interval = record.sessionExpiryInterval
      if (interval === 0 || (interval !== NEVER_EXPIRES && disconnectedAt + interval * 1000 <= now)) {
        this.ctx.store.deleteSession(record.clientId)
        continue
      }
      const session = new Session(record.clientId, record.protocolVersion, interval)
      session.owner = record.owner
      session.saved = true
      session.disconnectedAt = disconnectedAt
      for (const sub of record.subscriptions) {
        const { group, filter } = splitShared(sub.topicFilter)
        const entry = { ...sub, owner: session, filter, group }
        session.setSubscription(entry)
        this.ctx.subscriptions.add(entry)
      }
      for (const q of state.queues.get(record.clientId) ?? []) {
        const message = messageOf(q.messageId)
        if (message === undefined) continue
        const out: OutMessage = {
          message,
          qos: q.qos === 2 ? 2 : 1,
          retain: q.retain ?? false,
          subscriptionIdentifiers: q.subscriptionIdentifiers,
          packetId: q.packetId ?? 0,
          released: q.released ?? false,
          shared: undefined,
        }
        if (out.packetId !== 0) {
          session.inflight ??= new Map()
          session.inflight.set(out.packetId, out)
        } else {
          session.queue ??= new Deque()
          session.queue.push(out)
        }
      }
      const inbound = state.inboundQos2.get(record.clientId)
      if (inbound !== undefined && inbound.length > 0) session.inboundQos2 = new Set(inbound)
      this.byId.set(record.clientId, session)
      this.scheduleExpiry(session, disconnectedAt)
    }
  }

  /** Shutdown: timers off, connected persistent sessions recorded as disconnected now. */
  /** Sends every will still waiting out its Will Delay Interval (at broker shutdown). */
  publishPendingWills(): void {
    for (const session of this.byId.values()) {
      const pending = session.pendingWill
      if (pending === undefined) continue
      session.pendingWill = undefined
      if (pending.timer !== undefined) clearTimeout(pending.timer)
      this.publishWill(pending.will, pending.identity)
    }
  }

  shutdown(): void {
    const now = Date.now()
    for (const session of this.byId.values()) {
      this.clearTimers(session, true)
      if (session.connection !== undefined && session.persistent) {
        session.disconnectedAt = now
        this.save(session, now)
      }
    }
  }

  private scheduleExpiry(session: Session, disconnectedAt: number): void {
    if (session.expiryInterval === NEVER_EXPIRES) return
    const remaining = disconnectedAt + session.expiryInterval * 1000 - Date.now()
    longTimeout(
      remaining,
      () => {
        if (session.connection === undefined && this.byId.get(session.clientId) === session) this.end(session)
      },
      (t) => {
        session.expiryTimer = t
      },
    )
  }

  private clearTimers(session: Session, cancelWill: boolean): void {
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer)
    session.expiryTimer = undefined
    const pending = session.pendingWill
    if (pending !== undefined) {
      if (pending.timer !== undefined) clearTimeout(pending.timer)
      if (cancelWill) session.pendingWill = undefined
      else pending.timer = undefined
    }
  }
}
