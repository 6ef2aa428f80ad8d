// What every generator job offers to the worker's message loop.
import type { Counters, FromWorker, LatencyStats, Target } from '../messages.js'

export interface JobEnv {
  target: Target
  send(msg: FromWorker): void
  /** Records a connection error (the first few are reported to the parent). */
  error(message: string): void
}

export interface RunningJob {
  readonly counters: Counters
  start(): void
  stop(): void
  /** Cumulative number of messages this worker may have sent in total (gated jobs only). */
  credit(total: number): void
  latency?(): LatencyStats
}

export function newCounters(): Counters {
  return { sent: 0, acked: 0, received: 0, unique: 0, connected: 0, failed: 0 }
}

/** Watches a live connection: an unexpected close during the run is an error, not a silent stall. */
export function watchClose(
  env: JobEnv,
  socket: import('node:net').Socket,
  name: string,
  closing: () => boolean,
) {
  socket.on('close', () => {
    if (!closing()) env.error(`${name}: connection closed by the broker`)
  })
}
