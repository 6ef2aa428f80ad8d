// The IPC contract between the benchmark's parent process and its generator workers.
import type { ProtocolLevel } from './wire.js'

export interface Target {
  host: string
  port: number
  level: ProtocolLevel
}

/** One job per worker; each job opens its connections during setup and reports `ready`. */
export type Job =
  | {
      /** QoS 0 publishers that send only as far as the parent's cumulative credit allows. */
      kind: 'gated-publishers'
      count: number
      idPrefix: string
      /** `{i}` is replaced by the publisher's index. */
      topic: string
      firstIndex: number
      payloadSize: number
      /** Most packets one socket gets per write. */
      batch: number
    }
  | {
      kind: 'subscribers'
      count: number
      idPrefix: string
      filter: string
      qos: 0 | 1
      /** false: a persistent session (3.1.1 clean session 0, or MQTT 5 with a Session Expiry). */
      clean: boolean
      /** Count unique (publisher, sequence) pairs: needs the payload layout of qos1-publishers. */
      unique: boolean
    }
  | {
      /** QoS 1 publishers, each with at most `window` unacknowledged PUBLISH packets. */
      kind: 'qos1-publishers'
      count: number
      idPrefix: string
      topic: string
      firstIndex: number
      payloadSize: number
      window: number
    }
  | {
      /**
       * Latency at a fixed rate: paced QoS 0 publishers in one worker, one wildcard subscriber in
       * another. Timestamps are CLOCK_MONOTONIC (process.hrtime), which all processes share.
       */
      kind: 'latency'
      role: 'publishers' | 'subscriber'
      publishers: number
      idPrefix: string
      topicPrefix: string
      rate: number
      payloadSize: number
      warmupMs: number
    }
  | {
      kind: 'idle'
      count: number
      idPrefix: string
      localAddress: string
      concurrency: number
      /** No new connection is attempted after this many ms: a broker that stops accepting ends the test. */
      deadlineMs: number
    }

export type ToWorker =
  | { type: 'setup'; target: Target; job: Job; timeoutMs: number }
  | { type: 'start' }
  | { type: 'credit'; total: number }
  | { type: 'stop' }
  | { type: 'sample'; id: number }

export interface Counters {
  /** PUBLISH packets written. */
  sent: number
  /** PUBACKs received by publishers. */
  acked: number
  /** PUBLISH packets received by subscribers, duplicates included. */
  received: number
  /** Distinct messages received (unique-counting subscribers only). */
  unique: number
  connected: number
  failed: number
}

export interface LatencyStats {
  count: number
  p50: number
  p99: number
  max: number
}

export type FromWorker =
  | { type: 'ready'; counters: Counters }
  | { type: 'failed'; message: string }
  /** Cumulative receive count, sent often so that the parent can gate publishers. */
  | { type: 'progress'; received: number }
  | {
      type: 'sample'
      id: number
      counters: Counters
      /** process.cpuUsage() in microseconds, cumulative. */
      cpuUser: number
      cpuSystem: number
      latency?: LatencyStats
      /** Connection errors seen since setup (first few). */
      errors: string[]
    }
