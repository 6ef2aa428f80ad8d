import type { Packet } from '@strata/protocol'
import { ReasonCode } from '@strata/protocol'
import { handleConnect } from './connect-flow.js'
import { type Connection, ConnState } from './connection.js'
import type { BrokerContext } from './context.js'
import { handleDisconnect } from './disconnect-flow.js'
import { handlePublish, handlePubrel } from './publish-flow.js'
import { handleSubscribe, handleUnsubscribe } from './subscribe-flow.js'

const MAX_HELD = 1000

/** Routes one parsed packet of a connection to its flow, by connection state and packet type. */
export function dispatch(ctx: BrokerContext, conn: Connection, packet: Packet): void {
  if (conn.state === ConnState.Connecting) {
    // [MQTT-3.1.0-1] the first packet must be CONNECT (the parser enforces it too).
    if (packet.type !== 'connect') {
      conn.close('first packet is not CONNECT')
      return
    }
    handleConnect(ctx, conn, packet).catch((err: unknown) => conn.protocolFailure(err))
    return
  }
  if (conn.state === ConnState.Authenticating) {
    if (packet.type === 'connect') {
      conn.close('second CONNECT [MQTT-3.1.0-2]')
      return
    }
    // Held until CONNACK: the session they act on is not there yet. Bounded, so that a client
    // cannot make the broker buffer without limit while its authentication is pending.
    conn.held ??= []
    if (conn.held.length >= MAX_HELD) {
      conn.close('too many packets before CONNACK')
      return
    }
    conn.held.push(packet)
    return
  }
  const session = conn.session
  if (conn.state !== ConnState.Connected || session === undefined) return
  switch (packet.type) {
    case 'publish':
      handlePublish(ctx, conn, session, packet)
      return
    case 'puback':
      ctx.delivery.puback(session, packet.packetId)
      return
    case 'pubrec':
      ctx.delivery.pubrec(session, conn, packet.packetId, packet.reasonCode)
      return
    case 'pubrel':
      handlePubrel(ctx, conn, session, packet)
      return
    case 'pubcomp':
      ctx.delivery.pubcomp(session, packet.packetId)
      return
    case 'subscribe':
      handleSubscribe(ctx, conn, session, packet)
      return
    case 'unsubscribe':
      handleUnsubscribe(ctx, conn, session, packet)
      return
    case 'pingreq':
      // [MQTT-3.12.4-1]
      conn.send({ type: 'pingresp' })
      return
    case 'disconnect':
      handleDisconnect(ctx, conn, session, packet)
      return
    case 'connect':
      // [MQTT-3.1.0-2] a second CONNECT is a Protocol Error.
      conn.disconnect(ReasonCode.ProtocolError, 'second CONNECT [MQTT-3.1.0-2]')
      return
    case 'auth':
      // No enhanced authentication method was agreed at CONNECT [MQTT-4.12.0-?]: AUTH is a Protocol Error.
      conn.disconnect(ReasonCode.ProtocolError, 'AUTH without an authentication method')
      return
    default:
      // CONNACK, SUBACK, UNSUBACK, PINGRESP: server-to-client only.
      conn.disconnect(ReasonCode.ProtocolError, `unexpected ${packet.type} from a client`)
  }
}
