// The few MQTT packets the load generator needs, encoded by hand, and a cheap stream splitter.
// The generator deliberately does not use @strata/protocol: it measures the broker, so it must
// not share the broker's codec (a codec bug would hide on both sides) and it must cost as little
// CPU per packet as possible. Only MQTT 3.1.1 (level 4) and 5.0 (level 5) are spoken.
// 3.1.1: https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html
// 5.0:   https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html

export type ProtocolLevel = 4 | 5

export const CONNACK = 2
export const PUBLISH = 3
export const PUBACK = 4
export const SUBACK = 9
export const PINGRESP = 13

/** Variable Byte Integer (3.1.1 section 2.2.3, 5.0 section 1.5.5). */
function varint(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return out
}

function utf8(s: string): Buffer {
  const body = Buffer.from(s, 'utf8')
  const out = Buffer.allocUnsafe(2 + body.length)
  out.writeUInt16BE(body.length, 0)
  body.copy(out, 2)
  return out
}

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte, ...varint(body.length)]), body])
}

export interface ConnectOptions {
  clientId: string
  clean: boolean
  keepAlive: number
  level: ProtocolLevel
  /** MQTT 5 only: Session Expiry Interval in seconds (0 = session ends with the connection). */
  sessionExpiry?: number
}

/** CONNECT (3.1.1 section 3.1, 5.0 section 3.1): no will, no credentials. */
export function connect(o: ConnectOptions): Buffer {
  const flags = o.clean ? 0x02 : 0x00
  const head = Buffer.from([
    0,
    4,
    0x4d,
    0x51,
    0x54,
    0x54,
    o.level,
    flags,
    o.keepAlive >> 8,
    o.keepAlive & 0xff,
  ])
  const parts: Buffer[] = [head]
  if (o.level === 5) {
    // Session Expiry Interval (0x11) keeps a clean=false session alive across a disconnect,
    // as 3.1.1's clean session 0 does.
    if (o.sessionExpiry) {
      const p = Buffer.alloc(6)
      p[0] = 5
      p[1] = 0x11
      p.writeUInt32BE(o.sessionExpiry, 2)
      parts.push(p)
    } else parts.push(Buffer.from([0]))
  }
  parts.push(utf8(o.clientId))
  return packet(0x10, Buffer.concat(parts))
}

/** SUBSCRIBE with one filter (section 3.8); the fixed header flags must be 0b0010 [MQTT-3.8.1-1]. */
export function subscribe(packetId: number, filter: string, qos: 0 | 1, level: ProtocolLevel): Buffer {
  const id = Buffer.from([packetId >> 8, packetId & 0xff])
  const props = level === 5 ? [Buffer.from([0])] : []
  return packet(0x82, Buffer.concat([id, ...props, utf8(filter), Buffer.from([qos])]))
}

export interface PublishTemplate {
  bytes: Buffer
  /** Offset of the two packet identifier bytes (QoS 1 only, else -1). */
  packetIdOffset: number
  payloadOffset: number
}

/** PUBLISH (section 3.3) with a zero-filled payload the caller patches (sequence numbers, timestamps). */
export function publish(
  topic: string,
  payloadSize: number,
  qos: 0 | 1,
  level: ProtocolLevel,
): PublishTemplate {
  const t = utf8(topic)
  const id = qos > 0 ? Buffer.alloc(2) : Buffer.alloc(0)
  const props = level === 5 ? Buffer.from([0]) : Buffer.alloc(0)
  const body = Buffer.concat([t, id, props, Buffer.alloc(payloadSize)])
  const bytes = packet(0x30 | (qos << 1), body)
  const headerLength = bytes.length - body.length
  return {
    bytes,
    packetIdOffset: qos > 0 ? headerLength + t.length : -1,
    payloadOffset: bytes.length - payloadSize,
  }
}

/** PUBACK (section 3.4). In MQTT 5 a Remaining Length of 2 means reason code 0x00 [MQTT-3.4.2-1]. */
export function puback(packetId: number): Buffer {
  return Buffer.from([0x40, 2, packetId >> 8, packetId & 0xff])
}

export const PINGREQ = Buffer.from([0xc0, 0])
export const DISCONNECT = Buffer.from([0xe0, 0])

/** Called once per complete packet; the body is buf[start, end). No copy is made. */
export type PacketHandler = (firstByte: number, buf: Buffer, start: number, end: number) => void

/**
 * Splits a TCP byte stream into MQTT packets. Keeps only the incomplete tail between chunks, so a
 * chunk of many small PUBLISH packets costs one loop and one callback per packet.
 */
export class PacketSplitter {
  private rest: Buffer | null = null

  constructor(private readonly onPacket: PacketHandler) {}

  push(chunk: Buffer): void {
    let buf = chunk
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk])
      this.rest = null
    }
    const len = buf.length
    let pos = 0
    while (pos + 2 <= len) {
      let i = pos + 1
      let value = 0
      let mult = 1
      let complete = false
      for (let k = 0; k < 4 && i < len; k++) {
        const b = buf[i++] as number
        value += (b & 0x7f) * mult
        mult *= 128
        if ((b & 0x80) === 0) {
          complete = true
          break
        }
      }
      if (!complete) {
        if (i - pos > 4) throw new Error('malformed Remaining Length from broker')
        break
      }
      const end = i + value
      if (end > len) break
      this.onPacket(buf[pos] as number, buf, i, end)
      pos = end
    }
    if (pos < len) this.rest = buf.subarray(pos)
  }
}

/** Offset of the payload inside a PUBLISH body that starts at `start`. */
export function publishPayloadOffset(
  firstByte: number,
  buf: Buffer,
  start: number,
  level: ProtocolLevel,
): number {
  let pos = start + 2 + buf.readUInt16BE(start)
  if ((firstByte & 0x06) !== 0) pos += 2
  if (level === 5) {
    // Skip the Property Length and the properties (5.0 section 3.3.2.3).
    let value = 0
    let mult = 1
    for (;;) {
      const b = buf[pos++] as number
      value += (b & 0x7f) * mult
      mult *= 128
      if ((b & 0x80) === 0) break
    }
    pos += value
  }
  return pos
}
