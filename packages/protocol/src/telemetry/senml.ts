/**
 * SenML, RFC 8428 (https://www.rfc-editor.org/rfc/rfc8428): the records of a pack, read
 * from JSON here and from CBOR in senml-cbor.ts, are resolved the same way (section 4.6).
 *
 * Choices where the RFC leaves Strata room, or where Strata's model is narrower:
 * - Names: the resolved name (bn + n) must use the SenML characters [RFC8428 4.5.1] and is
 *   then mapped to a metric name: ':' and '/' become '.', '-' becomes '_', and a leading
 *   digit gets a '_' in front ("urn:dev:ow:10e2073a01080063:temp" is metric
 *   "urn.dev.ow.10e2073a01080063.temp"). The result must pass checkMetric (128 characters).
 * - Times are seconds (float); a resolved time below 2^28 is relative to now, which is the
 *   caller's receivedAt [RFC8428 4.5.3]. Converted to integer ms (rounded).
 * - Values: v (plus bv), vs and vb. Data values (vd) and sums (s, bs) are refused with
 *   STRATA_TELEMETRY_UNSUPPORTED: the model has no bytes and no integrated sums, and
 *   dropping them silently would lose data.
 * - Units: u, or the pack's bu, is carried on the point. One metric with two units in one
 *   pack is refused (the RFC's "multiple measurements" example tells latitude from
 *   humidity by unit alone): Strata keys series by name, and one name would mix them.
 * - bver above 10 is refused [RFC8428 4.4]; unknown fields ending in '_' are refused as
 *   must-understand [RFC8428 4.4]; other unknown fields are ignored.
 * - A record with only base fields (the first of the RFC's actuator example) yields no point; a record
 *   with a name or time but no value is an error.
 */
import { invalid, show, unsupported } from './errors.js'
import {
  checkMetric,
  checkPointCount,
  checkString,
  checkTimestamp,
  parseJsonPayload,
  type TelemetryLimits,
  type TelemetryPoint,
} from './model.js'

/** The fields of one record that Strata reads; all optional. */
export interface SenmlRecord {
  bn?: string
  bt?: number
  bu?: string
  bv?: number
  bver?: number
  n?: string
  u?: string
  v?: number
  vs?: string
  vb?: boolean
  t?: number
  ut?: number
}

/** The SenML version this decoder understands [RFC8428 4.4]. */
export const SENML_VERSION = 10

/** Times below 2^28 seconds are relative to now [RFC8428 4.5.3]. */
const RELATIVE_BELOW = 2 ** 28

/** [RFC8428 4.5.1]: A-Z a-z 0-9 and - : . / _, starting with a letter or digit. */
const SENML_NAME = /^[A-Za-z0-9][-:./_A-Za-z0-9]*$/

/** The mapping from a resolved SenML name to a Strata metric name (see the module comment). */
export function senmlNameToMetric(name: string): string {
  const mapped = name.replace(/[:/]/g, '.').replace(/-/g, '_')
  return mapped.charCodeAt(0) <= 0x39 ? `_${mapped}` : mapped
}

function number(value: unknown, where: string, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  // CBOR integers over 32 bits come back from cbor-x as bigint.
  if (typeof value === 'bigint' && value >= -(2n ** 53n) + 1n && value <= 2n ** 53n - 1n) return Number(value)
  throw invalid(`${where}, field "${field}": must be a finite number, got ${show(value)}`)
}

function text(value: unknown, where: string, field: string, limits: Readonly<TelemetryLimits>): string {
  if (typeof value !== 'string')
    throw invalid(`${where}, field "${field}": must be a string, got ${show(value)}`)
  return checkString(value, `${where}, field "${field}"`, limits)
}

/**
 * Sets one field of `rec` from a decoded value. `label` is the JSON name; senml-cbor.ts
 * maps the integer labels to these names first. Unknown labels are ignored unless they
 * end in '_'.
 */
export function setField(
  rec: SenmlRecord,
  label: string,
  value: unknown,
  where: string,
  limits: Readonly<TelemetryLimits>,
): void {
  switch (label) {
    case 'bn':
    case 'n':
      // Checked against SENML_NAME when resolved, which also excludes lone surrogates.
      if (typeof value !== 'string')
        throw invalid(`${where}, field "${label}": must be a string, got ${show(value)}`)
      rec[label] = value
      return
    case 'bu':
    case 'u':
    case 'vs':
      rec[label] = text(value, where, label, limits)
      return
    case 'bt':
    case 't':
    case 'bv':
    case 'v':
    case 'ut':
      rec[label] = number(value, where, label)
      return
    case 'vb':
      if (typeof value !== 'boolean')
        throw invalid(`${where}, field "vb": must be a boolean, got ${show(value)}`)
      rec.vb = value
      return
    case 'bver': {
      const v = number(value, where, label)
      if (!Number.isInteger(v) || v < 1) throw invalid(`${where}, field "bver": must be a positive integer`)
      if (v > SENML_VERSION) {
        throw unsupported(`${where}: SenML version ${v} is newer than ${SENML_VERSION}, the one Strata reads`)
      }
      rec.bver = v
      return
    }
    case 'vd':
      throw unsupported(`${where}: data values (vd) are not supported; send text as vs`)
    case 's':
    case 'bs':
      throw unsupported(`${where}: sums (${label}) are not supported; send the value as v`)
    default:
      if (label.endsWith('_'))
        throw unsupported(`${where}: must-understand field "${label}" is not supported`)
  }
}

/** Resolves a pack's records into points [RFC8428 4.6]. */
export function resolvePack(
  records: readonly SenmlRecord[],
  format: string,
  receivedAt: number,
  limits: Readonly<TelemetryLimits>,
): TelemetryPoint[] {
  const out: TelemetryPoint[] = []
  const metrics = new Map<string, string>() // resolved SenML name -> metric (validated)
  const units = new Map<string, { unit: string; index: number }>()
  let bn = ''
  let bt = 0
  let bu: string | undefined
  let bv = 0
  for (let i = 0; i < records.length; i++) {
    const rec = records[i] as SenmlRecord
    const where = `${format}: record ${i}`
    if (rec.bn !== undefined) bn = rec.bn
    if (rec.bt !== undefined) bt = rec.bt
    if (rec.bu !== undefined) bu = rec.bu
    if (rec.bv !== undefined) bv = rec.bv
    const values =
      (rec.v !== undefined ? 1 : 0) + (rec.vs !== undefined ? 1 : 0) + (rec.vb !== undefined ? 1 : 0)
    if (values > 1) throw invalid(`${where}: more than one of v, vs and vb`)
    if (values === 0) {
      if (rec.n !== undefined || rec.u !== undefined || rec.t !== undefined || rec.ut !== undefined) {
        throw invalid(`${where}: no value (v, vs or vb)`)
      }
      continue // base fields only
    }

    const name = bn + (rec.n ?? '')
    let metric = metrics.get(name)
    if (metric === undefined) {
      if (name === '') throw invalid(`${where}: no name (n, or bn in this or an earlier record)`)
      if (!SENML_NAME.test(name)) {
        throw invalid(
          `${where}: name ${show(name)} has characters SenML does not allow (A-Z a-z 0-9 - : . / _)`,
        )
      }
      metric = checkMetric(senmlNameToMetric(name), where)
      metrics.set(name, metric)
    }

    const seconds = bt + (rec.t ?? 0)
    const ms = Math.round(seconds * 1000)
    const ts = checkTimestamp(seconds < RELATIVE_BELOW ? receivedAt + ms : ms, `${where}, time`)

    let value: number | boolean | string
    if (rec.v !== undefined) {
      value = bv + rec.v
      if (!Number.isFinite(value)) throw invalid(`${where}: bv + v overflows to ${value}`)
    } else if (rec.vs !== undefined) {
      value = rec.vs
    } else {
      value = rec.vb as boolean
    }

    const unit = rec.u ?? bu
    const point: TelemetryPoint = { metric, ts, value }
    if (unit !== undefined) {
      const prior = units.get(metric)
      if (prior === undefined) units.set(metric, { unit, index: i })
      else if (prior.unit !== unit) {
        throw invalid(
          `${where}: metric "${metric}" has unit ${show(unit)} here and ${show(prior.unit)} in record ${prior.index}; ` +
            'give each quantity its own name',
        )
      }
      point.unit = unit
    }
    out.push(point)
    if (out.length > limits.maxPoints) checkPointCount(out.length, format, limits)
  }
  return out
}

const F = 'senml+json'

/** SenML JSON [RFC8428 section 5]: an array of record objects. */
export function decodeSenmlJson(
  payload: Uint8Array,
  receivedAt: number,
  limits: Readonly<TelemetryLimits>,
): TelemetryPoint[] {
  const doc = parseJsonPayload(payload, F, limits)
  if (!Array.isArray(doc)) throw invalid(`${F}: a pack must be an array of records, got ${show(doc)}`)
  checkPointCount(doc.length, F, limits)
  const records: SenmlRecord[] = new Array(doc.length)
  for (let i = 0; i < doc.length; i++) {
    const item: unknown = doc[i]
    const where = `${F}: record ${i}`
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw invalid(`${where}: must be an object, got ${show(item)}`)
    }
    const rec: SenmlRecord = {}
    const obj = item as Record<string, unknown>
    for (const key of Object.keys(obj)) setField(rec, key, obj[key], where, limits)
    records[i] = rec
  }
  return resolvePack(records, F, receivedAt, limits)
}
