/**
 * Errors of the engine that a caller branches on. `code` is a stable string
 * (to be listed in docs/errors.md with the codec's and the log's codes).
 * Bad arguments (a timestamp out of range, a bucket of 0 ms) are programming
 * errors and throw RangeError.
 */
export const ENGINE_ERROR_CODES = ['STRATA_TSDB_CLOSED', 'STRATA_TSDB_CATALOG_CONFLICT'] as const

export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number]

export class TsdbEngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

export const engineClosed = (what = 'the time-series engine'): TsdbEngineError =>
  new TsdbEngineError('STRATA_TSDB_CLOSED', `${what} is closed`)
