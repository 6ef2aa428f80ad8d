/**
 * Decodes the variable header and payload of one control packet whose bytes
 * are wholly in buf[start, end). The framing (fixed header, remaining length,
 * maximum packet size) is the parser's job; this module checks everything
 * inside the packet, each rule tagged with its normative statement.
 *
 * Reason codes: a packet that cannot be parsed as the spec lays it out is a
 * Malformed Packet (0x81); one that parses but breaks a rule is a Protocol
 * Error (0x82) (MQTT 5 section 4.13).
 */
import { MqttProtocolError, malformed, protocolError } from '../errors.js'
import type {
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  ProtocolVersion,
  PublishPacket,
  PubResponsePacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  SubscriptionRequest,
  UnsubackPacket,
  UnsubscribePacket,
  Will,
} from '../packets.js'
import { ReasonCode } from '../reason-codes.js'
import { decodeUtf8, Reader } from './primitives.js'
import { Ctx, readProperties } from './properties.js'
import {
  AUTH_REASONS,
  CONNACK_REASONS,
  DISCONNECT_REASONS,
  PUBACK_PUBREC_REASONS,
  PUBREL_PUBCOMP_REASONS,
  SUBACK_REASONS,
  UNSUBACK_REASONS,
} from './valid-reasons.js'

export enum PacketCode {
  Connect = 1,
  Connack = 2,
  Publish = 3,
  Puback = 4,
  Pubrec = 5,
  Pubrel = 6,
  Pubcomp = 7,
  Subscribe = 8,
  Suback = 9,
  Unsubscribe = 10,
  Unsuback = 11,
  Pingreq = 12,
  Pingresp = 13,
  Disconnect = 14,
  Auth = 15,
}

/**
 * Fixed-header flags each packet type must carry [MQTT-2.2.2-1] [MQTT-2.2.2-2];
 * -1 for PUBLISH, whose flags are DUP/QoS/RETAIN. Index = packet type.
 */
export const REQUIRED_FLAGS = [-2, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0]

const PUB_TYPES = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const

/** Decodes one packet body. `byte1` is the first fixed-header byte (type and flags, already checked). */
export function decodeBody(
  byte1: number,
  buf: Buffer,
  start: number,
  end: number,
  version: ProtocolVersion,
): Packet {
  const type = byte1 >> 4
  switch (type) {
    case PacketCode.Publish:
      return decodePublish(byte1, buf, start, end, version)
    case PacketCode.Connect:
      return decodeConnect(new Reader(buf, start, end))
    case PacketCode.Connack:
      return decodeConnack(new Reader(buf, start, end), version)
    case PacketCode.Puback:
    case PacketCode.Pubrec:
    case PacketCode.Pubrel:
    case PacketCode.Pubcomp:
      return decodePubResponse(type, new Reader(buf, start, end), version)
    case PacketCode.Subscribe:
      return decodeSubscribe(new Reader(buf, start, end), version)
    case PacketCode.Suback:
      return decodeSuback(new Reader(buf, start, end), version)
    case PacketCode.Unsubscribe:
      return decodeUnsubscribe(new Reader(buf, start, end), version)
    case PacketCode.Unsuback:
      return decodeUnsuback(new Reader(buf, start, end), version)
    case PacketCode.Pingreq:
    case PacketCode.Pingresp:
      if (end !== start) throw malformed('PINGREQ/PINGRESP with a body')
      return { type: type === PacketCode.Pingreq ? 'pingreq' : 'pingresp' }
    case PacketCode.Disconnect:
      return decodeDisconnect(new Reader(buf, start, end), version)
    case PacketCode.Auth:
      return decodeAuth(new Reader(buf, start, end), version)
    default:
      throw malformed(`reserved packet type ${type}`)
  }
}

function done(r: Reader, what: string): void {
  if (r.pos !== r.end) throw malformed(`${r.end - r.pos} bytes left over at the end of ${what}`)
}

/** Reads an MQTT 5 reason code and checks it is one the packet may carry. */
function reason(r: Reader, valid: Uint8Array, what: string): number {
  const code = r.u8()
  if (valid[code] !== 1) throw protocolError(`${what} with reason code 0x${code.toString(16)} (table 2-6)`)
  return code
}

function packetId(r: Reader, what: string): number {
  const id = r.u16()
  // [MQTT-2.2.1-3] SUBSCRIBE, UNSUBSCRIBE and PUBLISH QoS>0 carry a non-zero Packet Identifier;
  // the acknowledgements echo it, so 0 there is as much a protocol violation.
  if (id === 0) throw protocolError(`${what} with packet identifier 0 [MQTT-2.2.1-3]`)
  return id
}

/** The hot path: hand-inlined reads, payload as a view of the input. */
function decodePublish(
  byte1: number,
  buf: Buffer,
  start: number,
  end: number,
  version: ProtocolVersion,
): PublishPacket {
  const qos = (byte1 >> 1) & 3
  // [MQTT-3.3.1-4] a PUBLISH with both QoS bits set is malformed.
  if (qos === 3) throw malformed('PUBLISH with QoS 3 [MQTT-3.3.1-4]')
  const dup = (byte1 & 8) !== 0
  // [MQTT-3.3.1-2] DUP must be 0 for QoS 0 messages.
  if (dup && qos === 0) throw malformed('PUBLISH QoS 0 with DUP set [MQTT-3.3.1-2]')
  if (end - start < 2) throw malformed('PUBLISH too short for its topic length')
  const tlen = ((buf[start] as number) << 8) | (buf[start + 1] as number)
  let pos = start + 2 + tlen
  if (pos > end) throw malformed('PUBLISH topic longer than the packet')
  // [MQTT-3.3.2-1] the topic is a UTF-8 string; invalid UTF-8 makes the packet malformed [MQTT-1.5.4-1].
  const topic = decodeUtf8(buf, start + 2, pos)
  const packet: PublishPacket = {
    type: 'publish',
    topic,
    payload: buf,
    qos: qos as QoS,
    retain: (byte1 & 1) !== 0,
    dup,
  }
  if (qos > 0) {
    if (pos + 2 > end) throw malformed('PUBLISH ends inside its packet identifier')
    const id = ((buf[pos] as number) << 8) | (buf[pos + 1] as number)
    if (id === 0) throw protocolError('PUBLISH QoS>0 with packet identifier 0 [MQTT-2.2.1-3]')
    packet.packetId = id
    pos += 2
  }
  if (version === 5) {
    const r = new Reader(buf, pos, end)
    const props = readProperties(r, Ctx.publish)
    if (props !== undefined) packet.properties = props
    pos = r.pos
  }
  packet.payload = buf.subarray(pos, end)
  return packet
}

/** CONNECT, section 3.1. The protocol level is read here, not taken from the parser. */
function decodeConnect(r: Reader): ConnectPacket {
  const name = r.utf8()
  const level = r.u8()
  // [MQTT-3.1.2-1] protocol name "MQTT" (3.1.1, 5.0), or "MQIsdp" for MQTT 3.1 (level 3).
  // [MQTT-3.1.2-2] an unsupported level is answered with CONNACK 0x84 / return code 1,
  // so it is reported with that reason code before anything else is parsed.
  if (!((name === 'MQTT' && (level === 4 || level === 5)) || (name === 'MQIsdp' && level === 3))) {
    throw new MqttProtocolError(
      ReasonCode.UnsupportedProtocolVersion,
      `unsupported protocol ${JSON.stringify(name)} level ${level} [MQTT-3.1.2-2]`,
    )
  }
  const version = level as ProtocolVersion
  const flags = r.u8()
  // [MQTT-3.1.2-3] the reserved flag must be 0, else the packet is malformed.
  if (flags & 1) throw malformed('CONNECT reserved flag set [MQTT-3.1.2-3]')
  const willFlag = (flags & 0x04) !== 0
  const willQoS = (flags >> 3) & 3
  const willRetain = (flags & 0x20) !== 0
  const passwordFlag = (flags & 0x40) !== 0
  const usernameFlag = (flags & 0x80) !== 0
  if (!willFlag) {
    // [MQTT-3.1.2-11] no will: Will QoS 0; [MQTT-3.1.2-13] no will: Will Retain 0.
    if (willQoS !== 0) throw malformed('Will QoS set without Will Flag [MQTT-3.1.2-11]')
    if (willRetain) throw malformed('Will Retain set without Will Flag [MQTT-3.1.2-13]')
  } else if (willQoS === 3) {
    // [MQTT-3.1.2-12] Will QoS must not be 3.
    throw malformed('Will QoS 3 [MQTT-3.1.2-12]')
  }
  // 3.1.1 [MQTT-3.1.2-22]: no password without a user name (MQTT 5 allows it).
  if (version !== 5 && passwordFlag && !usernameFlag) {
    throw malformed('password without user name [MQTT-3.1.2-22]')
  }
  const keepAlive = r.u16()
  const packet: ConnectPacket = {
    type: 'connect',
    protocolName: name as 'MQTT' | 'MQIsdp',
    protocolVersion: version,
    clean: (flags & 0x02) !== 0,
    keepAlive,
    clientId: '',
  }
  if (version === 5) {
    const props = readProperties(r, Ctx.connect)
    if (props !== undefined) {
      // 3.1.2.11.10: Authentication Data without an Authentication Method is a Protocol Error.
      if (props.authenticationData !== undefined && props.authenticationMethod === undefined) {
        throw protocolError('Authentication Data without Authentication Method (3.1.2.11.10)')
      }
      packet.properties = props
    }
  }
  // [MQTT-3.1.3-3] the Client Identifier is the first field of the payload.
  packet.clientId = r.utf8()
  if (willFlag) {
    const props = version === 5 ? readProperties(r, Ctx.will) : undefined
    const will: Will = { topic: r.utf8(), payload: r.binary(), qos: willQoS as QoS, retain: willRetain }
    if (props !== undefined) will.properties = props
    packet.will = will
  }
  if (usernameFlag) packet.username = r.utf8()
  if (passwordFlag) packet.password = r.binary()
  done(r, 'CONNECT')
  return packet
}

function decodeConnack(r: Reader, version: ProtocolVersion): ConnackPacket {
  const ackFlags = r.u8()
  // [MQTT-3.2.2-1] bits 7-1 of the Connect Acknowledge Flags are reserved, 0.
  if (ackFlags & 0xfe) throw malformed('CONNACK reserved flags set [MQTT-3.2.2-1]')
  const code = version === 5 ? reason(r, CONNACK_REASONS, 'CONNACK') : r.u8()
  // 3.1.1 3.2.2.3: return codes 6-255 are reserved.
  if (version !== 5 && code > 5) throw malformed(`CONNACK return code ${code} is reserved`)
  const packet: ConnackPacket = { type: 'connack', sessionPresent: ackFlags === 1, reasonCode: code }
  if (version === 5) {
    const props = readProperties(r, Ctx.connack)
    if (props !== undefined) packet.properties = props
  }
  done(r, 'CONNACK')
  return packet
}

/** PUBACK/PUBREC/PUBREL/PUBCOMP. MQTT 5 short forms: no reason code (0x00), or no properties. */
function decodePubResponse(type: number, r: Reader, version: ProtocolVersion): PubResponsePacket {
  const packet: PubResponsePacket = {
    type: PUB_TYPES[type - PacketCode.Puback] as PubResponsePacket['type'],
    packetId: 0,
  }
  packet.packetId = packetId(r, packet.type.toUpperCase())
  if (version === 5 && r.remaining > 0) {
    // 3.4.2.1: the Reason Code may be omitted when 0x00 and there are no properties.
    packet.reasonCode = reason(
      r,
      type <= PacketCode.Pubrec ? PUBACK_PUBREC_REASONS : PUBREL_PUBCOMP_REASONS,
      packet.type.toUpperCase(),
    )
    // 3.4.2.2.1: the Property Length may be omitted when there are no properties.
    if (r.remaining > 0) {
      const props = readProperties(r, Ctx.pubResponse)
      if (props !== undefined) packet.properties = props
    }
  }
  done(r, packet.type.toUpperCase())
  return packet
}

function decodeSubscribe(r: Reader, version: ProtocolVersion): SubscribePacket {
  const packet: SubscribePacket = { type: 'subscribe', packetId: packetId(r, 'SUBSCRIBE'), subscriptions: [] }
  if (version === 5) {
    const props = readProperties(r, Ctx.subscribe)
    if (props !== undefined) packet.properties = props
  }
  // [MQTT-3.8.3-3] at least one Topic Filter; a SUBSCRIBE with no payload is a Protocol Error.
  if (r.remaining === 0) throw protocolError('SUBSCRIBE without topic filters [MQTT-3.8.3-3]')
  while (r.remaining > 0) {
    const topicFilter = r.utf8()
    const opts = r.u8()
    const qos = opts & 3
    const sub: SubscriptionRequest = { topicFilter, qos: qos as QoS }
    if (version === 5) {
      // [MQTT-3.8.3-5] bits 6 and 7 are reserved; non-zero makes the packet malformed.
      if (opts & 0xc0) throw malformed('reserved subscription option bits set [MQTT-3.8.3-5]')
      // 3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value 3" and
      // "It is a Protocol Error to send a Retain Handling value of 3".
      if (qos === 3) throw protocolError('subscription with Maximum QoS 3 (3.8.3.1)')
      const retainHandling = (opts >> 4) & 3
      if (retainHandling === 3) throw protocolError('Retain Handling 3 (3.8.3.1)')
      sub.noLocal = (opts & 4) !== 0
      sub.retainAsPublished = (opts & 8) !== 0
      sub.retainHandling = retainHandling as 0 | 1 | 2
      // [MQTT-3.8.3-4] No Local on a Shared Subscription is a Protocol Error.
      if (sub.noLocal && topicFilter.startsWith('$share/')) {
        throw protocolError('No Local on a shared subscription [MQTT-3.8.3-4]')
      }
    } else if (opts & 0xfc || qos === 3) {
      // 3.1.1 [MQTT-3-8.3-4]: reserved bits non-zero, or QoS not 0, 1 or 2, is malformed.
      throw malformed('reserved bits or QoS 3 in requested QoS [MQTT-3-8.3-4]')
    }
    packet.subscriptions.push(sub)
  }
  return packet
}

function decodeSuback(r: Reader, version: ProtocolVersion): SubackPacket {
  const packet: SubackPacket = { type: 'suback', packetId: packetId(r, 'SUBACK'), reasonCodes: [] }
  if (version === 5) {
    const props = readProperties(r, Ctx.suback)
    if (props !== undefined) packet.properties = props
  }
  if (r.remaining === 0) throw malformed('SUBACK without return codes')
  while (r.remaining > 0) {
    const code = version === 5 ? reason(r, SUBACK_REASONS, 'SUBACK') : r.u8()
    // 3.1.1 [MQTT-3.9.3-2]: return codes other than 0, 1, 2 and 0x80 are reserved.
    if (version !== 5 && code > 2 && code !== 0x80) {
      throw malformed(`SUBACK return code 0x${code.toString(16)} [MQTT-3.9.3-2]`)
    }
    packet.reasonCodes.push(code)
  }
  return packet
}

function decodeUnsubscribe(r: Reader, version: ProtocolVersion): UnsubscribePacket {
  const packet: UnsubscribePacket = {
    type: 'unsubscribe',
    packetId: packetId(r, 'UNSUBSCRIBE'),
    topicFilters: [],
  }
  if (version === 5) {
    const props = readProperties(r, Ctx.unsubscribe)
    if (props !== undefined) packet.properties = props
  }
  // [MQTT-3.10.3-2] at least one Topic Filter.
  if (r.remaining === 0) throw protocolError('UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]')
  while (r.remaining > 0) packet.topicFilters.push(r.utf8())
  return packet
}

function decodeUnsuback(r: Reader, version: ProtocolVersion): UnsubackPacket {
  const packet: UnsubackPacket = { type: 'unsuback', packetId: packetId(r, 'UNSUBACK') }
  if (version === 5) {
    const props = readProperties(r, Ctx.unsuback)
    if (props !== undefined) packet.properties = props
    const codes: number[] = []
    while (r.remaining > 0) codes.push(reason(r, UNSUBACK_REASONS, 'UNSUBACK'))
    packet.reasonCodes = codes
  }
  done(r, 'UNSUBACK')
  return packet
}

function decodeDisconnect(r: Reader, version: ProtocolVersion): DisconnectPacket {
  const packet: DisconnectPacket = { type: 'disconnect' }
  if (version === 5 && r.remaining > 0) {
    // 3.14.2.1: Remaining Length 0 means reason 0x00; 3.14.2.2.1: 1 means no properties.
    packet.reasonCode = reason(r, DISCONNECT_REASONS, 'DISCONNECT')
    if (r.remaining > 0) {
      const props = readProperties(r, Ctx.disconnect)
      if (props !== undefined) packet.properties = props
    }
  }
  done(r, 'DISCONNECT')
  return packet
}

function decodeAuth(r: Reader, version: ProtocolVersion): AuthPacket {
  // AUTH exists only in MQTT 5; in 3.1.1 type 15 is reserved [MQTT-2.2.1] (3.1.1 section 2.2.1).
  if (version !== 5) throw malformed('AUTH packet in MQTT 3.1.1')
  const packet: AuthPacket = { type: 'auth' }
  if (r.remaining > 0) {
    // 3.15.2.1: Remaining Length 0 means Success with no properties.
    packet.reasonCode = reason(r, AUTH_REASONS, 'AUTH')
    if (r.remaining > 0) {
      const props = readProperties(r, Ctx.auth)
      if (props !== undefined) packet.properties = props
    }
  }
  done(r, 'AUTH')
  return packet
}
