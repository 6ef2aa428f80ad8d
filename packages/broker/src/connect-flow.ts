import { randomBytes } from 'node:crypto'
import type { ConnackPacket, ConnectPacket, Properties } from '@strata/protocol'
import { ReasonCode, toConnectReturnCode, validateTopicName } from '@strata/protocol'
import { type Connection, ConnState } from './connection.js'
import type { BrokerContext } from './context.js'
import type { ClientIdentity } from './options.js'
import { NEVER_EXPIRES, type Session } from './session.js'

/** What the steps of one CONNECT learn and decide. */
interface ConnectAttempt {
  readonly packet: ConnectPacket
  clientId: string
  assignedClientId: boolean
  expiryInterval: number
  expiryCapped: boolean
  serverKeepAlive: number | undefined
  principal: unknown
  sessionOwner: string | undefined
  identity: ClientIdentity | undefined
  session: Session | undefined
  sessionPresent: boolean
}

/** A step returns false when it refused the CONNECT (and closed the connection). */
type Step = (ctx: BrokerContext, conn: Connection, a: ConnectAttempt) => boolean | Promise<boolean>

/**
 * CONNECT handling (MQTT 5 section 3.1.4, 3.1.1 section 3.1.4) as named
 * steps, in the order the spec describes them.
 */
const steps: Step[] = [
  checkAdmission,
  checkClientId,
  negotiate,
  authenticate,
  authorizeWill,
  takeOver,
  openSession,
  sendConnack,
  resumeDelivery,
]

export async function handleConnect(
  ctx: BrokerContext,
  conn: Connection,
  packet: ConnectPacket,
): Promise<void> {
  conn.state = ConnState.Authenticating
  conn.setProtocolVersion(packet.protocolVersion)
  // The connect timeout keeps running until CONNACK, so a hook that never answers cannot hold the socket.
  const attempt: ConnectAttempt = {
    packet,
    clientId: packet.clientId,
    assignedClientId: false,
    expiryInterval: 0,
    expiryCapped: false,
    serverKeepAlive: undefined,
    principal: undefined,
    sessionOwner: undefined,
    identity: undefined,
    session: undefined,
    sessionPresent: false,
  }
  for (const step of steps) {
    let ok = step(ctx, conn, attempt)
    if (typeof ok !== 'boolean') ok = await ok
    // The client may have gone while a hook ran.
    if (!ok || !conn.open) return
  }
  const held = conn.held
  conn.held = undefined
  if (held !== undefined) for (const p of held) ctx.dispatch(conn, p)
}

/** CONNACK with a failure code, then close [MQTT-3.2.2-6] (sessionPresent 0) [MQTT-3.2.2-7]. */
export function refuse(conn: Connection, reasonCode: number, reasonString?: string): false {
  const connack: ConnackPacket = { type: 'connack', sessionPresent: false, reasonCode }
  if (conn.version === 5) {
    if (reasonString !== undefined) connack.properties = { reasonString }
  } else {
    connack.reasonCode = toConnectReturnCode(reasonCode)
  }
  conn.send(connack)
  conn.close(`CONNECT refused: 0x${reasonCode.toString(16)}${reasonString ? ` ${reasonString}` : ''}`)
  return false
}

/** Limits decided before the CONNECT arrived: connection count and connection rate per address. */
function checkAdmission(_ctx: BrokerContext, conn: Connection): boolean {
  if (conn.refuseWith === undefined) return true
  if (conn.refuseWith === ReasonCode.ConnectionRateExceeded && conn.version !== 5) {
    // 3.1.1 has no code for it: just close.
    conn.close('connection rate exceeded')
    return false
  }
  return refuse(conn, conn.refuseWith)
}

function checkClientId(_ctx: BrokerContext, conn: Connection, a: ConnectAttempt): boolean {
  if (a.clientId !== '') return true
  // [MQTT-3.1.3-8] 3.1.1: an empty client id needs Clean Session 1, else return code 2.
  if (conn.version !== 5 && !a.packet.clean) return refuse(conn, ReasonCode.ClientIdentifierNotValid)
  // [MQTT-3.1.3-6] the server assigns a unique id; MQTT 5 tells it in the CONNACK [MQTT-3.2.2-16].
  a.clientId = `strata-${randomBytes(9).toString('base64url')}`
  a.assignedClientId = true
  return true
}

/** Session Expiry, keep-alive and the client's own limits. */
function negotiate(ctx: BrokerContext, conn: Connection, a: ConnectAttempt): boolean {
  const p = a.packet
  const props = p.properties
  if (conn.version === 5) {
    // Enhanced authentication (section 4.12) is not offered: a client that asks
    // for a method gets 0x8C rather than a silent password-only login [MQTT-4.12.0-1].
    if (props?.authenticationMethod !== undefined) {
      return refuse(conn, ReasonCode.BadAuthenticationMethod, 'enhanced authentication is not supported')
    }
    const requested = props?.sessionExpiryInterval ?? 0
    a.expiryInterval = Math.min(requested, ctx.limits.maxSessionExpiryInterval)
    a.expiryCapped = a.expiryInterval !== requested
    conn.clientReceiveMaximum = props?.receiveMaximum ?? 65535
    conn.clientMaximumPacketSize = props?.maximumPacketSize ?? 268_435_460
    conn.clientTopicAliasMaximum = props?.topicAliasMaximum ?? 0
    conn.requestProblemInformation = props?.requestProblemInformation !== 0
  } else {
    // 3.1.1: Clean Session 0 keeps the session with no expiry; 1 ends it with the connection.
    a.expiryInterval = p.clean ? 0 : NEVER_EXPIRES
  }
  let keepAlive = p.keepAlive
  const serverKeepAlive = ctx.limits.serverKeepAlive
  if (
    conn.version === 5 &&
    serverKeepAlive !== undefined &&
    (keepAlive === 0 || keepAlive > serverKeepAlive)
  ) {
    // [MQTT-3.2.2-21] the client must use the Server Keep Alive we send back.
    keepAlive = serverKeepAlive
    a.serverKeepAlive = serverKeepAlive
  }
  conn.keepAliveMs = keepAlive * 1000
  // The parser's buffers are views of the socket chunk: the will outlives it.
  conn.will = p.will === undefined ? undefined : { ...p.will, payload: Buffer.from(p.will.payload) }
  return true
}

async function authenticate(ctx: BrokerContext, conn: Connection, a: ConnectAttempt): Promise<boolean> {
  const hook = ctx.hooks.authenticate
  const p = a.packet
  if (hook !== undefined) {
    let result: Awaited<ReturnType<typeof hook>>
    try {
      result = await hook({
        clientId: a.clientId,
        ...(p.username !== undefined ? { username: p.username } : {}),
        ...(p.password !== undefined ? { password: p.password } : {}),
        protocolVersion: p.protocolVersion,
        connection: conn.info,
      })
    } catch (err) {
      ctx.log.error({ err, clientId: a.clientId }, 'authenticate hook failed')
      return refuse(conn, ReasonCode.ServerUnavailable)
    }
    if (conn.state === ConnState.Closed) return false
    if (!result.ok) return refuse(conn, result.reasonCode, result.reason)
    a.principal = result.principal
    a.sessionOwner = result.sessionOwner
    if (result.maxSessionExpiry !== undefined && a.expiryInterval > result.maxSessionExpiry) {
      a.expiryInterval = result.maxSessionExpiry
      a.expiryCapped = true
    }
  }
  a.identity = {
    clientId: a.clientId,
    ...(p.username !== undefined ? { username: p.username } : {}),
    protocolVersion: p.protocolVersion,
    connection: conn.info,
    ...(a.principal !== undefined ? { principal: a.principal } : {}),
  }
  conn.identity = a.identity
  return true
}

/** The will topic must be one the client could publish to (checked now, published later). */
function authorizeWill(ctx: BrokerContext, conn: Connection, a: ConnectAttempt): boolean {
  const will = a.packet.will
  if (will === undefined || a.identity === undefined) return true
  const invalid = validateTopicName(will.topic, ctx.limits.maxTopicLength, ctx.limits.maxTopicLevels)
  if (invalid !== undefined) return refuse(conn, ReasonCode.TopicNameInvalid, invalid)
  if (will.topic.startsWith('$SYS')) return refuse(conn, ReasonCode.NotAuthorized, '$SYS is read-only')
  const authorize = ctx.hooks.authorizePublish
  if (authorize !== undefined && !authorize(a.identity, will.topic, will.qos, will.retain)) {
    return refuse(conn, ReasonCode.NotAuthorized, 'will topic not authorized')
  }
  return true
}

/**
 * [MQTT-3.1.4-3] an existing connection with the same client id is closed (MQTT 5: DISCONNECT
 * 0x8E), but only by the session's owner: another identity naming that client id is refused
 * rather than handed someone else's subscriptions and queued messages.
 */
function takeOver(ctx: BrokerContext, conn: Connection, a: ConnectAttempt): boolean {
  const existing = ctx.sessions.get(a.clientId)
  if (existing?.owner !== undefined && existing.owner !== a.sessionOwner) {
    return refuse(conn, ReasonCode.ClientIdentifierNotValid, 'client id in use by another identity')
  }
  const old = existing?.connection
  if (old !== undefined) old.disconnect(ReasonCode.SessionTakenOver, 'session taken over')
  return true
}

function openSession(ctx: BrokerContext, conn: Connection, a: ConnectAttempt): boolean {
  const { session, present } = ctx.sessions.open(a.clientId, conn.version, a.packet.clean, a.expiryInterval)
  if (a.sessionOwner !== undefined) session.owner = a.sessionOwner
  // Rights may have changed while the client was away: a resumed subscription must still be allowed.
  if (present && a.identity !== undefined) ctx.sessions.reauthorize(session, a.identity)
  a.session = session
  // [MQTT-3.2.2-2] [MQTT-3.2.2-3] Session Present only when a session is resumed.
  a.sessionPresent = present
  conn.session = session
  conn.state = ConnState.Connected
  ctx.connected.add(conn)
  ctx.sessions.attach(session, conn)
  ctx.counters.clientsConnected++
  if (ctx.counters.clientsConnected > ctx.counters.clientsMaximum) {
    ctx.counters.clientsMaximum = ctx.counters.clientsConnected
  }
  if (a.identity !== undefined && ctx.hooks.onConnect !== undefined) {
    try {
      ctx.hooks.onConnect(a.identity)
    } catch (err) {
      ctx.log.error({ err }, 'onConnect hook threw')
    }
  }
  return true
}

function sendConnack(ctx: BrokerContext, conn: Connection, a: ConnectAttempt): boolean {
  const connack: ConnackPacket = { type: 'connack', sessionPresent: a.sessionPresent, reasonCode: 0 }
  if (conn.version === 5) {
    const l = ctx.limits
    // [MQTT-3.2.2-*] what the client must respect; Maximum QoS is absent because QoS 2 is supported.
    const props: Properties = {
      receiveMaximum: l.maxInflight,
      maximumPacketSize: l.maxPacketSize,
      topicAliasMaximum: l.topicAliasMaximum,
      retainAvailable: 1,
      wildcardSubscriptionAvailable: 1,
      subscriptionIdentifiersAvailable: 1,
      sharedSubscriptionAvailable: 1,
    }
    if (a.assignedClientId) props.assignedClientIdentifier = a.clientId
    if (a.serverKeepAlive !== undefined) props.serverKeepAlive = a.serverKeepAlive
    if (a.expiryCapped) props.sessionExpiryInterval = a.expiryInterval
    connack.properties = props
  }
  conn.send(connack)
  conn.connectDone()
  return true
}

/** Resumed session: unacknowledged messages again with DUP, then the queue [MQTT-4.4.0-1]. */
function resumeDelivery(ctx: BrokerContext, _conn: Connection, a: ConnectAttempt): boolean {
  if (a.session !== undefined) ctx.delivery.resume(a.session)
  return true
}
