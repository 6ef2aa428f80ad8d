/**
 * MQTT data representations (section 1.5 of both specifications): two-byte
 * and four-byte integers, Variable Byte Integers, UTF-8 strings, binary data.
 * https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html#_Toc3901006
 *
 * Reading works on a cursor over a slice [pos, end) of a buffer that may be
 * the socket chunk itself, so that nothing is copied for packets wholly
 * inside one chunk.
 */
import { isUtf8 } from 'node:buffer'
import { malformed } from '../errors.js'

/** Largest value of a Variable Byte Integer (4 bytes) [MQTT-1.5.5]. */
export const MAX_VBI = 268_435_455

/**
 * Buffer's unchecked slice/write methods: present on every Node Buffer (the
 * public toString/write call them after normalising arguments) but absent from
 * @types/node. Used on the hot path only, with bounds already checked.
 */
interface RawBuffer {
  latin1Slice(start: number, end: number): string
  utf8Slice(start: number, end: number): string
  utf8Write(value: string, offset: number, length: number): number
}
const raw = (buf: Buffer): RawBuffer => buf as unknown as RawBuffer

export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end: number,
  ) {}

  get remaining(): number {
    return this.end - this.pos
  }

  u8(): number {
    if (this.pos >= this.end) throw malformed('packet ends inside a field')
    return this.buf[this.pos++] as number
  }

  u16(): number {
    const p = this.pos
    if (p + 2 > this.end) throw malformed('packet ends inside a two-byte integer')
    this.pos = p + 2
    return ((this.buf[p] as number) << 8) | (this.buf[p + 1] as number)
  }

  u32(): number {
    const p = this.pos
    if (p + 4 > this.end) throw malformed('packet ends inside a four-byte integer')
    this.pos = p + 4
    return this.buf.readUInt32BE(p)
  }

  /** Variable Byte Integer; at most 4 bytes, minimal encoding [MQTT-1.5.5-1]. */
  vbi(): number {
    let value = 0
    let mul = 1
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.end) throw malformed('packet ends inside a variable byte integer')
      const b = this.buf[this.pos++] as number
      value += (b & 0x7f) * mul
      if ((b & 0x80) === 0) {
        // A last byte of 0 after the first is a longer encoding than needed.
        if (b === 0 && i > 0) throw malformed('variable byte integer not minimally encoded [MQTT-1.5.5-1]')
        return value
      }
      mul *= 128
    }
    throw malformed('variable byte integer longer than 4 bytes')
  }

  /** UTF-8 Encoded String [MQTT-1.5.4-1] [MQTT-1.5.4-2]. */
  utf8(): string {
    const len = this.u16()
    const s = this.pos
    const e = s + len
    if (e > this.end) throw malformed('string longer than the packet')
    this.pos = e
    return decodeUtf8(this.buf, s, e)
  }

  /** Binary Data: two-byte length then bytes; a view, not a copy. */
  binary(): Buffer {
    const len = this.u16()
    const s = this.pos
    const e = s + len
    if (e > this.end) throw malformed('binary data longer than the packet')
    this.pos = e
    return this.buf.subarray(s, e)
  }

  /** Bytes [pos, pos + n); a view. */
  bytes(n: number): Buffer {
    const s = this.pos
    if (s + n > this.end) throw malformed('packet shorter than its lengths say')
    this.pos = s + n
    return this.buf.subarray(s, s + n)
  }
}

/**
 * Decodes bytes [s, e) as an MQTT UTF-8 string: well-formed UTF-8 (no
 * surrogates, no overlongs) [MQTT-1.5.4-1] and no U+0000 [MQTT-1.5.4-2];
 * either violation is a Malformed Packet. Pure ASCII, the usual topic, is
 * checked in one pass and decoded as latin1, which is cheaper.
 */
export function decodeUtf8(buf: Buffer, s: number, e: number): string {
  let ascii = true
  for (let i = s; i < e; i++) {
    const b = buf[i] as number
    if (b === 0) throw malformed('string contains U+0000 [MQTT-1.5.4-2]')
    if (b > 0x7f) ascii = false
  }
  if (ascii) return raw(buf).latin1Slice(s, e)
  if (!isUtf8(buf.subarray(s, e))) throw malformed('string is not well-formed UTF-8 [MQTT-1.5.4-1]')
  return raw(buf).utf8Slice(s, e)
}

export function vbiLength(value: number): number {
  if (value < 128) return 1
  if (value < 16_384) return 2
  if (value < 2_097_152) return 3
  return 4
}

/** Writes a Variable Byte Integer at pos; returns the position after it. */
export function writeVbi(buf: Buffer, pos: number, value: number): number {
  let v = value
  do {
    let b = v % 128
    v = Math.floor(v / 128)
    if (v > 0) b |= 0x80
    buf[pos++] = b
  } while (v > 0)
  return pos
}

export function writeU16(buf: Buffer, pos: number, value: number): number {
  buf[pos] = value >>> 8
  buf[pos + 1] = value & 0xff
  return pos + 2
}

/** Writes a string whose UTF-8 byte length is already known. */
export function writeString(buf: Buffer, pos: number, value: string, byteLen: number): number {
  buf[pos] = byteLen >>> 8
  buf[pos + 1] = byteLen & 0xff
  if (byteLen > 0) raw(buf).utf8Write(value, pos + 2, byteLen)
  return pos + 2 + byteLen
}

export function writeBinary(buf: Buffer, pos: number, value: Buffer): number {
  const n = value.length
  buf[pos] = n >>> 8
  buf[pos + 1] = n & 0xff
  value.copy(buf, pos + 2)
  return pos + 2 + n
}

/** UTF-8 byte length of a string field; throws if it cannot be encoded in two bytes. */
export function stringLength(value: string): number {
  const n = Buffer.byteLength(value)
  if (n > 0xffff) throw new RangeError(`string of ${n} bytes does not fit an MQTT string (65535 max)`)
  return n
}
