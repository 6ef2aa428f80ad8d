import type { DisconnectPacket } from '@strata/protocol'
import { ReasonCode } from '@strata/protocol'
import type { Connection } from './connection.js'
import type { BrokerContext } from './context.js'
import type { Session } from './session.js'

/** DISCONNECT from the client (MQTT 5 section 3.14.4). */
export function handleDisconnect(
  ctx: BrokerContext,
  conn: Connection,
  session: Session,
  packet: DisconnectPacket,
): void {
  const requested = packet.properties?.sessionExpiryInterval
  if (conn.version === 5 && requested !== undefined) {
    // [MQTT-3.14.2-2] a session that was 0 at CONNECT cannot be given an expiry now: Protocol Error.
    if (session.expiryInterval === 0 && requested !== 0) {
      conn.disconnect(ReasonCode.ProtocolError, 'Session Expiry Interval was 0 at CONNECT')
      return
    }
    session.expiryInterval = Math.min(requested, ctx.limits.maxSessionExpiryInterval)
  }
  // [MQTT-3.14.4-3] only Normal disconnection (0x00; 3.1.1 has no code) discards the will [MQTT-3.1.2-10]:
  // 0x04 asks for it, and a client that ends with an error code (0x80...) failed, so its will goes too.
  if ((packet.reasonCode ?? 0) === 0) conn.discardWill = true
  conn.close('client disconnected')
}
