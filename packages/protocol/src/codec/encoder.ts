/**
 * Encodes packets into one buffer of the exact size: every length is computed
 * first (string byte lengths once), then the bytes are written with no
 * intermediate buffers. MQTT 5 fields are written only for level 5; for 3.1.1
 * they are ignored. Fields the caller did not set are not invented, except
 * what the wire requires (e.g. an empty Property Length).
 *
 * The encoder trusts its input's types; values that cannot be represented
 * (a string over 65,535 bytes, a packet over the 268,435,455-byte Remaining
 * Length limit) throw RangeError, a programming error rather than a peer's.
 */
import type {
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  ProtocolVersion,
  PublishPacket,
  PubResponsePacket,
  SubackPacket,
  SubscribePacket,
  UnsubackPacket,
  UnsubscribePacket,
} from '../packets.js'
import {
  MAX_VBI,
  stringLength,
  vbiLength,
  writeBinary,
  writeString,
  writeU16,
  writeVbi,
} from './primitives.js'
import { propertiesLength, writeProperties } from './properties.js'

const PUB_RESPONSE_BYTE1 = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const

/** Fixed header then the body; returns the buffer and the position after the fixed header. */
function alloc(byte1: number, remaining: number): [Buffer, number] {
  if (remaining > MAX_VBI) throw new RangeError(`packet body of ${remaining} bytes exceeds the MQTT limit`)
  const buf = Buffer.allocUnsafe(1 + vbiLength(remaining) + remaining)
  buf[0] = byte1
  return [buf, writeVbi(buf, 1, remaining)]
}

export function encodePacket(packet: Packet, version: ProtocolVersion): Buffer {
  switch (packet.type) {
    case 'publish':
      return encodePublish(packet, version)
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return encodePubResponse(packet, version)
    case 'connect':
      return encodeConnect(packet)
    case 'connack':
      return encodeConnack(packet, version)
    case 'subscribe':
      return encodeSubscribe(packet, version)
    case 'suback':
      return encodeSuback(packet, version)
    case 'unsubscribe':
      return encodeUnsubscribe(packet, version)
    case 'unsuback':
      return encodeUnsuback(packet, version)
    case 'pingreq':
      return Buffer.from([0xc0, 0])
    case 'pingresp':
      return Buffer.from([0xd0, 0])
    case 'disconnect':
      return encodeDisconnect(packet, version)
    case 'auth':
      return encodeAuth(packet, version)
  }
}

/** Size the packet would have on the wire, without building it (except CONNECT-like rarities). */
export function encodedLength(packet: Packet, version: ProtocolVersion): number {
  if (packet.type === 'publish') {
    const remaining = publishRemaining(packet, version, stringLength(packet.topic), propsLen(packet, version))
    return 1 + vbiLength(remaining) + remaining
  }
  if (packet.type === 'pingreq' || packet.type === 'pingresp') return 2
  return encodePacket(packet, version).length
}

function propsLen(packet: { properties?: PublishPacket['properties'] }, version: ProtocolVersion): number {
  return version === 5 ? propertiesLength(packet.properties) : 0
}

function publishRemaining(
  packet: PublishPacket,
  version: ProtocolVersion,
  topicLen: number,
  pLen: number,
): number {
  let n = 2 + topicLen + packet.payload.length
  if (packet.qos > 0) n += 2
  if (version === 5) n += vbiLength(pLen) + pLen
  return n
}

function encodePublish(packet: PublishPacket, version: ProtocolVersion): Buffer {
  const topicLen = stringLength(packet.topic)
  const pLen = version === 5 ? propertiesLength(packet.properties) : 0
  const remaining = publishRemaining(packet, version, topicLen, pLen)
  const byte1 = 0x30 | (packet.dup ? 8 : 0) | (packet.qos << 1) | (packet.retain ? 1 : 0)
  let [buf, pos] = alloc(byte1, remaining)
  pos = writeString(buf, pos, packet.topic, topicLen)
  if (packet.qos > 0) pos = writeU16(buf, pos, packet.packetId ?? 0)
  if (version === 5) pos = writeProperties(buf, pos, packet.properties, pLen)
  packet.payload.copy(buf, pos)
  return buf
}

/**
 * PUBACK/PUBREC/PUBREL/PUBCOMP. MQTT 5 short forms (3.4.2.1): no Reason Code
 * when it is 0x00 and there are no properties; no Property Length when there
 * are no properties.
 */
function encodePubResponse(packet: PubResponsePacket, version: ProtocolVersion): Buffer {
  const byte1 = PUB_RESPONSE_BYTE1[packet.type]
  const pLen = version === 5 ? propertiesLength(packet.properties) : 0
  const code = packet.reasonCode ?? 0
  if (version !== 5 || (code === 0 && pLen === 0)) {
    const buf = Buffer.allocUnsafe(4)
    buf[0] = byte1
    buf[1] = 2
    writeU16(buf, 2, packet.packetId)
    return buf
  }
  const remaining = pLen === 0 ? 3 : 3 + vbiLength(pLen) + pLen
  let [buf, pos] = alloc(byte1, remaining)
  pos = writeU16(buf, pos, packet.packetId)
  buf[pos++] = code
  if (pLen > 0) writeProperties(buf, pos, packet.properties, pLen)
  return buf
}

function encodeConnect(packet: ConnectPacket): Buffer {
  const version = packet.protocolVersion
  const name = packet.protocolName
  const will = packet.will
  const nameLen = name.length
  const clientIdLen = stringLength(packet.clientId)
  const pLen = version === 5 ? propertiesLength(packet.properties) : 0
  let remaining = 2 + nameLen + 1 + 1 + 2 + 2 + clientIdLen
  if (version === 5) remaining += vbiLength(pLen) + pLen
  let willTopicLen = 0
  let willPLen = 0
  if (will !== undefined) {
    willTopicLen = stringLength(will.topic)
    remaining += 2 + willTopicLen + 2 + will.payload.length
    if (version === 5) {
      willPLen = propertiesLength(will.properties)
      remaining += vbiLength(willPLen) + willPLen
    }
  }
  let usernameLen = 0
  if (packet.username !== undefined) {
    usernameLen = stringLength(packet.username)
    remaining += 2 + usernameLen
  }
  if (packet.password !== undefined) remaining += 2 + packet.password.length
  let flags = packet.clean ? 0x02 : 0
  if (will !== undefined) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0)
  if (packet.password !== undefined) flags |= 0x40
  if (packet.username !== undefined) flags |= 0x80
  let [buf, pos] = alloc(0x10, remaining)
  pos = writeString(buf, pos, name, nameLen)
  buf[pos++] = version
  buf[pos++] = flags
  pos = writeU16(buf, pos, packet.keepAlive)
  if (version === 5) pos = writeProperties(buf, pos, packet.properties, pLen)
  pos = writeString(buf, pos, packet.clientId, clientIdLen)
  if (will !== undefined) {
    if (version === 5) pos = writeProperties(buf, pos, will.properties, willPLen)
    pos = writeString(buf, pos, will.topic, willTopicLen)
    pos = writeBinary(buf, pos, will.payload)
  }
  if (packet.username !== undefined) pos = writeString(buf, pos, packet.username, usernameLen)
  if (packet.password !== undefined) writeBinary(buf, pos, packet.password)
  return buf
}

function encodeConnack(packet: ConnackPacket, version: ProtocolVersion): Buffer {
  const pLen = propsLen(packet, version)
  const remaining = version === 5 ? 2 + vbiLength(pLen) + pLen : 2
  let [buf, pos] = alloc(0x20, remaining)
  buf[pos++] = packet.sessionPresent ? 1 : 0
  buf[pos++] = packet.reasonCode
  if (version === 5) writeProperties(buf, pos, packet.properties, pLen)
  return buf
}

function encodeSubscribe(packet: SubscribePacket, version: ProtocolVersion): Buffer {
  const pLen = propsLen(packet, version)
  const lens = packet.subscriptions.map((s) => stringLength(s.topicFilter))
  let remaining = 2
  if (version === 5) remaining += vbiLength(pLen) + pLen
  for (const n of lens) remaining += 3 + n
  let [buf, pos] = alloc(0x82, remaining)
  pos = writeU16(buf, pos, packet.packetId)
  if (version === 5) pos = writeProperties(buf, pos, packet.properties, pLen)
  packet.subscriptions.forEach((s, i) => {
    pos = writeString(buf, pos, s.topicFilter, lens[i] as number)
    let opts: number = s.qos
    if (version === 5) {
      if (s.noLocal) opts |= 4
      if (s.retainAsPublished) opts |= 8
      opts |= (s.retainHandling ?? 0) << 4
    }
    buf[pos++] = opts
  })
  return buf
}

function encodeSuback(packet: SubackPacket, version: ProtocolVersion): Buffer {
  const pLen = propsLen(packet, version)
  let remaining = 2 + packet.reasonCodes.length
  if (version === 5) remaining += vbiLength(pLen) + pLen
  let [buf, pos] = alloc(0x90, remaining)
  pos = writeU16(buf, pos, packet.packetId)
  if (version === 5) pos = writeProperties(buf, pos, packet.properties, pLen)
  for (const code of packet.reasonCodes) buf[pos++] = code
  return buf
}

function encodeUnsubscribe(packet: UnsubscribePacket, version: ProtocolVersion): Buffer {
  const pLen = propsLen(packet, version)
  const lens = packet.topicFilters.map(stringLength)
  let remaining = 2
  if (version === 5) remaining += vbiLength(pLen) + pLen
  for (const n of lens) remaining += 2 + n
  let [buf, pos] = alloc(0xa2, remaining)
  pos = writeU16(buf, pos, packet.packetId)
  if (version === 5) pos = writeProperties(buf, pos, packet.properties, pLen)
  packet.topicFilters.forEach((f, i) => {
    pos = writeString(buf, pos, f, lens[i] as number)
  })
  return buf
}

function encodeUnsuback(packet: UnsubackPacket, version: ProtocolVersion): Buffer {
  if (version !== 5) {
    const [buf, pos] = alloc(0xb0, 2)
    writeU16(buf, pos, packet.packetId)
    return buf
  }
  const pLen = propertiesLength(packet.properties)
  const codes = packet.reasonCodes ?? []
  let [buf, pos] = alloc(0xb0, 2 + vbiLength(pLen) + pLen + codes.length)
  pos = writeU16(buf, pos, packet.packetId)
  pos = writeProperties(buf, pos, packet.properties, pLen)
  for (const code of codes) buf[pos++] = code
  return buf
}

/** Reason Code and Properties, with the MQTT 5 short forms of DISCONNECT (3.14.2.1) and AUTH (3.15.2.1). */
function encodeReasonOnly(
  byte1: number,
  packet: DisconnectPacket | AuthPacket,
  version: ProtocolVersion,
): Buffer {
  const pLen = version === 5 ? propertiesLength(packet.properties) : 0
  const code = packet.reasonCode ?? 0
  if (version !== 5 || (code === 0 && pLen === 0)) return Buffer.from([byte1, 0])
  const remaining = pLen === 0 ? 1 : 1 + vbiLength(pLen) + pLen
  let [buf, pos] = alloc(byte1, remaining)
  buf[pos++] = code
  if (pLen > 0) writeProperties(buf, pos, packet.properties, pLen)
  return buf
}

function encodeDisconnect(packet: DisconnectPacket, version: ProtocolVersion): Buffer {
  return encodeReasonOnly(0xe0, packet, version)
}

function encodeAuth(packet: AuthPacket, version: ProtocolVersion): Buffer {
  if (version !== 5) throw new RangeError('AUTH exists only in MQTT 5')
  return encodeReasonOnly(0xf0, packet, version)
}
