/**
 * SenML JSON and CBOR: the examples of RFC 8428 section 5 decoded to the expected points,
 * and the same packs in CBOR as cbor-x encodes them (integer labels, and JSON-style text keys).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { encode } from 'cbor-x'
import { decodeTelemetry, senmlNameToMetric, type TelemetryPoint } from '../../src/index.js'
import { assertRejects, NOW, utf8 } from './helpers.js'

const senmlJson = (pack: unknown): TelemetryPoint[] =>
  decodeTelemetry('senml+json', utf8(JSON.stringify(pack)), NOW)

/** [RFC8428 Table 4] */
const LABEL: Record<string, number> = {
  bver: -1,
  bn: -2,
  bt: -3,
  bu: -4,
  bv: -5,
  bs: -6,
  n: 0,
  u: 1,
  v: 2,
  vs: 3,
  vb: 4,
  s: 5,
  t: 6,
  ut: 7,
  vd: 8,
}
/** The pack as RFC 8428 section 6 CBOR: maps with integer labels. */
const toCborLabels = (pack: Record<string, unknown>[]): Uint8Array =>
  encode(pack.map((r) => new Map(Object.entries(r).map(([k, v]) => [LABEL[k] ?? k, v]))))
const senmlCbor = (bytes: Uint8Array): TelemetryPoint[] => decodeTelemetry('senml+cbor', bytes, NOW)

const URN = 'urn.dev.ow.10e2073a01080063'

/** RFC 8428 section 5.1 examples (by title), each with the points Strata decodes it to. */
const examples: { section: string; pack: Record<string, unknown>[]; points: TelemetryPoint[] }[] = [
  {
    section: 'single datapoint',
    pack: [{ n: 'urn:dev:ow:10e2073a01080063', u: 'Cel', v: 23.1 }],
    points: [{ metric: URN, ts: NOW, value: 23.1, unit: 'Cel' }],
  },
  {
    section: 'multiple datapoints',
    pack: [
      { bn: 'urn:dev:ow:10e2073a01080063:', n: 'voltage', u: 'V', v: 120.1 },
      { n: 'current', u: 'A', v: 1.2 },
    ],
    points: [
      { metric: `${URN}.voltage`, ts: NOW, value: 120.1, unit: 'V' },
      { metric: `${URN}.current`, ts: NOW, value: 1.2, unit: 'A' },
    ],
  },
  {
    section: 'multiple datapoints with times (relative t against bt; bu)',
    pack: [
      {
        bn: 'urn:dev:ow:10e2073a01080063:',
        bt: 1.276020076001e9,
        bu: 'A',
        bver: 5,
        n: 'voltage',
        u: 'V',
        v: 120.1,
      },
      { n: 'current', t: -5, v: 1.2 },
      { n: 'current', t: -4, v: 1.3 },
      { n: 'current', t: -3, v: 1.4 },
      { n: 'current', t: -2, v: 1.5 },
      { n: 'current', t: -1, v: 1.6 },
      { n: 'current', v: 1.7 },
    ],
    points: [
      { metric: `${URN}.voltage`, ts: 1_276_020_076_001, value: 120.1, unit: 'V' },
      ...[1.2, 1.3, 1.4, 1.5, 1.6, 1.7].map((value, i) => ({
        metric: `${URN}.current`,
        ts: 1_276_020_071_001 + i * 1000,
        value,
        unit: 'A',
      })),
    ],
  },
  {
    section: 'multiple data types, without the vd record (see the refusal test)',
    pack: [
      { bn: 'urn:dev:ow:10e2073a01080063:', n: 'temp', u: 'Cel', v: 23.1 },
      { n: 'label', vs: 'Machine Room' },
      { n: 'open', vb: false },
    ],
    points: [
      { metric: `${URN}.temp`, ts: NOW, value: 23.1, unit: 'Cel' },
      { metric: `${URN}.label`, ts: NOW, value: 'Machine Room' },
      { metric: `${URN}.open`, ts: NOW, value: false },
    ],
  },
  {
    section: 'collection of resources (bn changes, bt stays)',
    pack: [
      { bn: '2001:db8::2/', bt: 1.320078429e9, n: 'temperature', u: 'Cel', v: 25.2 },
      { n: 'humidity', u: '%RH', v: 30 },
      { bn: '2001:db8::1/', n: 'temperature', u: 'Cel', v: 12.3 },
      { n: 'humidity', u: '%RH', v: 67 },
    ],
    points: [
      { metric: '_2001.db8..2.temperature', ts: 1_320_078_429_000, value: 25.2, unit: 'Cel' },
      { metric: '_2001.db8..2.humidity', ts: 1_320_078_429_000, value: 30, unit: '%RH' },
      { metric: '_2001.db8..1.temperature', ts: 1_320_078_429_000, value: 12.3, unit: 'Cel' },
      { metric: '_2001.db8..1.humidity', ts: 1_320_078_429_000, value: 67, unit: '%RH' },
    ],
  },
  {
    section: 'setting an actuator (a base-only record)',
    pack: [
      { bn: 'urn:dev:ow:10e2073a01080063:' },
      { n: 'temp', u: 'Cel', v: 23.1 },
      { n: 'heat', u: '/', v: 1 },
      { n: 'fan', u: '/', v: 0 },
    ],
    points: [
      { metric: `${URN}.temp`, ts: NOW, value: 23.1, unit: 'Cel' },
      { metric: `${URN}.heat`, ts: NOW, value: 1, unit: '/' },
      { metric: `${URN}.fan`, ts: NOW, value: 0, unit: '/' },
    ],
  },
  {
    section: 'lights on at a set time',
    pack: [
      { bt: 1.320078429e9, bu: '/', n: '2001:db8::3', v: 1 },
      { n: '2001:db8::4', v: 1 },
    ],
    points: [
      { metric: '_2001.db8..3', ts: 1_320_078_429_000, value: 1, unit: '/' },
      { metric: '_2001.db8..4', ts: 1_320_078_429_000, value: 1, unit: '/' },
    ],
  },
  {
    section: 'synchronized lights off (fractional t)',
    pack: [
      { bt: 1.320078429e9, bu: '/', n: '2001:db8::3', v: 0.5 },
      { n: '2001:db8::4', v: 0.5 },
      { n: '2001:db8::3', t: 0.1, v: 0 },
      { n: '2001:db8::4', t: 0.1, v: 0 },
    ],
    points: [
      { metric: '_2001.db8..3', ts: 1_320_078_429_000, value: 0.5, unit: '/' },
      { metric: '_2001.db8..4', ts: 1_320_078_429_000, value: 0.5, unit: '/' },
      { metric: '_2001.db8..3', ts: 1_320_078_429_100, value: 0, unit: '/' },
      { metric: '_2001.db8..4', ts: 1_320_078_429_100, value: 0, unit: '/' },
    ],
  },
]

describe('senml: RFC 8428 section 5 examples', () => {
  for (const { section, pack, points } of examples) {
    test(`${section}: JSON`, () => assert.deepEqual(senmlJson(pack), points))
    test(`${section}: CBOR, integer labels`, () => assert.deepEqual(senmlCbor(toCborLabels(pack)), points))
    test(`${section}: CBOR, text keys (cbor-x encode of the JSON objects)`, () =>
      assert.deepEqual(senmlCbor(encode(pack)), points))
  }

  test('multiple data types with its vd record is refused as a whole: no partial result', () => {
    const pack = [
      { bn: 'urn:dev:ow:10e2073a01080063:', n: 'temp', u: 'Cel', v: 23.1 },
      { n: 'nfc-reader', vd: 'aGkgCg' },
    ]
    assertRejects(() => senmlJson(pack), 'STRATA_TELEMETRY_UNSUPPORTED', /record 1: data values \(vd\)/)
    const cbor = encode([
      new Map<number, unknown>([
        [0, 'nfc-reader'],
        [8, new Uint8Array([0x68, 0x69])],
      ]),
    ])
    assertRejects(() => senmlCbor(cbor), 'STRATA_TELEMETRY_UNSUPPORTED', /record 0: data values \(vd\)/)
  })

  test('multiple measurements (one name, told apart by unit) is refused: Strata keys series by name', () => {
    const pack = [
      { bn: 'urn:dev:ow:10e2073a01080063', bt: 1.320067464e9, bu: '%RH', v: 20 },
      { u: 'lon', v: 24.30621 },
      { u: 'lat', v: 60.07965 },
    ]
    assertRejects(
      () => senmlJson(pack),
      'STRATA_TELEMETRY_INVALID',
      /record 1: metric "urn\.dev\.ow\.10e2073a01080063" has unit "lon" here and "%RH" in record 0/,
    )
  })
})

describe('senml: rules', () => {
  test('relative times [RFC8428 4.5.3]: bt + t below 2^28 is seconds from receivedAt', () => {
    const pts = senmlJson([
      { n: 'a', v: 1, t: -60 },
      { n: 'a', v: 2, t: 0 },
      { n: 'a', v: 3, t: 2 ** 28 - 1 },
      { n: 'a', v: 4, t: 2 ** 28 },
      { bt: 100, n: 'a', v: 5, t: 0.0015 },
    ])
    assert.deepEqual(
      pts.map((p) => p.ts),
      [NOW - 60_000, NOW, NOW + (2 ** 28 - 1) * 1000, 2 ** 28 * 1000, NOW + 100_002],
    )
  })

  test('bv is added to v and not to vs or vb; bver up to 10; unknown fields are ignored', () => {
    assert.deepEqual(
      senmlJson([
        { bver: 10, bv: 100, n: 'a', v: 0.5, x: 'ignored' },
        { n: 'b', vs: 's' },
        { n: 'c', vb: true },
      ]),
      [
        { metric: 'a', ts: NOW, value: 100.5 },
        { metric: 'b', ts: NOW, value: 's' },
        { metric: 'c', ts: NOW, value: true },
      ],
    )
  })

  test('CBOR: integer values over 32 bits (bigint from cbor-x) within 2^53 are read exactly', () => {
    const bytes = encode([
      new Map<number, unknown>([
        [0, 'big'],
        [2, 2n ** 52n + 1n],
      ]),
    ])
    assert.deepEqual(senmlCbor(bytes), [{ metric: 'big', ts: NOW, value: 2 ** 52 + 1 }])
  })

  test('name mapping', () => {
    assert.equal(
      senmlNameToMetric('urn:dev:mac:0024befffe804ff1:temp-1'),
      'urn.dev.mac.0024befffe804ff1.temp_1',
    )
    assert.equal(senmlNameToMetric('3303/0/5700'), '_3303.0.5700')
    assert.equal(senmlNameToMetric('temperature'), 'temperature')
  })
})
