/**
 * Where sealed chunks live: the contract between the engine and a storage
 * backend (embedded SQLite now, PostgreSQL later; see chunk-storage-suite in
 * test/engine for the behaviour every implementation must show).
 *
 * The engine owns the points' meaning; storage keeps opaque chunk bytes with
 * their summary columns, the series catalogue, and two small facts the engine
 * needs after a restart: per sealed window, the write-ahead-log position its
 * chunks cover (the seal mark), and how far retention has dropped data.
 *
 * Partitions: storage groups chunks by time into partitions (one per UTC day
 * in SQLite) that retention drops whole. A window handed to writeWindow()
 * never spans two partitions (the engine's windows divide a day).
 */

/** A series in the catalogue. The device is kept apart so that queries can select by device. */
export interface SeriesRecord {
  /** Unsigned 32-bit id, as in the write-ahead log. */
  readonly id: number
  /** `device-id/metric`. */
  readonly key: string
  readonly device: string
}

/**
 * A chunk's key and summary: enough to answer count/sum/min/max/first/last
 * over the whole chunk without decoding it. min and max ignore NaN (NaN only
 * if every value is); sum is the plain float64 sum in time order.
 */
export interface ChunkSummary {
  readonly seriesId: number
  /** First and last timestamp in the chunk (ms, inclusive). */
  readonly startTs: number
  readonly endTs: number
  readonly count: number
  readonly min: number
  readonly max: number
  readonly sum: number
  readonly first: number
  readonly last: number
}

/** A chunk with its encoded points (codec/chunk.ts). */
export interface StoredChunk extends ChunkSummary {
  readonly data: Uint8Array
}

/** What the engine reads back once at open. */
export interface StorageState {
  readonly series: SeriesRecord[]
  /** Window start → log position: every point of the window logged before it is in storage. */
  readonly sealMarks: Map<number, number>
  /** Data before this time was dropped by retention (-Infinity if never). */
  readonly droppedBefore: number
}

/** One seal of one window, written in one transaction. */
export interface WindowWrite {
  /** The window, [start, end) in ms: inside one partition. */
  readonly start: number
  readonly end: number
  /**
   * True when the window was sealed before: for each series in `chunks`,
   * its chunks already stored in the window are replaced (late points merged).
   */
  readonly replace: boolean
  readonly chunks: readonly StoredChunk[]
  /** The window's new seal mark. */
  readonly sealPosition: number
}

export interface ChunkQuery {
  /** Chunks that overlap [from, to): endTs ≥ from and startTs < to. */
  readonly from: number
  readonly to: number
  /** Include the chunk bytes (raw reads) or only the summaries (aggregates). */
  readonly data: boolean
  readonly signal?: AbortSignal | undefined
}

export interface PartitionInfo {
  /** [start, end) in ms. */
  readonly start: number
  readonly end: number
  /** Bytes on disk, or an estimate for a backend without files. */
  readonly bytes: number
  readonly name: string
}

export interface DropResult {
  /** Data before this is gone for good: the engine drops points older than it on write and replay. */
  readonly droppedBefore: number
  readonly partitions: PartitionInfo[]
}

export interface ChunkStorage {
  /** The catalogue, seal marks and retention horizon. */
  load(): Promise<StorageState>
  /** Adds series to the catalogue (ids and keys not already in it). */
  addSeries(records: readonly SeriesRecord[]): Promise<void>
  /** Writes a window's chunks and its seal mark atomically, durably. */
  writeWindow(write: WindowWrite): Promise<void>
  /**
   * One series' chunks overlapping the range, by startTs, without holding the
   * whole range in memory (pages of rows). Chunks of one series never overlap.
   */
  chunks(seriesId: number, query: ChunkQuery): AsyncIterable<StoredChunk | ChunkSummary>
  /** One series' chunks whose startTs is in [start, end), with their bytes. */
  windowChunks(seriesId: number, start: number, end: number): Promise<StoredChunk[]>
  /** The series' chunk with the largest startTs, if any. */
  lastChunk(seriesId: number): Promise<ChunkSummary | undefined>
  /**
   * Drops every partition that ends at or before `ts` rounded down to a
   * partition boundary, and remembers that horizon.
   */
  dropBefore(ts: number): Promise<DropResult>
  partitions(): Promise<PartitionInfo[]>
  close(): Promise<void>
}
