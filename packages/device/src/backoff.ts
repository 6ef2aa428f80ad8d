/**
 * Jittered exponential back-off between connection attempts: the n-th wait (n from 0) is
 * drawn uniformly from [d/2, d] with d = min(maxMs, initialMs * 2^n) ("equal jitter"), so a
 * fleet that lost its broker at the same instant does not come back in lock-step, and no
 * wait is shorter than half the nominal one.
 */
export interface BackoffOptions {
  /** First nominal delay, in ms. Default 1,000. */
  initialMs?: number
  /** Largest nominal delay, in ms. Default 60,000. */
  maxMs?: number
  /** A number in [0, 1); default Math.random. Tests pass a seeded one. */
  random?: () => number
}

export class Backoff {
  readonly initialMs: number
  readonly maxMs: number
  private readonly random: () => number
  private attempt = 0

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1_000
    this.maxMs = options.maxMs ?? 60_000
    this.random = options.random ?? Math.random
    if (!(Number.isFinite(this.initialMs) && this.initialMs > 0))
      throw new RangeError('backoff initialMs must be a positive number')
    if (!(Number.isFinite(this.maxMs) && this.maxMs >= this.initialMs))
      throw new RangeError('backoff maxMs must be a number no smaller than initialMs')
  }

  /** The wait before the next attempt; each call doubles the nominal delay up to maxMs. */
  next(): number {
    // 2^attempt stops growing once past the cap, so the exponent never overflows.
    const nominal = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 40))
    this.attempt++
    return Math.round(nominal / 2 + (this.random() * nominal) / 2)
  }

  /** After a successful connection: the next wait is short again. */
  reset(): void {
    this.attempt = 0
  }
}
