import type { Packet } from '@strata/protocol'
import { encodePacket, ReasonCode } from '@strata/protocol'
import { type Connection, ConnState } from './connection.js'
import type { BrokerContext } from './context.js'
import { Deque } from './deque.js'
import type { Message } from './message.js'
import type { OutMessage, Session } from './session.js'
import type { SharedGroup } from './subscriptions.js'

/**
 * Outbound delivery to one session (MQTT 5 section 4.3 and 4.9): QoS 0 sent
 * or dropped, QoS 1/2 through an in-flight window of the client's Receive
 * Maximum (capped by limits.maxInflight), the rest queued.
 *
 * Queue policy when full (limits.maxQueuedMessages per offline session): a
 * new QoS 1/2 message for that session is refused and counted in
 * stats.publishDropped; what is queued already stays, so a client that
 * reconnects gets the oldest messages first and in order. An MQTT 5
 * publisher learns of it: its PUBACK/PUBREC carries 0x97 Quota exceeded.
 *
 * Back-pressure instead of loss for connected slow consumers: when the
 * queue of a connected session passes its high-water mark (half the queue
 * bound, at most 1000), the PUBACK/PUBREC of the PUBLISH that put it there
 * is held (and, to keep acks in order [MQTT-4.6.0-2], every later one of
 * that publisher) until the queue is back under half of that. The
 * publisher's window (our Receive Maximum) then fills and it waits:
 * acknowledged messages are delivered, not dropped. The publisher's
 * connection keeps being read, so its own PUBACKs as a subscriber flow and
 * two clients cannot deadlock each other. Offline sessions hold no acks
 * (that would stall publishers until the client returns): the bound applies.
 */
export class Delivery {
  /** Set while routing a client's PUBLISH: a connected session whose queue passed the high-water mark. */
  congested: Session | undefined
  /** Set while routing a client's PUBLISH: offline sessions whose full queue refused it (PUBACK 0x97 for MQTT 5). */
  refused = 0
  private readonly highWater: number
  private readonly lowWater: number

  constructor(private readonly ctx: BrokerContext) {
    this.highWater = Math.max(1, Math.min(1000, Math.floor(ctx.limits.maxQueuedMessages / 2)))
    this.lowWater = Math.floor(this.highWater / 2)
  }

  /** Delivers one message to one session at the given QoS (already min(published, granted)). */
  deliver(
    session: Session,
    message: Message,
    qos: 0 | 1 | 2,
    retain: boolean,
    subscriptionIdentifiers: number[] | undefined,
    shared: SharedGroup<Session> | undefined,
    now: number,
  ): void {
    // [MQTT-3.3.2-5] an expired message is never delivered.
    if (message.expired(now)) return
    if (qos === 0) {
      const conn = session.connection
      if (conn !== undefined && conn.state === ConnState.Connected) {
        this.sendQos0(conn, message, retain, subscriptionIdentifiers, now)
      }
      return
    }
    // The bound is hard only for offline sessions. A connected session's
    // queue may pass it: the publishers' acks are held (below), so its growth
    // is bounded by their in-flight windows, and an acknowledged message is
    // never dropped for a subscriber that is there to receive it.
    if (session.connection === undefined && session.queuedCount >= this.ctx.limits.maxQueuedMessages) {
      this.ctx.counters.publishDropped++
      this.refused++
      return
    }
    const out: OutMessage = {
      message,
      qos,
      retain,
      subscriptionIdentifiers,
      packetId: 0,
      released: false,
      shared,
    }
    if (session.persistent) {
      message.ensurePut(this.ctx.store)
      this.ctx.store.enqueue(session.clientId, {
        messageId: message.stored.id,
        qos,
        ...(subscriptionIdentifiers !== undefined ? { subscriptionIdentifiers } : {}),
        retain,
      })
    }
    session.queue ??= new Deque()
    session.queue.push(out)
    this.drain(session, now)
    if (
      session.queue !== undefined &&
      session.queue.length >= this.highWater &&
      session.connection !== undefined
    ) {
      this.congested = session
    }
  }

  /** Lets go of the acks a session held back (its queue drained, or it went away). */
  release(session: Session): void {
    const held = session.heldAcks
    if (held === undefined) return
    session.heldAcks = undefined
    for (const ack of held) this.ctx.durability.unhold(ack)
  }

  /** Sends queued messages while the window has room. */
  drain(session: Session, now: number = Date.now()): void {
    const conn = session.connection
    const queue = session.queue
    if (conn === undefined || conn.state !== ConnState.Connected || queue === undefined) return
    const window = Math.min(conn.clientReceiveMaximum, this.ctx.limits.maxInflight)
    while (queue.length > 0 && session.inflightCount < window) {
      const out = queue.shift() as OutMessage
      if (out.message.expired(now)) {
        this.forget(session, out)
        continue
      }
      out.packetId = session.allocatePacketId()
      session.inflight ??= new Map()
      session.inflight.set(out.packetId, out)
      if (session.persistent) {
        this.ctx.store.updateDelivery(session.clientId, out.message.stored.id, out.packetId, false)
      }
      if (!this.sendPublish(conn, out, false, now)) this.dropTooBig(session, out)
    }
    if (queue.length === 0) session.queue = undefined
    if (session.heldAcks !== undefined && queue.length <= this.lowWater) this.release(session)
  }

  /** Reconnect with a present session: in-flight messages again, same ids, DUP=1 [MQTT-4.4.0-1]. */
  resume(session: Session): void {
    const conn = session.connection
    if (conn === undefined) return
    const now = Date.now()
    if (session.inflight !== undefined) {
      for (const out of session.inflight.values()) {
        if (out.released) conn.send({ type: 'pubrel', packetId: out.packetId })
        // The new connection may announce a smaller Maximum Packet Size than the one it was first
        // sent on: dropped then, rather than holding a window slot for ever [MQTT-3.1.2-25].
        else if (!this.sendPublish(conn, out, true, now)) this.dropTooBig(session, out)
      }
      if (session.inflight?.size === 0) session.inflight = undefined
    }
    this.drain(session, now)
  }

  puback(session: Session, packetId: number): void {
    const out = session.inflight?.get(packetId)
    if (out === undefined || out.qos !== 1) return // a stray PUBACK is ignored (section 4.3.2)
    this.complete(session, out)
  }

  pubrec(session: Session, conn: Connection, packetId: number, reasonCode: number | undefined): void {
    const out = session.inflight?.get(packetId)
    if (out === undefined || out.qos !== 2) {
      // Unknown packet id: PUBREL 0x92 (MQTT 5) so the client can release it.
      conn.send(this.pubResponse(conn, 'pubrel', packetId, ReasonCode.PacketIdentifierNotFound))
      return
    }
    if (reasonCode !== undefined && reasonCode >= 0x80) {
      // [MQTT-4.3.3-?] a failed PUBREC ends the exchange: nothing more to send.
      this.complete(session, out)
      return
    }
    if (!out.released) {
      out.released = true
      if (session.persistent) {
        this.ctx.store.updateDelivery(session.clientId, out.message.stored.id, packetId, true)
      }
    }
    // [MQTT-4.3.3-4] PUBREL after PUBREC; the message is no longer resent, only the PUBREL.
    conn.send({ type: 'pubrel', packetId })
  }

  pubcomp(session: Session, packetId: number): void {
    const out = session.inflight?.get(packetId)
    if (out === undefined || out.qos !== 2) return
    this.complete(session, out)
  }

  /** A clean session ends: its unacknowledged shared-subscription messages go to another member (section 4.8.2). */
  reassignShared(session: Session, handOff: (out: OutMessage, group: SharedGroup<Session>) => void): void {
    const all: OutMessage[] = []
    if (session.inflight !== undefined) for (const out of session.inflight.values()) all.push(out)
    if (session.queue !== undefined) for (const out of session.queue) all.push(out)
    for (const out of all) if (out.shared !== undefined && !out.released) handOff(out, out.shared)
  }

  /** PUBACK, PUBREC or PUBCOMP packet for a client, without problem details unless it wants them [MQTT-3.1.2-29]. */
  pubResponse(
    conn: Connection,
    type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp',
    packetId: number,
    reasonCode: number,
    reasonString?: string,
  ): Packet {
    if (conn.version !== 5 || (reasonCode === 0 && reasonString === undefined)) return { type, packetId }
    const packet: Packet = { type, packetId, reasonCode }
    if (reasonString !== undefined && conn.requestProblemInformation) packet.properties = { reasonString }
    return packet
  }

  private complete(session: Session, out: OutMessage): void {
    session.inflight?.delete(out.packetId)
    if (session.inflight?.size === 0) session.inflight = undefined
    this.forget(session, out)
    this.drain(session)
  }

  /**
   * [MQTT-3.1.2-24] a PUBLISH larger than the client's Maximum Packet Size is not sent;
   * [MQTT-3.1.2-25] it is discarded as if its delivery had completed, and counted as dropped,
   * so that it neither blocks the queue behind it nor stays in the window.
   */
  private dropTooBig(session: Session, out: OutMessage): void {
    this.ctx.counters.publishDropped++
    session.inflight?.delete(out.packetId)
    this.forget(session, out)
  }

  private forget(session: Session, out: OutMessage): void {
    if (session.persistent) this.ctx.store.dequeue(session.clientId, out.message.stored.id)
  }

  private sendQos0(
    conn: Connection,
    message: Message,
    retain: boolean,
    subscriptionIdentifiers: number[] | undefined,
    now: number,
  ): void {
    // Slow consumer: over its buffer bound, QoS 0 is dropped and counted, never buffered without limit.
    if (conn.backlog > this.ctx.limits.maxOutgoingBufferBytes) {
      this.ctx.counters.publishDropped++
      return
    }
    let buf: Buffer
    let alias: { alias: number; sendTopic: boolean } | undefined
    if (
      message.cacheable &&
      subscriptionIdentifiers === undefined &&
      (conn.version !== 5 || conn.clientTopicAliasMaximum === 0)
    ) {
      buf = message.encodedQos0(conn.version, retain)
    } else {
      alias = this.topicAlias(conn, message.stored.topic)
      buf = encodePacket(
        message.publishPacket(0, retain, false, undefined, subscriptionIdentifiers, alias, now),
        conn.version,
      )
    }
    // [MQTT-3.1.2-24] never send a packet larger than the client's Maximum Packet Size.
    if (buf.length > conn.clientMaximumPacketSize) {
      // An alias assigned for this PUBLISH was never announced: later ones must not use it.
      if (alias?.sendTopic) conn.aliasesOut?.delete(message.stored.topic)
      this.ctx.counters.publishDropped++
      return
    }
    this.ctx.counters.messagesSent++
    conn.write(buf)
  }

  /** Returns false when the packet exceeds the client's Maximum Packet Size and was not sent. */
  private sendPublish(conn: Connection, out: OutMessage, dup: boolean, now: number): boolean {
    const alias = this.topicAlias(conn, out.message.stored.topic)
    const packet = out.message.publishPacket(
      out.qos,
      out.retain,
      dup,
      out.packetId,
      out.subscriptionIdentifiers,
      alias,
      now,
    )
    const buf = encodePacket(packet, conn.version)
    if (buf.length > conn.clientMaximumPacketSize) {
      if (alias?.sendTopic) conn.aliasesOut?.delete(out.message.stored.topic)
      return false
    }
    this.ctx.counters.messagesSent++
    conn.write(buf)
    return true
  }

  /**
   * Outbound Topic Alias (MQTT 5 section 3.3.2.3.4), a simple policy: assign
   * aliases while the client's Topic Alias Maximum allows, then send full
   * topics. The first PUBLISH with an alias carries the topic too.
   */
  private topicAlias(conn: Connection, topic: string): { alias: number; sendTopic: boolean } | undefined {
    if (conn.version !== 5 || conn.clientTopicAliasMaximum === 0) return undefined
    const known = conn.aliasesOut?.get(topic)
    if (known !== undefined) return { alias: known, sendTopic: false }
    conn.aliasesOut ??= new Map()
    if (conn.aliasesOut.size >= conn.clientTopicAliasMaximum) return undefined
    const alias = conn.aliasesOut.size + 1
    conn.aliasesOut.set(topic, alias)
    return { alias, sendTopic: true }
  }
}
