/**
 * The engine's public option, point and statistics types (engine.ts).
 */
import type { ChunkStorage } from '../storage/chunk-storage.js'
import type { WalStats } from '../wal/index.js'
import type { RetentionOptions } from './retention.js'

export interface EnginePoint {
  /** Series key, `device-id/metric`. */
  readonly series: string
  /** Milliseconds since the epoch, an integer within ±(2^51 - 1). */
  readonly ts: number
  /** Any float64, kept bit for bit. */
  readonly value: number
}

export interface LatestPoint {
  readonly series: string
  readonly ts: number
  readonly value: number
}

export interface ArchiveOptions {
  /** Where the Parquet files go. Default: `archive` in the engine's directory. */
  dir?: string
  /** Whether queries read archived points below the raw horizon (default true). */
  query?: boolean
}

export interface EngineOptions {
  /** fdatasync the log and use synchronous=FULL in SQLite. Default true. */
  fsync?: boolean
  /** How long after its end a window stays open for on-time points. Default 300,000 (5 min). */
  graceMs?: number
  /** How often to look for windows to seal and partitions to drop; 0 for never (flush() only). Default 10,000. */
  sealCheckMs?: number
  /**
   * How long the 'default' retention class keeps each resolution (ms), each
   * dropped by whole partitions: raw points (day files; points older than
   * this are dropped on write), 1-minute rollups (month files) and 1-hour
   * rollups (year files). Default: keep all. Where points are gone, aggregates
   * answer from the rollups left (plan.ts), or from the archive.
   */
  retention?: RetentionOptions
  /** @deprecated The same as `retention.rawMs`, which wins if both are given. */
  retentionMs?: number
  /**
   * Retention of other classes by name (1-32 of a-z, 0-9, '-', neither first
   * nor last), or of 'default' (which `retention` then does not set). A
   * class named by retentionClassOf but not here keeps everything.
   */
  retentionClasses?: Record<string, RetentionOptions>
  /**
   * The retention class of a new series (by its device type, say). Asked
   * once, when the series is first written; the class is stored with it, so
   * a later change applies to new series only. Default: 'default'.
   */
  retentionClassOf?: (seriesKey: string, device: string) => string
  /** Export raw partitions to Parquet before retention drops them, and read them back (cold.ts). Default: off. */
  archive?: ArchiveOptions
  /** Where sealed chunks go. Default: SqliteChunkStorage in the engine's directory. The engine closes it. */
  storage?: ChunkStorage
  /** Wall clock in ms. Default Date.now. */
  now?: () => number
  /** The device of a series key. Default: what precedes the first '/'. */
  deviceOf?: (key: string) => string
  /** Log segment size (WalOptions.segmentBytes). Default 16 MiB. */
  walSegmentBytes?: number
  /** Told about a failed background seal, retention run or archive export (retried at the next check). */
  onError?: (err: unknown) => void
  signal?: AbortSignal
}

export interface QueryOptions {
  signal?: AbortSignal
  /** Read rollups where they give the same answer as points (default true); false reads points only. */
  rollups?: boolean
}

export interface AggregateOptions extends QueryOptions {
  /**
   * A point budget per series: bucketMs becomes the smallest round bucket
   * (pickBucket) at least as large that gives at most this many buckets, and
   * that is valid for what retention left. Batches carry the bucket used.
   */
  maxPoints?: number
}

export interface EngineStats {
  series: number
  /** Points and windows in memory, not yet sealed. */
  headPoints: number
  headWindows: number
  /** Windows sealed, and how many of those merged late points into stored chunks. */
  seals: number
  lateMerges: number
  /** Points older than the retention horizon, dropped by write() or replay. */
  expiredPoints: number
  /** Points replayed from the log into memory by open() (not counting those already sealed). */
  replayedPoints: number
  /** Windows whose rollups are complete, per rollup tier (summed over classes). */
  rollupWindows: { '1m': number; '1h': number }
  /** Raw partitions exported to the archive since open, and their points (a re-export counts again). */
  archived: { partitions: number; points: number }
  wal: WalStats
}
