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
 *
 * Rollups: with each window's chunks come its rollups per series (1-minute
 * buckets as an opaque blob, the whole window as one 1-hour bucket). They
 * live in partitions of their own (per month and per year in SQLite), so
 * retention can drop raw days while the rollups stay. Storage also keeps, per
 * rollup partition, which windows' rollups are complete (every series with
 * points in the window has its rollup): the engine reads rollups only for
 * those, and points for the rest (say, windows sealed before rollups existed).
 *
 * Retention classes: every series belongs to one (SeriesRecord.retentionClass,
 * 'default' if absent), and partitions are per (class, time): a class's
 * chunks, rollups, seal marks and horizons live apart from every other
 * class's, so that retention drops each class's files by its own horizons.
 * Calls that read or write partitions name the class (absent: 'default');
 * a storage that predates classes is the 'default' class alone.
 */

/** The retention class of a series, window, query or partition that names none. */
export const DEFAULT_RETENTION_CLASS = 'default'

/**
 * A retention class name: it goes into file names, so 1-32 of a-z, 0-9 and
 * '-', with a letter or digit at both ends (a name cannot run into the date
 * after it, `chunks-<class>-YYYYMMDD.db`, however it is read).
 */
export const RETENTION_CLASS_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/

/** A series in the catalogue. The device is kept apart so that queries can select by device. */
export interface SeriesRecord {
  /** Unsigned 32-bit id, as in the write-ahead log. */
  readonly id: number
  /** `device-id/metric`. */
  readonly key: string
  readonly device: string
  /** The series' retention class, fixed when the series is created ('default' if absent). */
  readonly retentionClass?: string | undefined
}

/**
 * count/sum/min/max/first/last over some points: min and max ignore NaN (NaN
 * only if every value is); sum is the plain float64 sum in time order; first
 * and last bit for bit. Stored bit-exact (NaN payloads, -0).
 */
export interface BucketSummary {
  readonly count: number
  readonly min: number
  readonly max: number
  readonly sum: number
  readonly first: number
  readonly last: number
}

/** A chunk's key and summary: enough to answer an aggregate over the whole chunk without decoding it. */
export interface ChunkSummary extends BucketSummary {
  readonly seriesId: number
  /** First and last timestamp in the chunk (ms, inclusive). */
  readonly startTs: number
  readonly endTs: number
}

/** A chunk with its encoded points (codec/chunk.ts). */
export interface StoredChunk extends ChunkSummary {
  readonly data: Uint8Array
}

/** Storage tiers: raw chunks, and the two rollup resolutions. Each has its own partitions and retention. */
export type Tier = 'raw' | RollupTier
export type RollupTier = '1m' | '1h'

/** One series' rollups of one window. */
export interface SeriesRollup {
  readonly seriesId: number
  /** The window's 1-minute buckets (codec/rollup.ts): opaque to storage. */
  readonly minutes: Uint8Array
  /** The whole window as one bucket. */
  readonly hour: BucketSummary
}

/** A stored 1-minute rollup: one series' window. */
export interface MinuteRollup {
  readonly seriesId: number
  readonly windowStart: number
  readonly data: Uint8Array
}

/** A stored 1-hour rollup: one series' window (the engine's windows are hours). */
export interface HourRollup extends BucketSummary {
  readonly seriesId: number
  readonly windowStart: number
}

export interface RollupQuery {
  /** Windows whose start is in [from, to). */
  readonly from: number
  readonly to: number
  readonly signal?: AbortSignal | undefined
  /** The series' class ('default' if absent). */
  readonly retentionClass?: string | undefined
}

/** What the engine reads back once at open, per retention class. */
export interface ClassState {
  /** Window start → log position: every point of the class in the window logged before it is in storage. */
  readonly sealMarks: Map<number, number>
  /** Data before this time was dropped by retention (-Infinity if never). */
  readonly droppedBefore: number
  /** Per rollup tier: what retention dropped before (-Infinity if never). */
  readonly rollupDroppedBefore: Readonly<Record<RollupTier, number>>
  /** Per rollup tier: the starts of the windows whose rollups are complete, ascending. */
  readonly rolledUp: Readonly<Record<RollupTier, number[]>>
}

/** What the engine reads back once at open: the catalogue, and the 'default' class's state. */
export interface StorageState extends ClassState {
  readonly series: SeriesRecord[]
  /** The state of every other class with partitions or horizons. */
  readonly classes: ReadonlyMap<string, ClassState>
}

/** One seal of one window, written in one transaction. */
export interface WindowWrite {
  /** The class of every series in the write ('default' if absent): one write per class of a window. */
  readonly retentionClass?: string | undefined
  /** The window, [start, end) in ms: inside one partition. */
  readonly start: number
  readonly end: number
  /**
   * True when the window was sealed before: for each series in `chunks`,
   * its chunks already stored in the window are replaced (late points merged).
   */
  readonly replace: boolean
  readonly chunks: readonly StoredChunk[]
  /**
   * The rollups of every series in `chunks`, from the window's final points:
   * upserted by (series, window). A first seal (replace false) also marks the
   * window's rollups complete in each rollup tier; a replacing one leaves that
   * mark as it was. Rollups of a window before a tier's retention horizon are
   * not written.
   */
  readonly rollups: readonly SeriesRollup[]
  /** The window's new seal mark (the class's). */
  readonly sealPosition: number
}

export interface ChunkQuery {
  /** Chunks that overlap [from, to): endTs ≥ from and startTs < to. */
  readonly from: number
  readonly to: number
  /** Include the chunk bytes (raw reads) or only the summaries (aggregates). */
  readonly data: boolean
  readonly signal?: AbortSignal | undefined
  /** The series' class ('default' if absent). */
  readonly retentionClass?: string | undefined
}

export interface PartitionInfo {
  /** [start, end) in ms. */
  readonly start: number
  readonly end: number
  /** Bytes on disk, or an estimate for a backend without files. */
  readonly bytes: number
  readonly name: string
  readonly tier: Tier
  /** The class whose data it holds ('default' if absent). */
  readonly retentionClass?: string | undefined
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
  /**
   * Writes a window's chunks and its seal mark atomically, durably, and its
   * rollups durably: never the seal mark without the rollups (write them
   * first, idempotently, or in the same transaction). A crash in between
   * leaves rollups ahead of the chunks, which is harmless: without the seal
   * mark the engine replays the window's points into memory, reads that
   * window from points, and the next seal writes the same rollups again.
   */
  writeWindow(write: WindowWrite): Promise<void>
  /**
   * One series' chunks overlapping the range, by startTs, without holding the
   * whole range in memory (pages of rows). Chunks of one series never overlap.
   */
  chunks(seriesId: number, query: ChunkQuery): AsyncIterable<StoredChunk | ChunkSummary>
  /** One series' chunks whose startTs is in [start, end), with their bytes. */
  windowChunks(seriesId: number, start: number, end: number, retentionClass?: string): Promise<StoredChunk[]>
  /** The series' chunk with the largest startTs, if any. */
  lastChunk(seriesId: number, retentionClass?: string): Promise<ChunkSummary | undefined>
  /** One series' 1-minute rollups of the windows starting in the range, by window, in pages. */
  minuteRollups(seriesId: number, query: RollupQuery): AsyncIterable<MinuteRollup>
  /** One series' 1-hour rollups of the windows starting in the range, by window, in pages. */
  hourRollups(seriesId: number, query: RollupQuery): AsyncIterable<HourRollup>
  /**
   * Drops every partition of the class and tier (default: 'default', raw)
   * that ends at or before `ts` rounded down to one of the tier's partition
   * boundaries, and remembers that horizon (it never moves back).
   */
  dropBefore(ts: number, tier?: Tier, retentionClass?: string): Promise<DropResult>
  /** Every partition of every class and tier, by class, tier, then start. */
  partitions(): Promise<PartitionInfo[]>
  close(): Promise<void>
}
