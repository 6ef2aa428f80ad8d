import type { PublishPacket, PubResponsePacket } from '@strata/protocol'
import { isValidUtf8, ReasonCode, validateTopicName } from '@strata/protocol'
import type { Connection } from './connection.js'
import type { BrokerContext } from './context.js'
import { makeStoredMessage } from './message.js'
import type { IngestResult, PublishedMessage } from './options.js'
import type { StoredMessage } from './persistence/store.js'
import type { Session } from './session.js'

/**
 * Inbound PUBLISH (MQTT 5 section 3.3.4, 4.3): topic alias, validation,
 * authorization, flow control, then routing; the ack leaves through
 * Durability once the store has committed (see durability.ts).
 */
export function handlePublish(
  ctx: BrokerContext,
  conn: Connection,
  session: Session,
  packet: PublishPacket,
): void {
  ctx.counters.messagesReceived++
  const qos = packet.qos
  let topic = packet.topic
  const props = packet.properties
  if (conn.version === 5 && props?.topicAlias !== undefined) {
    const alias = props.topicAlias
    // [MQTT-3.3.2-9] [MQTT-3.3.2-10] alias 0 or above our Topic Alias Maximum: DISCONNECT 0x94.
    if (alias === 0 || alias > ctx.limits.topicAliasMaximum) {
      conn.disconnect(ReasonCode.TopicAliasInvalid, `topic alias ${alias} out of range`)
      return
    }
    if (topic === '') {
      const known = conn.aliasesIn?.get(alias)
      if (known === undefined) {
        conn.disconnect(ReasonCode.TopicAliasInvalid, `unknown topic alias ${alias}`)
        return
      }
      topic = known
    } else {
      conn.aliasesIn ??= new Map()
      conn.aliasesIn.set(alias, topic)
    }
  }
  const invalid = validateTopicName(topic, ctx.limits.maxTopicLength, ctx.limits.maxTopicLevels)
  if (invalid !== undefined) {
    // [MQTT-3.3.2-1] [MQTT-3.3.2-2] a malformed topic name ends the connection (3.1.1: close).
    conn.disconnect(ReasonCode.TopicNameInvalid, invalid)
    return
  }

  const packetId = packet.packetId ?? 0
  if (qos > 0) {
    if (qos === 2 && session.inboundQos2?.has(packetId)) {
      // [MQTT-4.3.3-9] a resent QoS 2 PUBLISH before PUBREL is acknowledged again, not delivered twice.
      ctx.durability.ack(conn, ctx.delivery.pubResponse(conn, 'pubrec', packetId, 0))
      return
    }
    if (++conn.inboundUnacked > ctx.limits.maxInflight && conn.version === 5) {
      // [MQTT-3.3.4-9] more unacknowledged QoS 1/2 PUBLISH than the Receive Maximum we sent: DISCONNECT 0x93.
      conn.disconnect(ReasonCode.ReceiveMaximumExceeded, 'receive maximum exceeded')
      return
    }
    // 3.1.1 never heard of a Receive Maximum: stop reading instead, so that pending acks stay
    // bounded. Not while we wait for this client's own PUBACKs (it subscribes too): pausing
    // would stop us reading them, and a queue that they drain could then never release our acks.
    if (conn.inboundUnacked >= ctx.limits.maxInflight && conn.version !== 5 && session.inflightCount === 0) {
      conn.pauseReading()
    }
  }

  const identity = conn.identity
  // $SYS is the broker's own: clients cannot publish there.
  if (topic.startsWith('$SYS')) {
    if (conn.version === 5) reject(ctx, conn, qos, packetId, ReasonCode.NotAuthorized, '$SYS is read-only')
    else reject(ctx, conn, qos, packetId, 0, '')
    return
  }
  const authorize = ctx.hooks.authorizePublish
  if (authorize !== undefined && identity !== undefined && !authorize(identity, topic, qos, packet.retain)) {
    if (conn.version !== 5) {
      // [MQTT-3.3.5-2] 3.1.1 has no negative PUBACK: close the connection.
      conn.close(`publish to ${topic} not authorized`)
      return
    }
    reject(ctx, conn, qos, packetId, ReasonCode.NotAuthorized, 'not authorized')
    return
  }
  // [MQTT-3.3.2-4] Payload Format Indicator 1 promises UTF-8: check it (0x99 Payload format invalid).
  if (props?.payloadFormatIndicator === 1 && !isValidUtf8(packet.payload)) {
    if (qos === 0) conn.disconnect(ReasonCode.PayloadFormatInvalid, 'payload is not valid UTF-8')
    else reject(ctx, conn, qos, packetId, ReasonCode.PayloadFormatInvalid, 'payload is not valid UTF-8')
    return
  }

  // The platform's ingestion: it may refuse the message, or make its ack wait for its own store.
  let durable: Promise<void> | undefined
  const ingest = ctx.hooks.ingest
  if (ingest !== undefined && identity !== undefined) {
    let result: IngestResult
    try {
      result = ingest(identity, {
        topic,
        payload: packet.payload,
        qos,
        retain: packet.retain,
        ...(props ? { properties: props } : {}),
      })
    } catch (err) {
      ctx.log.error({ err }, 'ingest hook threw')
      result = { refuse: ReasonCode.UnspecifiedError, reason: 'ingestion failed' }
    }
    if (result !== undefined && 'refuse' in result) {
      if (conn.version === 5) reject(ctx, conn, qos, packetId, result.refuse, result.reason ?? '')
      else reject(ctx, conn, qos, packetId, 0, '')
      return
    }
    if (result !== undefined) {
      durable = result.durable
      // Handled now: the ack looks at it only after the journal commits (QoS 1/2), or never (QoS 0,
      // best effort); until then a failure must not count as an unhandled rejection.
      durable.catch((err: unknown) => {
        if (qos === 0) ctx.log.error({ err }, 'QoS 0 ingestion failed')
      })
    }
  }

  const now = Date.now()
  // The parser's payload is a view of the socket chunk: copy what outlives this turn.
  const payload = qos > 0 || packet.retain ? Buffer.from(packet.payload) : packet.payload
  const stored = makeStoredMessage(
    ctx.nextMessageId(),
    topic,
    payload,
    qos,
    packet.retain,
    props,
    session.clientId,
    now,
  )
  ctx.delivery.congested = undefined
  ctx.delivery.refused = 0
  ctx.router.publish(stored)
  const congested = ctx.delivery.congested
  const refused = ctx.delivery.refused
  ctx.delivery.congested = undefined

  if (qos === 0) {
    const onPublish = ctx.hooks.onPublish
    if (onPublish !== undefined) {
      try {
        onPublish(identity, published(stored))
      } catch (err) {
        ctx.log.error({ err }, 'onPublish hook threw')
      }
    }
    return
  }
  if (qos === 1) {
    // [MQTT-4.3.2-2] PUBACK, once durable.
    const puback: PubResponsePacket = { type: 'puback', packetId }
    if (refused > 0 && conn.version === 5) quotaExceeded(conn, puback, refused)
    const ack = ctx.durability.ack(conn, puback, published(stored), identity, true)
    if (durable !== undefined) ack.waitFor = durable
    if (congested !== undefined) ctx.durability.hold(ack, congested)
    return
  }
  // QoS 2, method A of figure 4.3: stored and delivered now, packet id kept until PUBREL [MQTT-4.3.3-9].
  session.inboundQos2 ??= new Set()
  session.inboundQos2.add(packetId)
  if (session.persistent) ctx.store.setInboundQos2(session.clientId, packetId, true)
  const pubrec: PubResponsePacket = { type: 'pubrec', packetId }
  if (refused > 0 && conn.version === 5) quotaExceeded(conn, pubrec, refused)
  const ack = ctx.durability.ack(conn, pubrec, published(stored), identity)
  if (durable !== undefined) ack.waitFor = durable
  if (congested !== undefined) ctx.durability.hold(ack, congested)
}

/**
 * The message was stored for every other subscriber, but the full queue of an
 * offline persistent session refused it: 0x97 tells an MQTT 5 publisher so
 * (3.1.1 has no way to say it; the drop is counted in $SYS).
 */
function quotaExceeded(conn: Connection, ack: PubResponsePacket, refused: number): void {
  ack.reasonCode = ReasonCode.QuotaExceeded
  // [MQTT-3.1.2-29] no Reason String when the client asked for no problem information.
  if (conn.requestProblemInformation)
    ack.properties = { reasonString: `queue full for ${refused} offline session(s)` }
}

/** The hook's view of an accepted message. */
function published(stored: StoredMessage): PublishedMessage {
  const m: PublishedMessage = {
    topic: stored.topic,
    payload: stored.payload,
    qos: stored.qos,
    retain: stored.retain,
  }
  if (stored.properties !== undefined) m.properties = stored.properties
  return m
}

/** A refused QoS 1/2 PUBLISH gets a negative PUBACK/PUBREC; a QoS 0 one is dropped. */
function reject(
  ctx: BrokerContext,
  conn: Connection,
  qos: 0 | 1 | 2,
  packetId: number,
  reasonCode: number,
  reason: string,
): void {
  if (qos === 0) return
  conn.inboundReleased()
  const ack = ctx.delivery.pubResponse(conn, qos === 1 ? 'puback' : 'pubrec', packetId, reasonCode, reason)
  // Through Durability so acks keep their order behind earlier, still committing ones.
  ctx.durability.ack(conn, ack)
}

/** PUBREL from the client: forget the packet id, PUBCOMP (0x92 if unknown) [MQTT-4.3.3-11]. */
export function handlePubrel(
  ctx: BrokerContext,
  conn: Connection,
  session: Session,
  packet: PubResponsePacket,
): void {
  const known = session.inboundQos2?.delete(packet.packetId) === true
  if (known) {
    if (session.inboundQos2?.size === 0) session.inboundQos2 = undefined
    if (session.persistent) ctx.store.setInboundQos2(session.clientId, packet.packetId, false)
  }
  const reasonCode = known ? 0 : ReasonCode.PacketIdentifierNotFound
  ctx.durability.ack(
    conn,
    ctx.delivery.pubResponse(conn, 'pubcomp', packet.packetId, reasonCode),
    undefined,
    undefined,
    known,
  )
}
