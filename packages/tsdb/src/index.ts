/**
 * @strata/tsdb: Strata's time-series engine. Points are (series, timestamp in ms, float64 value);
 * series are compressed in chunks (codec/), bit-exact; points are made durable by the write-ahead
 * log (wal/), held per one-hour window in memory and sealed into chunk storage partitioned by day
 * (engine/, storage/). Rollups, tiering and per-type retention come in the next steps of issue 4.
 */
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
export { MAX_TIMESTAMP, TimestampEncoding, type TimestampMode } from './codec/timestamps.js'
export { ValueEncoding, type ValueMode } from './codec/values.js'
export { AGGREGATE_FUNCTIONS, type AggregateBatch, type AggregateFunction } from './engine/aggregate.js'
export {
  type EngineOptions,
  type EnginePoint,
  type EngineStats,
  type LatestPoint,
  type QueryOptions,
  TimeSeriesEngine,
} from './engine/engine.js'
export { ENGINE_ERROR_CODES, type EngineErrorCode, TsdbEngineError } from './engine/errors.js'
export type { PointBatch } from './engine/query.js'
export type * from './storage/chunk-storage.js'
export { SqliteChunkStorage, type SqliteChunkStorageOptions } from './storage/sqlite-storage.js'
export * from './wal/index.js'
