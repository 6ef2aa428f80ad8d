import type { BrokerLimits } from './options.js'

/** Defaults of every limit; docs/broker.md lists the same values. */
export const DEFAULT_LIMITS: Readonly<BrokerLimits> = Object.freeze({
  maxConnections: 100_000,
  maxPacketSize: 1024 * 1024,
  maxTopicLength: 1024,
  maxTopicLevels: 32,
  maxSubscriptionsPerClient: 1000,
  maxInflight: 100,
  maxQueuedMessages: 10_000,
  maxOutgoingBufferBytes: 1024 * 1024,
  connectTimeoutMs: 10_000,
  connectionRatePerAddress: 50,
  connectionRateBurst: 100,
  topicAliasMaximum: 64,
  maxSessionExpiryInterval: 0xffffffff,
  maxRetainedMessages: 100_000,
})

/** Merges the caller's limits over the defaults and freezes the result. */
export function resolveLimits(partial: Partial<BrokerLimits> | undefined): Readonly<BrokerLimits> {
  const limits: BrokerLimits = { ...DEFAULT_LIMITS }
  for (const [key, value] of Object.entries(partial ?? {})) {
    if (value !== undefined) (limits as unknown as Record<string, unknown>)[key] = value
  }
  // Receive Maximum and Topic Alias Maximum are 16-bit on the wire (section 3.2.2.3).
  limits.maxInflight = Math.max(1, Math.min(65535, limits.maxInflight))
  limits.topicAliasMaximum = Math.max(0, Math.min(65535, limits.topicAliasMaximum))
  return Object.freeze(limits)
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * Connection rate per source address: one token bucket per address, refilled
 * at `ratePerSecond` up to `burst`. Buckets that are full again carry no
 * information and are dropped by `sweep()`, so memory follows the number of
 * recently active addresses, not every address ever seen.
 */
export class ConnectionRateLimiter {
  private readonly buckets = new Map<string, Bucket>()

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes one token for `address`; false when the address is over its rate. */
  take(address: string, now: number = Date.now()): boolean {
    if (this.ratePerSecond <= 0) return true
    let bucket = this.buckets.get(address)
    if (bucket === undefined) {
      bucket = { tokens: Math.max(1, this.burst), at: now }
      this.buckets.set(address, bucket)
    } else {
      this.refill(bucket, now)
    }
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  sweep(now: number = Date.now()): void {
    for (const [address, bucket] of this.buckets) {
      this.refill(bucket, now)
      if (bucket.tokens >= this.burst) this.buckets.delete(address)
    }
  }

  get size(): number {
    return this.buckets.size
  }

  private refill(bucket: Bucket, now: number): void {
    const elapsed = now - bucket.at
    if (elapsed <= 0) return
    bucket.tokens = Math.min(Math.max(1, this.burst), bucket.tokens + (elapsed * this.ratePerSecond) / 1000)
    bucket.at = now
  }
}
