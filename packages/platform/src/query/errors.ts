/**
 * Errors of the telemetry queries (query/), a catalogue of their own like the registry's: the
 * TypeScript API raises them without HTTP, and the API's one table (api/errors.ts) gives each
 * its status (all 400: the request is at fault and the message says how to fix it).
 */
export const QUERY_ERROR_CODES = [
  'STRATA_QUERY_INVALID',
  'STRATA_QUERY_TOO_LARGE',
  'STRATA_QUERY_UNSUPPORTED',
] as const

export type QueryErrorCode = (typeof QUERY_ERROR_CODES)[number]

export class QueryError extends Error {
  constructor(
    readonly code: QueryErrorCode,
    message: string,
    /** The input at fault (`from`, `bucket`, `groupBy`...). */
    readonly field?: string,
  ) {
    super(message)
    this.name = new.target.name
  }
}

export const invalidQuery = (field: string, message: string): QueryError =>
  new QueryError('STRATA_QUERY_INVALID', message, field)

export const tooLarge = (field: string, message: string): QueryError =>
  new QueryError('STRATA_QUERY_TOO_LARGE', message, field)

export const unsupported = (field: string, message: string): QueryError =>
  new QueryError('STRATA_QUERY_UNSUPPORTED', message, field)
