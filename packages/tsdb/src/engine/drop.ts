/**
 * A retention drop of one class's partitions of one tier (retention.ts
 * decides when). Rollup tiers are dropped as they are. Raw partitions, with
 * an archive, are exported first (cold.ts): the windows in memory before the
 * cut-off are sealed into them (their points would be dropped unexported
 * otherwise), late points for them are refused from then on, and only the
 * partitions whose export committed are dropped, oldest first. An export
 * that fails stops there: what was exported before it is dropped, the error
 * is thrown (the timer tells onError), and the next run exports the rest.
 */
import type { ChunkStorage, Tier } from '../storage/chunk-storage.js'
import type { RetentionClassState } from './class-state.js'
import type { Head } from './head.js'
import { DEFAULT_CLASS } from './retention.js'
import type { SeriesDictionary } from './series.js'

/** What a drop needs of the engine. */
export interface DropHost {
  readonly storage: ChunkStorage
  readonly head: Head
  readonly dict: SeriesDictionary
  /** Aborts an export (the engine closing). */
  readonly signal: AbortSignal
  /** Seals the windows in memory that end at or before `ts`. */
  sealBefore(ts: number): Promise<void>
  /** A class's expireBefore moved. */
  expired(): void
  checkpoint(): Promise<void>
}

export async function dropBefore(
  host: DropHost,
  c: RetentionClassState,
  ts: number,
  tier: Tier,
): Promise<void> {
  if (tier !== 'raw') {
    const r = await host.storage.dropBefore(ts, tier, c.name)
    c.rollups.dropBefore(tier, r.droppedBefore)
    return
  }
  if (c.cold === undefined) {
    await dropRaw(host, c, ts)
    return
  }
  const cold = c.cold
  await host.sealBefore(ts)
  const parts = (await host.storage.partitions()).filter(
    (p) => p.tier === 'raw' && (p.retentionClass ?? DEFAULT_CLASS) === c.name && p.end <= ts,
  )
  if (parts.length === 0) return
  const end = Math.max(...parts.map((p) => p.end))
  c.expireBefore = Math.max(c.expireBefore, end)
  host.expired()
  // Points written for those days while the first seal ran: into storage before the export.
  await host.sealBefore(end)
  const records = [...host.dict.byKey.values()].filter((s) => s.retentionClass === c.name)
  const run = await cold.export(host.storage, parts, records, host.signal)
  if (run.before > c.droppedBefore) {
    // Reads switch to the archive before storage deletes anything (cold.ts).
    if (run.before > cold.horizon) cold.horizon = run.before
    await dropRaw(host, c, run.before)
  }
  if (run.error !== undefined) throw run.error
}

async function dropRaw(host: DropHost, c: RetentionClassState, ts: number): Promise<void> {
  const r = await host.storage.dropBefore(ts, 'raw', c.name)
  c.droppedBefore = r.droppedBefore
  c.expireBefore = Math.max(c.expireBefore, r.droppedBefore)
  host.expired()
  if (c.cold !== undefined && r.droppedBefore > c.cold.horizon) c.cold.horizon = r.droppedBefore
  // Points in memory before the horizon, of this class: gone with their partitions.
  const { head, dict } = host
  for (const win of [...head.windows.values()]) {
    if (win.start >= r.droppedBefore) continue
    win.removeSeries((id) => dict.byId[id]?.retentionClass === c.name)
    if (win.ids.length === 0) head.detach(win.start)
  }
  for (const s of dict.byKey.values()) {
    if (s.retentionClass === c.name && s.latestTs < r.droppedBefore) s.latestLoaded = false
  }
  await host.checkpoint()
}
