/**
 * What the engine keeps per retention class: the class's seal marks, which
 * of its windows have complete rollups, how far retention dropped its raw
 * points, its cold tier, and the read sources bound to its partitions.
 *
 * Classes are independent: a window holding series of two classes is sealed
 * as two writes, each with its own seal mark in its own class's day file
 * (atomic with that class's chunks). After a crash between the two, replay
 * skips the points of the class whose mark is past them and brings back the
 * other's, so a window is never half-sealed within a class.
 */
import { decodeChunk } from '../codec/chunk.js'
import type {
  ChunkStorage,
  ClassState,
  HourRollup,
  MinuteRollup,
  RollupQuery,
  SeriesRollup,
  StoredChunk,
} from '../storage/chunk-storage.js'
import type { ColdTier } from './cold.js'
import type { HeadChunk, HeadWindow } from './head.js'
import { mergeSources, type Points, toChunks } from './points.js'
import type { ReadSources } from './read.js'
import { rollupOf } from './rollup.js'
import { RollupIndex } from './rollup-index.js'

/** Points encoded between two yields to the event loop while sealing. */
const SEAL_SLICE = 200_000
const ROLLUP_TIERS = ['1m', '1h'] as const
const decodeStored = (c: StoredChunk): Points => decodeChunk(c.data)

export class RetentionClassState {
  readonly sealMarks: Map<number, number>
  readonly rollups: RollupIndex
  /** What storage dropped before (the raw horizon): plans read rollups or the archive before it. */
  droppedBefore: number
  /** Points before this are refused on write and replay (ahead of droppedBefore while a drop is archiving). */
  expireBefore: number
  readonly sources: ReadSources

  constructor(
    readonly name: string,
    storage: ChunkStorage,
    state: ClassState,
    memory: readonly ReadonlyMap<number, HeadWindow>[],
    readonly cold: ColdTier | undefined,
  ) {
    this.sealMarks = new Map(state.sealMarks)
    this.rollups = new RollupIndex(state.rolledUp, state.rollupDroppedBefore)
    this.droppedBefore = state.droppedBefore
    this.expireBefore = state.droppedBefore
    this.sources = { storage: classView(storage, name), memory, rollups: this.rollups, archive: cold }
  }

  /**
   * Writes the class's part of a window (the series `ids`): chunks, rollups
   * and the class's seal mark, merged with what is stored if the class sealed
   * the window before (late points).
   */
  async seal(win: HeadWindow, ids: readonly number[], position: number): Promise<void> {
    const replace = this.sealMarks.has(win.start)
    const storage = this.sources.storage
    const chunks: StoredChunk[] = []
    const rollups: SeriesRollup[] = []
    let work = 0
    for (const id of ids) {
      let points: Points = (win.chunks[id] as HeadChunk).view()
      if (replace) {
        const stored = await storage.windowChunks(id, win.start, win.end)
        if (stored.length > 0) points = mergeSources([...stored.map(decodeStored), points])
      }
      toChunks(id, points, chunks)
      if (points.timestamps.length > 0) rollups.push(rollupOf(id, points))
      work += points.timestamps.length
      if (work >= SEAL_SLICE) {
        work = 0
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    const write = { start: win.start, end: win.end, replace, chunks, rollups, sealPosition: position }
    await storage.writeWindow(write)
    // Complete rollups only from a first seal: a re-seal writes the late series' rollups alone,
    // so a window sealed before rollups existed stays read from points (as storage marks it).
    if (!replace) for (const tier of ROLLUP_TIERS) this.rollups.add(tier, win.start)
    this.sealMarks.set(win.start, Math.max(position, this.sealMarks.get(win.start) ?? -1))
  }

  /** Each tier's horizon (downsample's choice of resolution). */
  get horizons(): { raw: number; '1m': number; '1h': number } {
    return { raw: this.droppedBefore, ...this.rollups.horizon }
  }
}

/** The empty state of a class storage has never seen. */
export const NEW_CLASS: ClassState = {
  sealMarks: new Map(),
  droppedBefore: Number.NEGATIVE_INFINITY,
  rollupDroppedBefore: { '1m': Number.NEGATIVE_INFINITY, '1h': Number.NEGATIVE_INFINITY },
  rolledUp: { '1m': [], '1h': [] },
}

/** The storage reads of one class (what read.ts and query.ts call), the class filled in. */
function classView(storage: ChunkStorage, retentionClass: string): ChunkStorage {
  return {
    load: () => storage.load(),
    addSeries: (records) => storage.addSeries(records),
    writeWindow: (w) => storage.writeWindow({ ...w, retentionClass }),
    chunks: (id, q) => storage.chunks(id, { ...q, retentionClass }),
    windowChunks: (id, start, end) => storage.windowChunks(id, start, end, retentionClass),
    lastChunk: (id) => storage.lastChunk(id, retentionClass),
    minuteRollups: (id, q: RollupQuery): AsyncIterable<MinuteRollup> =>
      storage.minuteRollups(id, { ...q, retentionClass }),
    hourRollups: (id, q: RollupQuery): AsyncIterable<HourRollup> =>
      storage.hourRollups(id, { ...q, retentionClass }),
    dropBefore: (ts, tier) => storage.dropBefore(ts, tier, retentionClass),
    partitions: () => storage.partitions(),
    close: () => storage.close(),
  }
}
