/**
 * Errors of the cold tier that a caller branches on: an archive file that
 * cannot be read as one. `code` is a stable string listed in docs/errors.md.
 * Bad arguments (a NaN range, a rollup partition) are programming errors and
 * throw RangeError; file-system failures (permissions, a full disk) are the fs
 * errors as they are; an abort is the signal's AbortError.
 */
export const ARCHIVE_ERROR_CODES = [
  'STRATA_TSDB_ARCHIVE_NOT_PARQUET',
  'STRATA_TSDB_ARCHIVE_TRUNCATED',
  'STRATA_TSDB_ARCHIVE_CORRUPT',
  'STRATA_TSDB_ARCHIVE_SCHEMA',
] as const

export type ArchiveErrorCode = (typeof ARCHIVE_ERROR_CODES)[number]

export class TsdbArchiveError extends Error {
  constructor(
    readonly code: ArchiveErrorCode,
    /** The archive file concerned. */
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${path}: ${message}`, options)
    this.name = new.target.name
  }
}
