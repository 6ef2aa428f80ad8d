/**
 * LEB128 varints (unsigned, and signed by zigzag) over plain Uint8Arrays, for the batch
 * format. Values are JavaScript numbers, so arithmetic rather than 32-bit bit operations
 * past 2^31; every value the batch format writes is below 2^53.
 */
import { invalid } from './errors.js'

/** Zigzag: 0, -1, 1, -2, ... become 0, 1, 2, 3, ... Exact for |n| < 2^52. */
export const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1)
export const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2)

export class ByteWriter {
  buf: Uint8Array
  pos = 0
  private view: DataView

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity))
    this.view = new DataView(this.buf.buffer)
  }

  private grow(need: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + need))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  u8(b: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(1)
    this.buf[this.pos++] = b
  }

  uvarint(n: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8)
    const buf = this.buf
    let p = this.pos
    while (n >= 0x80000000) {
      buf[p++] = (n % 128) | 0x80
      n = Math.floor(n / 128)
    }
    while (n >= 0x80) {
      buf[p++] = (n & 0x7f) | 0x80
      n >>>= 7
    }
    buf[p++] = n
    this.pos = p
  }

  svarint(n: number): void {
    this.uvarint(zigzag(n))
  }

  f64(x: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8)
    this.view.setFloat64(this.pos, x, true)
    this.pos += 8
  }

  bytes(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) this.grow(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos)
  }
}

export class ByteReader {
  pos = 0
  private readonly view: DataView

  constructor(
    readonly buf: Uint8Array,
    private readonly where: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  get remaining(): number {
    return this.buf.length - this.pos
  }

  private truncated(what: string): never {
    throw invalid(`${this.where}: ends inside ${what} at byte ${this.pos}`)
  }

  u8(what: string): number {
    if (this.pos >= this.buf.length) this.truncated(what)
    return this.buf[this.pos++] as number
  }

  /** At most 8 bytes, minimally encoded, at most 2^53 - 1: one encoding per value. */
  uvarint(what: string): number {
    const buf = this.buf
    const start = this.pos
    if (start >= buf.length) this.truncated(what)
    const b0 = buf[start] as number
    if (b0 < 0x80) {
      this.pos = start + 1
      return b0
    }
    let value = 0
    let mul = 1
    for (let i = 0; i < 8; i++) {
      const p = start + i
      if (p >= buf.length) {
        this.pos = p
        this.truncated(what)
      }
      const b = buf[p] as number
      value += (b & 0x7f) * mul
      if (b < 0x80) {
        this.pos = p + 1
        if (b === 0) throw invalid(`${this.where}: ${what} at byte ${start} is not minimally encoded`)
        if (value > Number.MAX_SAFE_INTEGER)
          throw invalid(`${this.where}: ${what} at byte ${start} is over 2^53`)
        return value
      }
      mul *= 128
    }
    throw invalid(`${this.where}: ${what} at byte ${start} is longer than 8 bytes`)
  }

  svarint(what: string): number {
    return unzigzag(this.uvarint(what))
  }

  f64(what: string): number {
    if (this.pos + 8 > this.buf.length) this.truncated(what)
    const x = this.view.getFloat64(this.pos, true)
    this.pos += 8
    return x
  }

  bytes(n: number, what: string): Uint8Array {
    if (n > this.buf.length - this.pos) this.truncated(what)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
}
