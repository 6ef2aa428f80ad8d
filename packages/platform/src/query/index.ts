/** Reading telemetry back: the TypeScript query API (the HTTP routes are built on it). */
export { QUERY_ERROR_CODES, QueryError, type QueryErrorCode } from './errors.js'
export { fromJsonValue, type JsonValue, jsonNumber, jsonNumbers } from './json.js'
export {
  DEFAULT_SPAN_MS,
  type DurationInput,
  parseDuration,
  parseTime,
  resolveRange,
  type TimeInput,
  type TimeRange,
} from './params.js'
export {
  type AggregateQuery,
  type AggregateResult,
  DEFAULT_QUERY_LIMITS,
  type DeviceLatest,
  type FleetLatestQuery,
  type FleetQuery,
  type FleetResult,
  type GroupBatch,
  type GroupBy,
  type LatestValue,
  MAX_BATCH_POINTS,
  type QueryCallOptions,
  type QueryEngine,
  type QueryRegistry,
  type RawQuery,
  type RawResult,
  type SeriesBatch,
  TelemetryQueries,
  type TelemetryQueriesOptions,
  type TelemetryQueryLimits,
} from './telemetry-queries.js'
