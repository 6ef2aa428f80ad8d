/**
 * Errors of telemetry decoding (issue 4). Three codes, because callers branch three ways
 * at the edge: the payload is wrong (MQTT 0x99 Payload format invalid, HTTP 400), it is
 * over a limit (MQTT 0x95 Packet too large, HTTP 413), or it uses a format or a feature
 * Strata does not take (MQTT 0x99, HTTP 415). A catalogue of their own, like the
 * registry's, until the lead merges them into docs/errors.md.
 */
export const TELEMETRY_ERROR_CODES = [
  'STRATA_TELEMETRY_INVALID',
  'STRATA_TELEMETRY_TOO_LARGE',
  'STRATA_TELEMETRY_UNSUPPORTED',
] as const

export type TelemetryErrorCode = (typeof TELEMETRY_ERROR_CODES)[number]

/**
 * A telemetry payload that cannot be decoded. The message names the format and where the
 * fault is (record or object index, field), e.g.
 * `senml+json: record 3, field "v": must be a number, got "21.5"`.
 * A decoder that throws returns nothing: no partial result.
 */
export class TelemetryFormatError extends Error {
  constructor(
    readonly code: TelemetryErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

export const invalid = (message: string, cause?: unknown): TelemetryFormatError =>
  new TelemetryFormatError('STRATA_TELEMETRY_INVALID', message, cause === undefined ? undefined : { cause })

export const tooLarge = (message: string): TelemetryFormatError =>
  new TelemetryFormatError('STRATA_TELEMETRY_TOO_LARGE', message)

export const unsupported = (message: string): TelemetryFormatError =>
  new TelemetryFormatError('STRATA_TELEMETRY_UNSUPPORTED', message)

/** A short, printable rendering of an offending value for messages. */
export function show(value: unknown): string {
  let s: string
  if (typeof value === 'string') s = JSON.stringify(value)
  else if (value === null) s = 'null'
  else if (Array.isArray(value)) s = 'an array'
  else if (value instanceof Uint8Array) s = 'a byte string'
  else if (value instanceof Map) s = 'a map'
  else if (value instanceof Date) s = 'a date'
  else if (typeof value === 'object') s = 'an object'
  else s = String(value)
  return s.length > 40 ? `${s.slice(0, 40)}…` : s
}
