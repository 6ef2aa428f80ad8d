import type { QoS, SubscribePacket, UnsubscribePacket } from '@strata/protocol'
import { parseSharedSubscription, ReasonCode, validateTopicFilter } from '@strata/protocol'
import type { Connection } from './connection.js'
import type { BrokerContext } from './context.js'
import { Message } from './message.js'
import type { StoredMessage } from './persistence/store.js'
import type { Session } from './session.js'
import type { SubscriptionEntry } from './subscriptions.js'

/** 3.1.1 has one failure code for everything [MQTT-3.9.3-2]. */
const failure = (conn: Connection, reasonCode: number): number => (conn.version === 5 ? reasonCode : 0x80)

/**
 * SUBSCRIBE (MQTT 5 section 3.8.4): each filter validated, authorized and
 * counted against the quota on its own; SUBACK with one code per filter
 * [MQTT-3.8.4-6]; then retained messages per Retain Handling.
 */
export function handleSubscribe(
  ctx: BrokerContext,
  conn: Connection,
  session: Session,
  packet: SubscribePacket,
): void {
  const codes: number[] = []
  const retainedFor: SubscriptionEntry<Session>[] = []
  const subscriptionIdentifier = packet.properties?.subscriptionIdentifiers?.[0]
  const { limits, hooks } = ctx
  for (const request of packet.subscriptions) {
    const topicFilter = request.topicFilter
    const invalid = validateTopicFilter(topicFilter, limits.maxTopicLength, limits.maxTopicLevels)
    if (invalid !== undefined) {
      codes.push(failure(conn, ReasonCode.TopicFilterInvalid))
      continue
    }
    const shared = parseSharedSubscription(topicFilter)
    if (shared !== undefined && request.noLocal === true) {
      // [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error.
      conn.disconnect(ReasonCode.ProtocolError, 'No Local on a shared subscription')
      return
    }
    const identity = conn.identity
    if (
      hooks.authorizeSubscribe !== undefined &&
      identity !== undefined &&
      !hooks.authorizeSubscribe(identity, topicFilter, request.qos)
    ) {
      codes.push(failure(conn, ReasonCode.NotAuthorized))
      continue
    }
    const existing = session.getSubscription(topicFilter)
    if (existing === undefined && session.subscriptionCount >= limits.maxSubscriptionsPerClient) {
      codes.push(failure(conn, ReasonCode.QuotaExceeded))
      continue
    }
    const entry: SubscriptionEntry<Session> = {
      owner: session,
      topicFilter,
      filter: shared?.filter ?? topicFilter,
      group: shared?.group,
      qos: request.qos,
      noLocal: request.noLocal ?? false,
      retainAsPublished: request.retainAsPublished ?? false,
      retainHandling: request.retainHandling ?? 0,
    }
    if (subscriptionIdentifier !== undefined) entry.subscriptionIdentifier = subscriptionIdentifier
    // [MQTT-3.8.4-3] a subscription to the same filter replaces the existing one.
    ctx.subscriptions.add(entry)
    session.setSubscription(entry)
    // [MQTT-3.8.4-8] granted QoS = requested: this broker supports QoS 2.
    codes.push(request.qos)
    // [MQTT-4.8.2-6] no retained messages for shared subscriptions.
    // [MQTT-3.3.1-9] RH 0: send; [MQTT-3.3.1-10] RH 1: only if new; [MQTT-3.3.1-11] RH 2: never.
    if (shared === undefined && (entry.retainHandling === 0 || (entry.retainHandling === 1 && !existing))) {
      retainedFor.push(entry)
    }
  }
  if (session.persistent) ctx.sessions.save(session)
  conn.send({ type: 'suback', packetId: packet.packetId, reasonCodes: codes })
  for (const entry of retainedFor) sendRetained(ctx, session, entry)
}

/** Retained messages for a new subscription, RETAIN set [MQTT-3.3.1-9], QoS downgraded [MQTT-3.8.4-8]. */
function sendRetained(ctx: BrokerContext, session: Session, entry: SubscriptionEntry<Session>): void {
  const found: StoredMessage[] = []
  ctx.retained.match(entry.filter, (m) => found.push(m))
  const now = Date.now()
  const ids = entry.subscriptionIdentifier === undefined ? undefined : [entry.subscriptionIdentifier]
  for (const stored of found) {
    if (stored.expiresAt !== undefined && stored.expiresAt <= now) {
      // [MQTT-3.3.2-5] an expired retained message is not sent; drop it now that it was found.
      ctx.retained.delete(stored.topic)
      ctx.store.setRetained(stored.topic, null)
      continue
    }
    const qos = Math.min(stored.qos, entry.qos) as QoS
    // A fresh id: the queue entry must not share the retained record's id in the store.
    const copy = qos > 0 && session.persistent ? { ...stored, id: ctx.nextMessageId() } : stored
    ctx.delivery.deliver(session, new Message(copy), qos, true, ids, undefined, now)
  }
}

/** UNSUBSCRIBE (section 3.10.4): UNSUBACK with 0x00 or 0x11 No subscription existed per filter. */
export function handleUnsubscribe(
  ctx: BrokerContext,
  conn: Connection,
  session: Session,
  packet: UnsubscribePacket,
): void {
  const codes: number[] = []
  for (const topicFilter of packet.topicFilters) {
    const invalid = validateTopicFilter(topicFilter, ctx.limits.maxTopicLength, ctx.limits.maxTopicLevels)
    if (invalid !== undefined) {
      codes.push(ReasonCode.TopicFilterInvalid)
      continue
    }
    const entry = session.getSubscription(topicFilter)
    if (entry === undefined) {
      codes.push(ReasonCode.NoSubscriptionExisted)
      continue
    }
    session.deleteSubscription(topicFilter)
    ctx.subscriptions.remove(session, entry.filter, entry.group)
    codes.push(ReasonCode.Success)
  }
  if (session.persistent) ctx.sessions.save(session)
  // [MQTT-3.10.4-4] UNSUBACK even if nothing was removed; 3.1.1 carries no codes.
  conn.send(
    conn.version === 5
      ? { type: 'unsuback', packetId: packet.packetId, reasonCodes: codes }
      : { type: 'unsuback', packetId: packet.packetId },
  )
}
