/** formatOf's table, decodeTelemetry's dispatch, and the error catalogue. */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { describe, test } from 'node:test'
import {
  decodeTelemetry,
  formatOf,
  TELEMETRY_ERROR_CODES,
  TELEMETRY_FORMATS,
  type TelemetryFormat,
} from '../../src/index.js'
import { assertRejects, NOW, utf8 } from './helpers.js'

describe('formatOf', () => {
  const cases: [string | undefined, string | undefined, TelemetryFormat][] = [
    [undefined, undefined, 'json'],
    ['', '', 'json'],
    ['application/json', undefined, 'json'],
    ['application/json; charset=utf-8', undefined, 'json'],
    ['Application/SenML+JSON', undefined, 'senml+json'],
    ['application/senml+cbor', '', 'senml+cbor'],
    ['application/vnd.strata.batch', undefined, 'batch'],
    [undefined, '/senml', 'senml+json'],
    [undefined, 'senml-cbor', 'senml+cbor'],
    [undefined, '/batch', 'batch'],
    ['application/vnd.strata.batch', '/batch', 'batch'],
    ['application/senml+json', undefined, 'senml+json'],
  ]
  for (const [contentType, suffix, format] of cases) {
    test(`${String(contentType)} + ${String(suffix)} -> ${format}`, () => {
      assert.equal(formatOf(contentType, suffix), format)
    })
  }

  test('every row of the table resolves both ways', () => {
    for (const f of TELEMETRY_FORMATS) {
      assert.equal(formatOf(f.contentType, undefined), f.format)
      assert.equal(formatOf(undefined, f.topicSuffix), f.format)
      assert.equal(formatOf(f.contentType, f.topicSuffix), f.format)
    }
  })

  test('unknown or disagreeing inputs are refused', () => {
    const U = 'STRATA_TELEMETRY_UNSUPPORTED'
    assertRejects(
      () => formatOf('text/plain', undefined),
      U,
      /content type "text\/plain" is not a telemetry format/,
    )
    assertRejects(() => formatOf(undefined, '/xml'), U, /topic suffix "\/xml" is not a telemetry format/)
    assertRejects(() => formatOf('application/senml+json', '/batch'), U, /name different formats/)
  })
})

describe('decodeTelemetry', () => {
  test('dispatches on the format', () => {
    assert.deepEqual(decodeTelemetry('json', utf8('{"a": 1}'), NOW), [{ metric: 'a', ts: NOW, value: 1 }])
    assert.deepEqual(decodeTelemetry('senml+json', utf8('[{"n": "a", "v": 1}]'), NOW), [
      { metric: 'a', ts: NOW, value: 1 },
    ])
  })

  test('an unknown format is refused; a bad receivedAt is a programming error', () => {
    assertRejects(
      () => decodeTelemetry('xml' as TelemetryFormat, utf8('<a/>'), NOW),
      'STRATA_TELEMETRY_UNSUPPORTED',
      /"xml" is not a telemetry format/,
    )
    assertRejects(
      () => decodeTelemetry('toString' as TelemetryFormat, utf8('{}'), NOW),
      'STRATA_TELEMETRY_UNSUPPORTED',
      /not a telemetry format/,
    )
    assert.throws(() => decodeTelemetry('json', utf8('{"a": 1}'), 1.5), RangeError)
    assert.throws(
      () => decodeTelemetry('json', utf8('{"a": 1}'), NOW, { limits: { maxPoints: 0 } }),
      RangeError,
    )
  })
})

test('the error catalogue lists exactly the codes the telemetry code uses', async () => {
  const dir = new URL('../../src/telemetry/', import.meta.url)
  const used = new Set<string>()
  for (const name of await readdir(dir)) {
    const text = await readFile(new URL(name, dir), 'utf8')
    for (const m of text.matchAll(/'(STRATA_TELEMETRY_[A-Z_]+)'/g)) used.add(m[1] as string)
  }
  assert.deepEqual([...used].sort(), [...TELEMETRY_ERROR_CODES].sort())
})
