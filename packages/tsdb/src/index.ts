/**
 * @strata/tsdb: Strata's time-series engine. Points are (series, timestamp in ms, float64 value);
 * series are compressed in chunks (codec/), bit-exact; points are made durable by the write-ahead
 * log (wal/). Chunk storage, partitions, rollups and queries come in the next steps of issue 4.
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
export * from './wal/index.js'
