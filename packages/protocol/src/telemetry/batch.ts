/**
 * The Strata binary batch (`application/vnd.strata.batch`, topic suffix `/batch`): the
 * compact format of the device SDK.
 *
 * 1. Overview
 *
 *    A batch carries an ordered list of points. Metric names are sent once, in a
 *    dictionary. Consecutive points with the same timestamp form a group, so a reading of
 *    ten sensors at one instant costs one timestamp. Each metric keeps a running mantissa:
 *    a number that is an integer, or a short decimal, once scaled by the metric's power of
 *    ten, is sent as the difference from that metric's previous mantissa, so slowly
 *    changing readings take one byte. Any other float64 (NaN, the infinities and -0
 *    included) is sent raw. Decoding gives back the same points, in the same order, with
 *    every number bit for bit.
 *
 * 2. Notation
 *
 *    u8       one byte
 *    uvarint  unsigned LEB128: 7 bits per byte, least significant group first, high bit set
 *             on all bytes but the last; at most 8 bytes, value at most 2^53 - 1, minimal
 *             (no trailing 0x00 group). A decoder MUST reject other encodings.
 *    svarint  a signed integer n as the uvarint of zigzag(n): 2n for n >= 0, -2n - 1 below.
 *    f64      IEEE 754 binary64, little-endian.
 *
 * 3. Layout
 *
 *    batch      = version:u8            ; 0x01. Other values: STRATA_TELEMETRY_UNSUPPORTED
 *                 baseTime:uvarint      ; ms since the Unix epoch; the encoder uses the first
 *                                       ; point's time (0 for an empty batch)
 *                 metricCount:uvarint
 *                 metric * metricCount  ; the dictionary; index 0 first
 *                 pointCount:uvarint    ; at most the decoder's maxPoints
 *                 group *               ; until pointCount points are read; then the batch
 *                                       ; MUST end
 *    metric     = nameLength:uvarint    ; 1 to 128
 *                 name:nameLength bytes ; ASCII, matching METRIC_PATTERN; no duplicates
 *                 scale:u8              ; 0 to 15: mantissas of this metric are value * 10^scale
 *    group      = tsDelta:svarint       ; ms after the previous group's time (the first
 *                                       ; group's: after baseTime). Times stay in
 *                                       ; [0, MAX_TIMESTAMP]
 *                 count:uvarint         ; 1 to the points still to read
 *                 point * count         ; all at the group's time
 *    point      = head:uvarint          ; metricIndex * 8 + kind; metricIndex < metricCount
 *                 payload               ; by kind:
 *      kind 0  DELTA    svarint d. The metric's mantissa m becomes m + d (m starts at 0 for
 *                       every metric; |m| stays below 2^51); the value is m / 10^scale.
 *      kind 1  FLOAT64  f64, the value as is. The mantissa is unchanged.
 *      kind 2  FALSE    no payload.
 *      kind 3  TRUE     no payload.
 *      kind 4  STRING   byteLength:uvarint, then that many bytes of UTF-8 (well-formed).
 *      kind 5-7         reserved: a decoder MUST reject them.
 *
 * 4. Encoder choices (any encoder following section 3 is valid; these make this one small)
 *
 *    A metric's scale is the largest number of decimals, up to maxDecimals (default 6),
 *    that one of its values needs to be exact: the smallest s with m = round(v * 10^s) and
 *    m / 10^s === v (division by an exact power of ten is correctly rounded, so this holds
 *    for every value written as a short decimal: 21.5, 0.001, 1013.25). A value that is not
 *    exact at the metric's scale, or whose mantissa would reach 2^51, goes as FLOAT64.
 *
 * 5. Example
 *
 *    [{ metric: 'temp', ts: 1714564800000, value: 21.5 },
 *     { metric: 'door', ts: 1714564800000, value: true },
 *     { metric: 'temp', ts: 1714564801000, value: 21.6 }]
 *
 *    01 80 bc 9a a0 f3 31 02          version, baseTime, 2 metrics
 *    04 74 65 6d 70 01                "temp", scale 1
 *    04 64 6f 6f 72 00                "door", scale 0
 *    03                               3 points
 *    00 02 00 ae 03 0b                group +0 ms, 2 points: temp d=+215, door TRUE
 *    d0 0f 01 00 02                   group +1000 ms, 1 point: temp d=+1 (21.6)
 */
import { ByteReader, ByteWriter } from './bytes.js'
import { invalid, show, tooLarge, unsupported } from './errors.js'
import {
  checkMetric,
  checkPointCount,
  checkSize,
  checkString,
  checkTimestamp,
  decodeUtf8,
  resolveLimits,
  type TelemetryLimits,
  type TelemetryPoint,
} from './model.js'

export const BATCH_VERSION = 1

const MAX_SCALE = 15
/** Mantissas stay below 2^51 in magnitude, so a delta's zigzag stays below 2^53. */
const MAX_MANTISSA = 2 ** 51 - 1
const POW10: readonly number[] = Array.from({ length: MAX_SCALE + 1 }, (_, i) => 10 ** i)

const Kind = { Delta: 0, Float64: 1, False: 2, True: 3, String: 4 } as const

export interface EncodeBatchOptions {
  /** Most decimals a metric's values are scaled by to be sent as integer deltas, 0 to 15. Default 6. */
  maxDecimals?: number
  /** The limits of the decoder that will read the batch; the encoder refuses what it would. Default DEFAULT_TELEMETRY_LIMITS. */
  limits?: Partial<TelemetryLimits>
}

export interface DecodeBatchOptions {
  /** Default DEFAULT_TELEMETRY_LIMITS. */
  limits?: Partial<TelemetryLimits>
}

/** The mantissa of `v` at `scale`, or undefined when it is not exact there (or too large). */
function mantissa(v: number, scale: number): number | undefined {
  const p = POW10[scale] as number
  const m = Math.round(v * p) + 0 // + 0 turns -0 into 0, so -0 itself never passes the check
  return Math.abs(m) <= MAX_MANTISSA && Object.is(m / p, v) ? m : undefined
}

const utf8 = new TextEncoder()

/**
 * Encodes points as a batch (layout above). Throws TelemetryFormatError for a point the
 * format or the limits cannot carry (the message names its index).
 */
export function encodeBatch(points: readonly TelemetryPoint[], options: EncodeBatchOptions = {}): Uint8Array {
  const limits = resolveLimits(options.limits)
  const maxDecimals = options.maxDecimals ?? 6
  if (!Number.isInteger(maxDecimals) || maxDecimals < 0 || maxDecimals > MAX_SCALE) {
    throw new RangeError(`maxDecimals must be an integer from 0 to ${MAX_SCALE}`)
  }
  checkPointCount(points.length, 'batch encode', limits)

  // Pass 1: check the points, build the dictionary and each metric's scale.
  const index = new Map<string, number>()
  const names: string[] = []
  const scales: number[] = []
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as TelemetryPoint
    const where = `batch encode: point ${i}`
    let idx = index.get(p.metric)
    if (idx === undefined) {
      if (typeof p.metric !== 'string')
        throw invalid(`${where}: metric must be a string, got ${show(p.metric)}`)
      checkMetric(p.metric, where)
      idx = names.length
      index.set(p.metric, idx)
      names.push(p.metric)
      scales.push(0)
    }
    checkTimestamp(p.ts, where)
    const v = p.value
    if (typeof v === 'number') {
      const current = scales[idx] as number
      if (mantissa(v, current) === undefined) {
        for (let s = current + 1; s <= maxDecimals; s++) {
          if (mantissa(v, s) !== undefined) {
            scales[idx] = s
            break
          }
        }
      }
    } else if (typeof v === 'string') {
      checkString(v, where, limits)
    } else if (typeof v !== 'boolean') {
      throw invalid(`${where}: value must be a number, boolean or string, got ${show(v)}`)
    }
  }

  // Pass 2: write.
  const w = new ByteWriter(16 + names.length * 16 + points.length * 3)
  const baseTime = points.length > 0 ? (points[0] as TelemetryPoint).ts : 0
  w.u8(BATCH_VERSION)
  w.uvarint(baseTime)
  w.uvarint(names.length)
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string
    w.uvarint(name.length)
    for (let c = 0; c < name.length; c++) w.u8(name.charCodeAt(c)) // ASCII: METRIC_PATTERN
    w.u8(scales[i] as number)
  }
  w.uvarint(points.length)
  const prev = new Array<number>(names.length).fill(0)
  let prevTs = baseTime
  let i = 0
  while (i < points.length) {
    const ts = (points[i] as TelemetryPoint).ts
    let end = i + 1
    while (end < points.length && (points[end] as TelemetryPoint).ts === ts) end++
    w.svarint(ts - prevTs)
    w.uvarint(end - i)
    prevTs = ts
    for (; i < end; i++) {
      const p = points[i] as TelemetryPoint
      const idx = index.get(p.metric) as number
      const v = p.value
      if (typeof v === 'number') {
        const m = mantissa(v, scales[idx] as number)
        if (m === undefined) {
          w.uvarint(idx * 8 + Kind.Float64)
          w.f64(v)
        } else {
          w.uvarint(idx * 8 + Kind.Delta)
          w.svarint(m - (prev[idx] as number))
          prev[idx] = m
        }
      } else if (typeof v === 'boolean') {
        w.uvarint(idx * 8 + (v ? Kind.True : Kind.False))
      } else {
        const bytes = utf8.encode(v)
        w.uvarint(idx * 8 + Kind.String)
        w.uvarint(bytes.length)
        w.bytes(bytes)
      }
    }
  }
  if (w.pos > limits.maxBytes) {
    throw tooLarge(`batch encode: ${w.pos} bytes is over the limit of ${limits.maxBytes}; send fewer points`)
  }
  return w.finish()
}

const F = 'batch'

/** Decodes a batch (layout above): all points, or a TelemetryFormatError. */
export function decodeBatch(bytes: Uint8Array, options: DecodeBatchOptions = {}): TelemetryPoint[] {
  return decodeBatchWith(bytes, resolveLimits(options.limits))
}

export function decodeBatchWith(bytes: Uint8Array, limits: Readonly<TelemetryLimits>): TelemetryPoint[] {
  checkSize(bytes, F, limits)
  const r = new ByteReader(bytes, F)
  const version = r.u8('the version')
  if (version !== BATCH_VERSION) {
    throw unsupported(`${F}: version ${version} is not supported (this decoder reads ${BATCH_VERSION})`)
  }
  const baseTime = checkTimestamp(r.uvarint('the base time'), `${F}: base time`)

  const metricCount = r.uvarint('the metric count')
  // Each entry takes at least 3 bytes: check before allocating.
  if (metricCount > r.remaining / 3) throw invalid(`${F}: ${metricCount} metrics cannot fit in the batch`)
  const names: string[] = new Array(metricCount)
  const scales: number[] = new Array(metricCount)
  const seen = new Set<string>()
  for (let i = 0; i < metricCount; i++) {
    const where = `${F}: metric ${i}`
    const len = r.uvarint(`the length of metric ${i}`)
    if (len < 1 || len > 128) throw invalid(`${where}: name length ${len} is not 1 to 128`)
    const name = checkMetric(decodeUtf8(r.bytes(len, `the name of metric ${i}`), where), where)
    if (seen.has(name)) throw invalid(`${where}: "${name}" is in the dictionary twice`)
    seen.add(name)
    names[i] = name
    const scale = r.u8(`the scale of metric ${i}`)
    if (scale > MAX_SCALE) throw invalid(`${where}: scale ${scale} is over ${MAX_SCALE}`)
    scales[i] = scale
  }

  const pointCount = r.uvarint('the point count')
  checkPointCount(pointCount, F, limits)
  if (pointCount > r.remaining) throw invalid(`${F}: ${pointCount} points cannot fit in the batch`)
  const out: TelemetryPoint[] = new Array(pointCount)
  const prev = new Array<number>(metricCount).fill(0)
  let ts = baseTime
  let n = 0
  while (n < pointCount) {
    ts = checkTimestamp(ts + r.svarint(`the time of the group at point ${n}`), `${F}: group at point ${n}`)
    const count = r.uvarint(`the size of the group at point ${n}`)
    if (count < 1 || count > pointCount - n) {
      throw invalid(`${F}: group at point ${n} has ${count} points; 1 to ${pointCount - n} remain`)
    }
    for (const end = n + count; n < end; n++) {
      const head = r.uvarint(`point ${n}`)
      const kind = head % 8
      const idx = (head - kind) / 8
      if (idx >= metricCount)
        throw invalid(`${F}: point ${n} refers to metric ${idx}; the dictionary has ${metricCount}`)
      const metric = names[idx] as string
      let value: number | boolean | string
      switch (kind) {
        case Kind.Delta: {
          const m = (prev[idx] as number) + r.svarint(`the value of point ${n}`)
          if (Math.abs(m) > MAX_MANTISSA) throw invalid(`${F}: point ${n}: mantissa reaches 2^51`)
          prev[idx] = m
          value = m / (POW10[scales[idx] as number] as number)
          break
        }
        case Kind.Float64:
          value = r.f64(`the value of point ${n}`)
          break
        case Kind.False:
          value = false
          break
        case Kind.True:
          value = true
          break
        case Kind.String: {
          const len = r.uvarint(`the string length of point ${n}`)
          // A UTF-16 code unit takes at most 3 bytes of UTF-8.
          if (len > limits.maxStringLength * 3) {
            throw tooLarge(`${F}: point ${n}: string of ${len} bytes is over the limit`)
          }
          const where = `${F}: point ${n}`
          value = checkString(
            decodeUtf8(r.bytes(len, `the string of point ${n}`), where, true),
            where,
            limits,
          )
          break
        }
        default:
          throw invalid(`${F}: point ${n} has reserved value kind ${kind}`)
      }
      out[n] = { metric, ts, value }
    }
  }
  if (r.remaining !== 0) throw invalid(`${F}: ${r.remaining} bytes after the last point`)
  return out
}
