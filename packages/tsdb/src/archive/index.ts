/**
 * The cold tier (issue 4): partitions exported from chunk storage to Parquet files
 * in an archive directory, read back by series and time range, or re-imported.
 */
export { ARCHIVE_ERROR_CODES, type ArchiveErrorCode, TsdbArchiveError } from './errors.js'
export {
  type ArchiveFile,
  type ExportOptions,
  exportPartition,
  PAGE_BYTES,
  ROW_GROUP_ROWS,
} from './export.js'
export {
  ARCHIVE_FORMAT_VERSION,
  type ArchiveCodec,
  archiveFileName,
  DEFAULT_CODEC,
} from './format.js'
export type { ArchiveBatch } from './parquet-file.js'
export {
  type ArchiveListing,
  type ArchivePoint,
  ArchiveReader,
  type ArchiveReadOptions,
  type InvalidArchiveFile,
  type ReimportOptions,
} from './reader.js'
