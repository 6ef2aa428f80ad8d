/** Telemetry wire formats (issue 4): the model, the decoders and the batch encoder. */
export {
  BATCH_VERSION,
  type DecodeBatchOptions,
  decodeBatch,
  type EncodeBatchOptions,
  encodeBatch,
} from './batch.js'
export { TELEMETRY_ERROR_CODES, type TelemetryErrorCode, TelemetryFormatError } from './errors.js'
export {
  type DecodeTelemetryOptions,
  decodeTelemetry,
  formatOf,
  TELEMETRY_FORMATS,
  type TelemetryFormat,
  type TelemetryFormatInfo,
} from './formats.js'
export {
  DEFAULT_TELEMETRY_LIMITS,
  MAX_TIMESTAMP,
  METRIC_PATTERN,
  type TelemetryLimits,
  type TelemetryPoint,
} from './model.js'
export { SENML_VERSION, senmlNameToMetric } from './senml.js'
