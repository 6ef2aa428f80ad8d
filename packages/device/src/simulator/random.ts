/**
 * Seeded randomness for the simulator: the same seed gives the same signal, so a run can be
 * reproduced and a test can compare two runs value for value. Not for anything secret.
 */

/** FNV-1a of a string: turns a device id (plus a run seed) into a 32-bit seed. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** mulberry32: small, fast, and good enough to make noise look like noise. */
export class Rng {
  #state: number
  #spare: number | undefined

  constructor(seed: number | string) {
    this.#state = (typeof seed === 'string' ? hashSeed(seed) : seed) >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }

  /** Uniform in [min, max). */
  range(min: number, max: number): number {
    return min + (max - min) * this.next()
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    const spare = this.#spare
    if (spare !== undefined) {
      this.#spare = undefined
      return spare
    }
    const u = 1 - this.next() // (0, 1]: log(0) would be -Infinity
    const v = this.next()
    const r = Math.sqrt(-2 * Math.log(u))
    this.#spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }

  /** Exponentially distributed, with mean `mean`. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next())
  }

  /** A child generator: a separate stream, so adding draws to one signal does not shift another. */
  fork(label: string): Rng {
    return new Rng(hashSeed(`${this.#state}:${label}`))
  }
}
