/**
 * Reading one series over a time range: stored chunks and the windows still
 * in memory, merged per window, as a stream of segments in time order.
 *
 * A window's points are in storage (sealed chunks), in a window being sealed,
 * in the head, or (late points, a seal racing the read) in several of these.
 * A window with a single source comes out as is: a stored chunk that the
 * consumer can take whole by its summary comes out as a summary, without its
 * bytes being read; anything else is decoded. A window with several sources is
 * merged by last write wins (storage, then the window being sealed, then the
 * head). Memory is bounded by one window of one series (plus a page of rows).
 *
 * Consistency: the memory sources are looked up when the read starts, storage
 * page by page; a window sealed meanwhile can show up in both, which the merge
 * resolves. Consumers also drop anything at or before the last timestamp they
 * emitted, so overlapping chunks (a late merge replacing a window's chunks
 * between two pages) cannot repeat a point.
 */
import { decodeChunk } from '../codec/chunk.js'
import type { ChunkStorage, ChunkSummary, StoredChunk } from '../storage/chunk-storage.js'
import { type HeadChunk, type HeadWindow, WINDOW_MS, windowOf } from './head.js'
import { mergeSources, type Points } from './points.js'
import type { RollupIndex } from './rollup-index.js'

export type Segment =
  | { readonly kind: 'summary'; readonly chunk: ChunkSummary }
  | { readonly kind: 'points'; readonly points: Points }

/** The cold tier as reads see it (cold.ts). */
export interface ArchiveSource {
  /** Whether queries read it. */
  readonly query: boolean
  /** Points before this are read from the archive. */
  readonly horizon: number
  raw(key: string, from: number, to: number, signal?: AbortSignal): AsyncIterable<Points>
}

export interface ReadSources {
  readonly storage: ChunkStorage
  /** Windows being sealed, then the head: later maps hold later writes. */
  readonly memory: readonly ReadonlyMap<number, HeadWindow>[]
  /** The windows whose rollups can be read (plan.ts). */
  readonly rollups: RollupIndex
  /** Where raw partitions went when retention dropped them, if anywhere. */
  readonly archive?: ArchiveSource | undefined
}

/** Whether a window has points of the series in memory (so storage alone does not hold all of them). */
export const inMemory = (src: ReadSources, id: number, start: number): boolean =>
  src.memory.some((m) => m.get(start)?.chunks[id] !== undefined)

export interface SegmentOptions {
  /** Whether a stored chunk must be decoded, or can be taken by its summary. */
  readonly needsPoints: (c: ChunkSummary) => boolean
  /** Read chunk bytes with the rows (raw reads decode every chunk). */
  readonly data: boolean
  readonly signal?: AbortSignal | undefined
}

interface MemWindow {
  start: number
  /** Oldest write first. */
  chunks: HeadChunk[]
}

function memoryWindows(src: ReadSources, id: number, from: number, to: number): MemWindow[] {
  const byStart = new Map<number, MemWindow>()
  for (const map of src.memory) {
    for (const w of map.values()) {
      const c = w.chunks[id]
      if (c === undefined || w.start >= to || w.end <= from) continue
      const m = byStart.get(w.start)
      if (m === undefined) byStart.set(w.start, { start: w.start, chunks: [c] })
      else m.chunks.push(c)
    }
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start)
}

const decode = (c: StoredChunk): Points => decodeChunk(c.data)

export async function* segments(
  src: ReadSources,
  id: number,
  from: number,
  to: number,
  options: SegmentOptions,
): AsyncGenerator<Segment, void, undefined> {
  const mem = memoryWindows(src, id, from, to)
  let mi = 0
  const memSegment = (m: MemWindow): Segment => ({
    kind: 'points',
    points: mergeSources(m.chunks.map((c) => c.snapshot())),
  })

  async function* group(rows: (ChunkSummary | StoredChunk)[], start: number): AsyncGenerator<Segment> {
    while (mi < mem.length && (mem[mi] as MemWindow).start < start) yield memSegment(mem[mi++] as MemWindow)
    const m = mem[mi]?.start === start ? (mem[mi++] as MemWindow) : undefined
    const needs = rows.map((r) => m !== undefined || options.needsPoints(r))
    let stored = rows
    if (needs.some(Boolean) && !('data' in (rows[0] as ChunkSummary))) {
      // Summaries only so far: fetch the window's bytes. If its chunks changed
      // since the rows were read (a late merge), the fresh set is the truth.
      const fresh = await src.storage.windowChunks(id, start, start + WINDOW_MS)
      const same =
        fresh.length === rows.length &&
        fresh.every((f, i) => f.startTs === rows[i]?.startTs && f.count === rows[i]?.count)
      if (!same) {
        const sources = fresh.length > 0 ? [mergeSources(fresh.map(decode))] : []
        if (m !== undefined) for (const c of m.chunks) sources.push(c.snapshot())
        if (sources.length > 0) yield { kind: 'points', points: mergeSources(sources) }
        return
      }
      stored = fresh
    }
    if (m === undefined) {
      for (let i = 0; i < stored.length; i++) {
        const c = stored[i] as StoredChunk
        yield needs[i] ? { kind: 'points', points: decode(c) } : { kind: 'summary', chunk: c }
      }
      return
    }
    const sources = [mergeSources((stored as StoredChunk[]).map(decode))]
    for (const c of m.chunks) sources.push(c.snapshot())
    yield { kind: 'points', points: mergeSources(sources) }
  }

  let rows: (ChunkSummary | StoredChunk)[] = []
  let start = Number.NaN
  const query = { from, to, data: options.data, signal: options.signal }
  for await (const c of src.storage.chunks(id, query)) {
    const w = windowOf(c.startTs)
    if (rows.length > 0 && w !== start) {
      yield* group(rows, start)
      rows = []
    }
    start = w
    rows.push(c)
  }
  if (rows.length > 0) yield* group(rows, start)
  while (mi < mem.length) {
    options.signal?.throwIfAborted()
    yield memSegment(mem[mi++] as MemWindow)
  }
}
