/**
 * Incremental MQTT packet parser: bytes in, packets out, synchronously.
 *
 * Framing (section 2.1): one byte of type and flags, then the Remaining
 * Length as a Variable Byte Integer of at most four bytes. A packet wholly
 * inside the pushed chunk is decoded in place, its payload a view of the
 * chunk; only a packet that spans chunks is copied, once, into a buffer of
 * its exact size (known from the fixed header). The size limit is checked
 * from the fixed header, before any of the body is buffered, so a peer can
 * never make the parser hold more than maxPacketSize bytes.
 */
import { MqttProtocolError, malformed, protocolError } from '../errors.js'
import type { Packet, ProtocolVersion } from '../packets.js'
import { ReasonCode } from '../reason-codes.js'
import { decodeBody, PacketCode, REQUIRED_FLAGS } from './decode.js'

/** Whole-packet maximum: 1 byte type + 4 bytes Remaining Length + 268,435,455 [MQTT-2.1.4]. */
export const MAX_PACKET_SIZE = 268_435_460

export interface ParserOptions {
  /** Largest packet accepted (whole packet, fixed header included). Default 268435460 (spec max). */
  maxPacketSize?: number
  /** Protocol level for a client-side parser or a parser that has already seen CONNECT. */
  protocolVersion?: ProtocolVersion
}

export class PacketParser {
  /** Set by the parser itself when it parses a CONNECT (server side), or given in options. Before it is known, only CONNECT can be parsed. */
  protocolVersion: ProtocolVersion | undefined
  /** Settable: the broker lowers it after CONNECT. */
  maxPacketSize: number

  /** Up to 4 bytes of a fixed header that was cut by the end of a chunk. */
  private head: Buffer | undefined
  /** The packet being assembled across chunks, allocated at its full size. */
  private partial: Buffer | undefined
  private filled = 0
  private partialHeaderLen = 0

  constructor(options: ParserOptions = {}) {
    this.maxPacketSize = options.maxPacketSize ?? MAX_PACKET_SIZE
    this.protocolVersion = options.protocolVersion
  }

  /** Bytes held of an incomplete packet. */
  get buffered(): number {
    if (this.partial !== undefined) return this.filled
    return this.head?.length ?? 0
  }

  /**
   * Feeds bytes; calls onPacket synchronously for each complete packet in order.
   * Throws MqttProtocolError at the first bad packet; after a throw the parser must not be used.
   *
   * Payloads, binary properties and passwords are views into `chunk` when the
   * packet lay wholly inside it: the chunk must not be reused by the caller
   * (socket chunks never are), and whoever keeps such a buffer for long
   * (retained store, offline queue) should copy it, or it pins the whole chunk.
   */
  push(chunk: Buffer, onPacket: (packet: Packet) => void): void {
    let pos = 0
    const len = chunk.length
    if (this.head !== undefined) {
      pos = this.completeHead(chunk)
      if (pos < 0) return
    }
    if (this.partial !== undefined) {
      const buf = this.partial
      const n = Math.min(buf.length - this.filled, len - pos)
      chunk.copy(buf, this.filled, pos, pos + n)
      this.filled += n
      pos += n
      if (this.filled < buf.length) return
      this.partial = undefined
      this.filled = 0
      onPacket(this.decode(buf[0] as number, buf, this.partialHeaderLen, buf.length))
    }
    while (pos < len) {
      // Fixed header: type/flags byte, then the Remaining Length.
      const byte1 = chunk[pos] as number
      let remaining = 0
      let mul = 1
      let p = pos + 1
      let complete = false
      for (let i = 0; i < 4 && p < len; i++) {
        const b = chunk[p++] as number
        remaining += (b & 0x7f) * mul
        if ((b & 0x80) === 0) {
          if (b === 0 && i > 0) throw malformed('remaining length not minimally encoded [MQTT-1.5.5-1]')
          complete = true
          break
        }
        if (i === 3) throw malformed('remaining length longer than 4 bytes [MQTT-1.5.5]')
        mul *= 128
      }
      if (!complete) {
        // The chunk ends inside the fixed header: keep its few bytes.
        this.checkType(byte1)
        this.head = Buffer.from(chunk.subarray(pos, len))
        return
      }
      const headerLen = p - pos
      const total = headerLen + remaining
      this.checkHeader(byte1, total)
      if (pos + total <= len) {
        onPacket(this.decode(byte1, chunk, p, pos + total))
        pos += total
      } else {
        const buf = Buffer.allocUnsafe(total)
        chunk.copy(buf, 0, pos, len)
        this.partial = buf
        this.filled = len - pos
        this.partialHeaderLen = headerLen
        return
      }
    }
  }

  /**
   * Completes a fixed header cut across chunks with the first bytes of this
   * chunk. Returns the position in chunk where the body starts (the packet
   * then continues as a partial, possibly already complete), or -1 if the
   * header is still incomplete.
   */
  private completeHead(chunk: Buffer): number {
    const head = this.head as Buffer
    const take = Math.min(5 - head.length, chunk.length)
    const joined = Buffer.concat([head, chunk.subarray(0, take)])
    let remaining = 0
    let mul = 1
    let p = 1
    for (let i = 0; i < 4; i++) {
      if (p >= joined.length) {
        this.head = joined
        return -1
      }
      const b = joined[p++] as number
      remaining += (b & 0x7f) * mul
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw malformed('remaining length not minimally encoded [MQTT-1.5.5-1]')
        break
      }
      if (i === 3) throw malformed('remaining length longer than 4 bytes [MQTT-1.5.5]')
      mul *= 128
    }
    const byte1 = joined[0] as number
    const total = p + remaining
    this.checkHeader(byte1, total)
    this.head = undefined
    const buf = Buffer.allocUnsafe(total)
    joined.copy(buf, 0, 0, p)
    this.partial = buf
    this.filled = p
    this.partialHeaderLen = p
    // Bytes of this chunk consumed by the header.
    return p - head.length
  }

  /** Checks what the first byte alone can tell: the packet type against the protocol level. */
  private checkType(byte1: number): void {
    const type = byte1 >> 4
    if (type === 0) throw malformed('reserved packet type 0')
    if (this.protocolVersion === undefined) {
      // Before CONNECT the level is unknown; the broker closes such a connection [MQTT-3.1.0-1].
      if (type !== PacketCode.Connect) throw protocolError('first packet is not CONNECT [MQTT-3.1.0-1]')
    } else if (type === PacketCode.Auth && this.protocolVersion !== 5) {
      throw malformed('AUTH packet in MQTT 3.1.1')
    }
  }

  private checkHeader(byte1: number, total: number): void {
    this.checkType(byte1)
    const type = byte1 >> 4
    const required = REQUIRED_FLAGS[type] as number
    // [MQTT-2.2.2-1] [MQTT-2.2.2-2] reserved flags must be as table 2-2 says, else malformed.
    if (required >= 0 && (byte1 & 0x0f) !== required) {
      throw malformed(`invalid fixed header flags 0x${(byte1 & 0x0f).toString(16)} [MQTT-2.2.2-2]`)
    }
    if (total > this.maxPacketSize) {
      // [MQTT-3.1.2-24] (MQTT 5) / implementation limit: refuse before buffering the body.
      throw new MqttProtocolError(
        ReasonCode.PacketTooLarge,
        `packet of ${total} bytes exceeds the maximum of ${this.maxPacketSize}`,
      )
    }
  }

  private decode(byte1: number, buf: Buffer, start: number, end: number): Packet {
    const packet = decodeBody(byte1, buf, start, end, this.protocolVersion ?? 5)
    if (packet.type === 'connect' && this.protocolVersion === undefined) {
      this.protocolVersion = packet.protocolVersion
    }
    return packet
  }
}
