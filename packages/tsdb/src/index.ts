/**
 * @strata/tsdb: Strata's time-series engine. Points are (series, timestamp in ms, float64 value);
 * series are compressed in chunks (codec/), bit-exact; points are made durable by the write-ahead
 * log (wal/), held per one-hour window in memory and sealed into chunk storage partitioned by day
 * (engine/, storage/). Each seal also stores the window's 1-minute and 1-hour rollups (partitioned
 * by month and year), which aggregates read instead of chunks where the answer is the same, and
 * which outlive the raw points under per-resolution retention. pickBucket() sizes buckets for a
 * point budget; downsample() picks chart points by LTTB.
 */

export * from './archive/index.js'
export {
  CHUNK_FORMAT_VERSION,
  type ChunkInfo,
  chunkInfo,
  type DecodedChunk,
  decodeChunk,
  type EncodeChunkOptions,
  encodeChunk,
  MAX_CHUNK_POINTS,
} from './codec/chunk.js'
export { ChunkFormatError, TSDB_ERROR_CODES, type TsdbErrorCode } from './codec/errors.js'
export {
  decodeRollup,
  encodeRollup,
  MAX_ROLLUP_BUCKETS,
  ROLLUP_FORMAT_VERSION,
  type RollupColumns,
} from './codec/rollup.js'
export { MAX_TIMESTAMP, TimestampEncoding, type TimestampMode } from './codec/timestamps.js'
export { ValueEncoding, type ValueMode } from './codec/values.js'
export { AGGREGATE_FUNCTIONS, type AggregateBatch, type AggregateFunction } from './engine/aggregate.js'
export {
  type AggregateOptions,
  type ArchiveOptions,
  type EngineOptions,
  type EnginePoint,
  type EngineStats,
  type LatestPoint,
  type QueryOptions,
  type RetentionOptions,
  TimeSeriesEngine,
} from './engine/engine.js'
export { ENGINE_ERROR_CODES, type EngineErrorCode, TsdbEngineError } from './engine/errors.js'
export { Lttb, lttb } from './engine/lttb.js'
export { BUCKET_LADDER, bucketCount, type PickBucketOptions, pickBucket } from './engine/pick-bucket.js'
export type { PointBatch } from './engine/query.js'
export type * from './storage/chunk-storage.js'
export { DEFAULT_RETENTION_CLASS, RETENTION_CLASS_NAME } from './storage/chunk-storage.js'
export { SqliteChunkStorage, type SqliteChunkStorageOptions } from './storage/sqlite-storage.js'
export * from './wal/index.js'
