/**
 * SenML CBOR [RFC8428 section 6]: an array of maps whose keys are the integer labels of
 * Table 4. Text keys with the JSON names are accepted too, because encoding a JSON-shaped
 * record with a generic CBOR library (cbor-x's `encode({ n, v })`) produces them; a field
 * given both ways is an error. Decoding is cbor-x's, with maps kept as Map (its object
 * mode renames `__proto__` keys and stringifies integer ones); whatever it returns is then
 * checked field by field, so tags, dates, byte strings and nested items fail as wrong types.
 */
import { Decoder } from 'cbor-x'
import { invalid, show } from './errors.js'
import { checkPointCount, checkSize, type TelemetryLimits, type TelemetryPoint } from './model.js'
import { resolvePack, type SenmlRecord, setField } from './senml.js'

/** [RFC8428 Table 4]. */
const LABELS: ReadonlyMap<number, string> = new Map([
  [-1, 'bver'],
  [-2, 'bn'],
  [-3, 'bt'],
  [-4, 'bu'],
  [-5, 'bv'],
  [-6, 'bs'],
  [0, 'n'],
  [1, 'u'],
  [2, 'v'],
  [3, 'vs'],
  [4, 'vb'],
  [5, 's'],
  [6, 't'],
  [7, 'ut'],
  [8, 'vd'],
])

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false })

const F = 'senml+cbor'

export function decodeSenmlCbor(
  payload: Uint8Array,
  receivedAt: number,
  limits: Readonly<TelemetryLimits>,
): TelemetryPoint[] {
  checkSize(payload, F, limits)
  let doc: unknown
  try {
    // cbor-x caches a DataView on its source object; decode a fresh view, not the caller's.
    doc = decoder.decode(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength))
  } catch (cause) {
    // cbor-x recurses: nesting deep enough to exhaust the stack ends in a RangeError, and it
    // resets its state before rethrowing. SenML needs two levels.
    if (cause instanceof RangeError && /call stack/.test(cause.message)) {
      throw invalid(`${F}: CBOR nested too deeply for a SenML pack`, cause)
    }
    throw invalid(
      `${F}: not well-formed CBOR (${cause instanceof Error ? cause.message : String(cause)})`,
      cause,
    )
  }
  if (!Array.isArray(doc)) throw invalid(`${F}: a pack must be an array of records, got ${show(doc)}`)
  checkPointCount(doc.length, F, limits)
  const records: SenmlRecord[] = new Array(doc.length)
  for (let i = 0; i < doc.length; i++) {
    const item: unknown = doc[i]
    const where = `${F}: record ${i}`
    if (!(item instanceof Map)) throw invalid(`${where}: must be a map, got ${show(item)}`)
    const rec: SenmlRecord = {}
    for (const [key, value] of item as Map<unknown, unknown>) {
      let label: string | undefined
      if (typeof key === 'number') label = LABELS.get(key)
      else if (typeof key === 'string') label = key
      else throw invalid(`${where}: keys must be integer labels or text, got ${show(key)}`)
      if (label === undefined) continue
      // JSON.parse keeps one of repeated keys; a CBOR map can name a field twice (2 and "v").
      if (Object.hasOwn(rec, label)) throw invalid(`${where}: field "${label}" is given twice`)
      setField(rec, label, value, where, limits)
    }
    records[i] = rec
  }
  return resolvePack(records, F, receivedAt, limits)
}
