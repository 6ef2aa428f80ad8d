// The contract every time-series engine of the comparison implements: the peers (servers over
// HTTP, embedded libraries in a child process) and Strata's slot alike. Points are (series id,
// epoch ms, float64); each adapter maps series ids to its own naming (data.ts seriesName).
import type { Batch, BatchSource } from './data.js'

export const ENGINE_NAMES = [
  'strata',
  'strata-codec',
  'victoriametrics',
  'influxdb',
  'sqlite',
  'duckdb',
] as const
export type EngineName = (typeof ENGINE_NAMES)[number]

/** Strata's own slots: the ratio columns compare everything against the peers, these included. */
export const STRATA_ENGINES: readonly EngineName[] = ['strata', 'strata-codec']

/** One series' 1-minute averages: bucket start (epoch ms) and mean, in time order. */
export interface MinuteAverages {
  series: number
  t: Float64Array
  avg: Float64Array
}

export interface IngestStats {
  points: number
  /** Time spent generating the data inside the ingest loop. */
  genMs: number
  /**
   * Whether generation sat on the writer's critical path (embedded engines: same process, in
   * turn; it is subtracted from the wall time) or overlapped the engine's work (servers: the
   * harness prepares the next request while the engine works on the current one).
   */
  genSerial: boolean
}

export interface RecoveryResult {
  /** From restart to the first answer that holds every probed series. */
  ms: number
  /** Probed series present in that answer. */
  answered: number
  /** How the time is counted (it differs between servers and embedded engines). */
  note: string
  /**
   * Scratch points whose write was acknowledged to the writer before the kill, and how many of
   * them the restarted engine returns (read back after the timed answer).
   */
  acked: { points: number; found: number }
}

export interface Engine {
  readonly name: EngineName
  /** Opens (or creates) the engine's data in `dir`, which it owns until stop(). */
  start(dir: string): Promise<void>
  /** One batch, from one writer: resolves once the engine has accepted it. */
  write(batch: Batch): Promise<void>
  /** Every batch of the source, in order, by one writer (ingestAll below, in the engine's process). */
  ingest(source: BatchSource): Promise<IngestStats>
  /** Makes the engine write out and compact what it holds, so that sizeOnDisk() is its settled size. */
  flushForSize(): Promise<void>
  /** Bytes of its data files (each adapter says which files count). */
  sizeOnDisk(): Promise<number>
  /** 1-minute averages of one series over [fromMs, toMs). */
  queryRange1mAvg(series: number, fromMs: number, toMs: number): Promise<MinuteAverages>
  /** The same for several series, in as few requests as the engine allows. */
  queryRange1mAvgMany(series: number[], fromMs: number, toMs: number): Promise<MinuteAverages[]>
  /** The latest value of each series (NaN when it has none), in the order asked. */
  latest(series: number[]): Promise<Float64Array>
  /** Every point of one series, in time order, as the engine returns it. */
  readBack(series: number): Promise<{ ts: Float64Array; values: Float64Array }>
  /** kill -9 while a writer is busy, restart on the same data, time until `probe` is answered. */
  killAndRecover(probe: number[]): Promise<RecoveryResult>
  stop(): Promise<void>
  /** The process doing the engine's work (server or host), for CPU accounting; null if none. */
  pid(): number | null
}

/** Thrown by an engine for a measurement it cannot take; the tables show '-'. */
export class Unsupported extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'Unsupported'
  }
}

/** The single-writer ingest loop shared by every adapter. */
export async function ingestAll(
  engine: Pick<Engine, 'write'>,
  batches: Iterable<Batch> & { genMs: number; points: number },
): Promise<IngestStats> {
  for (const batch of batches) if (batch.points > 0) await engine.write(batch)
  return { points: batches.points, genMs: batches.genMs, genSerial: true }
}

/**
 * The servers' single-writer loop: one request in flight at a time, and the next one formatted
 * while the server works on it (client and server run on different cores, as they would in a
 * deployment). The wall time then includes whichever side is slower; the CPU columns say which.
 */
export async function pipelinedIngest<Body>(
  format: (batch: Batch) => Body,
  send: (body: Body) => Promise<void>,
  batches: Iterable<Batch> & { genMs: number; points: number },
): Promise<IngestStats> {
  let inFlight: Promise<void> | null = null
  try {
    for (const batch of batches) {
      if (batch.points === 0) continue
      const body = format(batch)
      if (inFlight) await inFlight
      inFlight = send(body)
    }
    if (inFlight) await inFlight
  } catch (err) {
    // Do not leave a rejected request unobserved when the loop itself failed.
    inFlight?.catch(() => {})
    throw err
  }
  return { points: batches.points, genMs: batches.genMs, genSerial: false }
}

/** Groups a list of series by metric name (adapters that query one selector per metric). */
export function byMetric(
  series: number[],
  name: (id: number) => { metric: string; device: string },
): Map<string, { devices: string[]; ids: number[] }> {
  const groups = new Map<string, { devices: string[]; ids: number[] }>()
  for (const id of series) {
    const { metric, device } = name(id)
    let g = groups.get(metric)
    if (!g) {
      g = { devices: [], ids: [] }
      groups.set(metric, g)
    }
    g.devices.push(device)
    g.ids.push(id)
  }
  return groups
}
