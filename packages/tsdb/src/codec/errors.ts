/**
 * The codec's one failure a caller branches on: bytes that are not a chunk this
 * version can read (corrupt, truncated, or from a newer format). Invalid input to
 * the encoder is a programming error and throws RangeError instead.
 */
export const TSDB_ERROR_CODES = ['STRATA_TSDB_CHUNK_CORRUPT'] as const

export type TsdbErrorCode = (typeof TSDB_ERROR_CODES)[number]

export class ChunkFormatError extends Error {
  readonly code: TsdbErrorCode = 'STRATA_TSDB_CHUNK_CORRUPT'

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}
