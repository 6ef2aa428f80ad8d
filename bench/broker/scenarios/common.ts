// What every scenario shares: the trial context, measurement windows and draining.
import type { RunningBroker } from '../brokers.js'
import type { Counters, Target } from '../messages.js'
import type { Options } from '../options.js'
import type { GenWorker, Sample } from '../pool.js'
import { cpuSeconds, machineCpu, sleep } from '../proc.js'

export type Metrics = Record<string, number>

export interface TrialResult {
  metrics: Metrics
  notes: string[]
}

export interface Trial {
  broker: RunningBroker
  target: Target
  opts: Options
  /** Unique per trial: client ids and topics never collide with an earlier trial's session. */
  tag: string
  /** Forks workers that the runner kills when the trial ends, however it ends. */
  workers(n: number): GenWorker[]
}

export interface Scenario {
  name: string
  /** The metric rows, in display order, with a note on direction. */
  metrics: string[]
  run(t: Trial): Promise<TrialResult>
}

export function sum(samples: Sample[], key: keyof Counters): number {
  return samples.reduce((a, s) => a + s.counters[key], 0)
}

export const sampleAll = (ws: GenWorker[]) => Promise.all(ws.map((w) => w.sample()))

export interface Window {
  seconds: number
  start: Sample[]
  end: Sample[]
  /** Generator CPU in % of one core over the window: all workers plus this (gating) process. */
  generatorCpu: number
  /** Broker process CPU in % of one core over the window. */
  brokerCpu: number
  /**
   * CPU used by everything else on the machine (other helpers' tests on a shared VM), in % of one
   * core: when it is high, the trial competed for the cores and its figures are suspect.
   */
  otherCpu: number
}

/** Waits out the warm-up, then samples every worker and the broker at both ends of the window. */
export async function measure(t: Trial, ws: GenWorker[]): Promise<Window> {
  await sleep(t.opts.warmupMs)
  const b0 = cpuSeconds(t.broker.pid)
  const m0 = machineCpu()
  const start = await sampleAll(ws)
  const p0 = process.cpuUsage()
  const t0 = performance.now()
  await sleep(t.opts.durationMs)
  const end = await sampleAll(ws)
  const seconds = (performance.now() - t0) / 1000
  const b1 = cpuSeconds(t.broker.pid)
  const m1 = machineCpu()
  const p1 = process.cpuUsage(p0)
  const cpu = end.reduce((a, s, i) => a + s.cpu - (start[i] as Sample).cpu, (p1.user + p1.system) / 1e6)
  const other = m1.busy - m0.busy - cpu - (b1 - b0)
  return {
    seconds,
    start,
    end,
    generatorCpu: (cpu / seconds) * 100,
    brokerCpu: ((b1 - b0) / seconds) * 100,
    otherCpu: Math.max(0, (other / seconds) * 100),
  }
}

export function rate(w: Window, key: keyof Counters): number {
  return (sum(w.end, key) - sum(w.start, key)) / w.seconds
}

export interface Drained {
  samples: Sample[]
  /** Why draining ended: everything arrived, nothing moved for a second, or drainMs ran out. */
  reason: 'complete' | 'stalled' | 'deadline'
  seconds: number
}

/**
 * Polls until `done` holds or nothing has moved for a second (or drainMs passed): what has not
 * arrived by then is counted as lost.
 */
export async function drain(
  t: Trial,
  ws: GenWorker[],
  progress: (s: Sample[]) => number,
  done: (s: Sample[]) => boolean,
): Promise<Drained> {
  const t0 = performance.now()
  const deadline = t0 + t.opts.drainMs
  let last = -1
  let lastMove = t0
  for (;;) {
    const s = await sampleAll(ws)
    const p = progress(s)
    const now = performance.now()
    if (p !== last) {
      last = p
      lastMove = now
    }
    const reason = done(s)
      ? 'complete'
      : now > deadline
        ? 'deadline'
        : now - lastMove > 1000
          ? 'stalled'
          : null
    if (reason) return { samples: s, reason, seconds: (now - t0) / 1000 }
    await sleep(100)
  }
}

/** A note when draining did not end with everything delivered. */
export function drainNote(d: Drained): string[] {
  if (d.reason === 'complete') return []
  return [
    d.reason === 'deadline'
      ? `still delivering when the ${d.seconds.toFixed(1)} s drain limit ran out: 'delivered' counts only what arrived`
      : `nothing more arrived for 1 s after publishers stopped (${d.seconds.toFixed(1)} s): the rest is lost`,
  ]
}

/** Connection errors the workers saw, for the trial's notes. */
export function errorsOf(samples: Sample[]): string[] {
  return [...new Set(samples.flatMap((s) => s.errors))].slice(0, 5)
}

/** Splits `n` into `k` near-equal positive parts (fewer if n < k). */
export function split(n: number, k: number): number[] {
  const parts = Math.min(n, k)
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0))
}
