/**
 * Which wire format a telemetry message uses, from its MQTT 5 Content Type
 * [MQTT-3.3.2.3.9] or, for MQTT 3.1.1 devices that have no properties, from the suffix of
 * its telemetry topic; and the one entry point that decodes any of them.
 */
import { decodeBatchWith } from './batch.js'
import { unsupported } from './errors.js'
import { decodeJson } from './json.js'
import { resolveLimits, type TelemetryLimits, type TelemetryPoint } from './model.js'
import { decodeSenmlJson } from './senml.js'
import { decodeSenmlCbor } from './senml-cbor.js'

export type TelemetryFormat = 'json' | 'senml+json' | 'senml+cbor' | 'batch'

export interface TelemetryFormatInfo {
  format: TelemetryFormat
  /** The media type, matched case-insensitively and without parameters (`; charset=utf-8`). */
  contentType: string
  /** The topic suffix after the telemetry topic; '' for none. */
  topicSuffix: string
}

/** The one table of formats: content type and topic suffix side by side. */
export const TELEMETRY_FORMATS: readonly Readonly<TelemetryFormatInfo>[] = Object.freeze([
  { format: 'json', contentType: 'application/json', topicSuffix: '' },
  { format: 'senml+json', contentType: 'application/senml+json', topicSuffix: '/senml' },
  { format: 'senml+cbor', contentType: 'application/senml+cbor', topicSuffix: '/senml-cbor' },
  { format: 'batch', contentType: 'application/vnd.strata.batch', topicSuffix: '/batch' },
] as const)

const byContentType = new Map(TELEMETRY_FORMATS.map((f) => [f.contentType, f.format]))
const bySuffix = new Map(
  TELEMETRY_FORMATS.filter((f) => f.topicSuffix !== '').map((f) => [f.topicSuffix, f.format]),
)

/**
 * The format of a message. Either input may be missing (undefined or ''); a suffix may be
 * given with or without its leading '/'. When both are given they must agree. Neither
 * means JSON. Throws STRATA_TELEMETRY_UNSUPPORTED for an unknown type or suffix, or a
 * disagreement.
 */
export function formatOf(contentType: string | undefined, topicSuffix: string | undefined): TelemetryFormat {
  let fromType: TelemetryFormat | undefined
  if (contentType !== undefined && contentType.trim() !== '') {
    const media = (contentType.split(';')[0] as string).trim().toLowerCase()
    fromType = byContentType.get(media)
    if (fromType === undefined) {
      throw unsupported(
        `content type "${contentType}" is not a telemetry format; use one of ${[...byContentType.keys()].join(', ')}`,
      )
    }
  }
  let fromSuffix: TelemetryFormat | undefined
  if (topicSuffix !== undefined && topicSuffix !== '' && topicSuffix !== '/') {
    const suffix = topicSuffix.startsWith('/') ? topicSuffix : `/${topicSuffix}`
    fromSuffix = bySuffix.get(suffix)
    if (fromSuffix === undefined) {
      throw unsupported(
        `topic suffix "${topicSuffix}" is not a telemetry format; use none (JSON) or one of ${[...bySuffix.keys()].join(', ')}`,
      )
    }
  }
  if (fromType !== undefined && fromSuffix !== undefined && fromType !== fromSuffix) {
    throw unsupported(
      `content type "${contentType}" and topic suffix "${topicSuffix}" name different formats`,
    )
  }
  return fromType ?? fromSuffix ?? 'json'
}

export interface DecodeTelemetryOptions {
  /** Default DEFAULT_TELEMETRY_LIMITS. */
  limits?: Partial<TelemetryLimits>
}

const decoders: Record<
  TelemetryFormat,
  (payload: Uint8Array, receivedAt: number, limits: Readonly<TelemetryLimits>) => TelemetryPoint[]
> = {
  json: decodeJson,
  'senml+json': decodeSenmlJson,
  'senml+cbor': decodeSenmlCbor,
  batch: (payload, _receivedAt, limits) => decodeBatchWith(payload, limits),
}

/**
 * Decodes one message: every point, or a TelemetryFormatError and nothing. Pure: no I/O,
 * no clock; `receivedAt` (ms since the epoch) stands for "now" (JSON objects without `ts`,
 * SenML records without time or with relative time).
 */
export function decodeTelemetry(
  format: TelemetryFormat,
  payload: Uint8Array,
  receivedAt: number,
  options: DecodeTelemetryOptions = {},
): TelemetryPoint[] {
  if (!Number.isSafeInteger(receivedAt) || receivedAt < 0) {
    throw new RangeError('receivedAt must be a non-negative integer number of ms since the epoch')
  }
  const decode = Object.hasOwn(decoders, format) ? decoders[format] : undefined
  if (decode === undefined) throw unsupported(`"${String(format)}" is not a telemetry format`)
  return decode(payload, receivedAt, resolveLimits(options.limits))
}
