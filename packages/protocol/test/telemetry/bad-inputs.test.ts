/**
 * A table of bad inputs per format: each gives a TelemetryFormatError with its code and a
 * message that names what is wrong and where.
 */
import { describe, test } from 'node:test'
import { encode } from 'cbor-x'
import {
  decodeTelemetry,
  encodeBatch,
  type TelemetryErrorCode,
  type TelemetryFormat,
  type TelemetryLimits,
} from '../../src/index.js'
import { assertRejects, NOW, utf8 } from './helpers.js'

interface Case {
  name: string
  payload: Uint8Array
  code: TelemetryErrorCode
  message: RegExp
  limits?: Partial<TelemetryLimits>
}
const INVALID = 'STRATA_TELEMETRY_INVALID'
const TOO_LARGE = 'STRATA_TELEMETRY_TOO_LARGE'
const UNSUPPORTED = 'STRATA_TELEMETRY_UNSUPPORTED'
const j = (
  name: string,
  text: string,
  code: TelemetryErrorCode,
  message: RegExp,
  limits?: Partial<TelemetryLimits>,
): Case =>
  limits === undefined
    ? { name, payload: utf8(text), code, message }
    : { name, payload: utf8(text), code, message, limits }
const c = (name: string, value: unknown, code: TelemetryErrorCode, message: RegExp): Case => ({
  name,
  payload: encode(value),
  code,
  message,
})
const m = (entries: [number | string, unknown][]): Map<number | string, unknown> => new Map(entries)
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'))

const json: Case[] = [
  {
    name: 'not UTF-8',
    payload: new Uint8Array([0x7b, 0xff, 0x7d]),
    code: INVALID,
    message: /^json: not valid UTF-8/,
  },
  j('not JSON', '{"a": 1,', INVALID, /^json: not JSON \(/),
  j('a number at the top', '42', INVALID, /^json: expected an object of metrics, got 42/),
  j(
    'a non-object in the array',
    '[{"a": 1}, 5]',
    INVALID,
    /^json: object 1: expected an object of metrics, got 5/,
  ),
  j('null value', '{"a": null}', INVALID, /^json, "a": null is not a value/),
  j('array value', '[{"a": 1}, {"b": [1, 2]}]', INVALID, /^json: object 1, "b": arrays are not values/),
  j('bad metric name', '{"1abc": 1}', INVALID, /^json: "1abc" is not a valid metric name/),
  j('metric name with a space', '{"a b": 1}', INVALID, /"a b" is not a valid metric name/),
  j('metric name of 129 characters', `{"${'a'.repeat(129)}": 1}`, INVALID, /is not a valid metric name/),
  j('__proto__', '{"__proto__": 1}', INVALID, /"__proto__" uses a reserved segment/),
  j(
    'constructor in a nested name',
    '{"x": {"constructor": 1}}',
    INVALID,
    /"x\.constructor" uses a reserved segment/,
  ),
  j(
    'ts of the wrong type',
    '{"ts": true, "a": 1}',
    INVALID,
    /^json, "ts": must be a number of ms or a date-time string, got true/,
  ),
  j(
    'fractional ts',
    '[{"ts": 1.5, "a": 1}]',
    INVALID,
    /^json: object 0, "ts": time 1.5 is not an integer number of ms/,
  ),
  j(
    'negative ts',
    '{"ts": -1, "a": 1}',
    INVALID,
    /time -1 is not an integer number of ms between 1970 and 9999/,
  ),
  j('ts past 9999', '{"ts": 253402300800000, "a": 1}', INVALID, /between 1970 and 9999/),
  j(
    'date-time without a zone',
    '{"ts": "2024-05-01T12:00:00", "a": 1}',
    INVALID,
    /is not an RFC 3339 date-time/,
  ),
  j('date-time, 30 February', '{"ts": "2024-02-30T00:00:00Z", "a": 1}', INVALID, /has a field out of range/),
  j('date-time, hour 24', '{"ts": "2024-02-01T24:00:00Z", "a": 1}', INVALID, /has a field out of range/),
  j('date-time before 1970', '{"ts": "1969-12-31T23:59:59Z", "a": 1}', INVALID, /between 1970 and 9999/),
  j('an empty object', '{}', INVALID, /^json: no metrics in the object/),
  j('only ts', '[{"a": 1}, {"ts": 5}]', INVALID, /^json: object 1: no metrics in the object/),
  j(
    'nesting past maxDepth',
    '{"a": {"b": {"c": {"d": {"e": 1}}}}}',
    TOO_LARGE,
    /"a\.b\.c\.d": objects nested deeper than 4 levels/,
  ),
  j('flattened name given twice', '{"a.b": 1, "a": {"b": 2}}', INVALID, /metric "a\.b" is given twice/),
  j(
    'string over maxStringLength',
    `{"s": "${'x'.repeat(4097)}"}`,
    TOO_LARGE,
    /"s": string of 4097 characters is over the limit of 4096/,
  ),
  j('lone surrogate', '{"s": "\\ud800"}', INVALID, /"s": string has a lone UTF-16 surrogate/),
  j(
    'more rows than maxPoints',
    `[${'{"a":1},'.repeat(10_000)}{"a":1}]`,
    TOO_LARGE,
    /^json: more than 10000 points/,
  ),
  j('over maxBytes', '{"a": 1}', TOO_LARGE, /^json: payload of 8 bytes is over the limit of 4/, {
    maxBytes: 4,
  }),
]

const senmlJson: Case[] = [
  j(
    'not an array',
    '{"n": "a", "v": 1}',
    INVALID,
    /^senml\+json: a pack must be an array of records, got an object/,
  ),
  j('not JSON', '[{"n": "a"', INVALID, /^senml\+json: not JSON/),
  j(
    'a record that is not an object',
    '[{"n": "a", "v": 1}, 1]',
    INVALID,
    /^senml\+json: record 1: must be an object, got 1/,
  ),
  j(
    'v as a string',
    '[{"n": "a", "v": "1"}]',
    INVALID,
    /^senml\+json: record 0, field "v": must be a finite number, got "1"/,
  ),
  j('vb as a number', '[{"n": "a", "vb": 1}]', INVALID, /record 0, field "vb": must be a boolean, got 1/),
  j('bn as a number', '[{"bn": 5, "v": 1}]', INVALID, /record 0, field "bn": must be a string/),
  j(
    'bt as a string',
    '[{"bt": "now", "n": "a", "v": 1}]',
    INVALID,
    /record 0, field "bt": must be a finite number/,
  ),
  j('two values', '[{"n": "a", "v": 1, "vb": true}]', INVALID, /record 0: more than one of v, vs and vb/),
  j(
    'name without a value',
    '[{"n": "a", "v": 1}, {"n": "b"}]',
    INVALID,
    /record 1: no value \(v, vs or vb\)/,
  ),
  j('value without a name', '[{"v": 1}]', INVALID, /record 0: no name/),
  j(
    'characters SenML does not allow',
    '[{"n": "a b", "v": 1}]',
    INVALID,
    /record 0: name "a b" has characters SenML does not allow/,
  ),
  j('a name starting with _', '[{"n": "_a", "v": 1}]', INVALID, /characters SenML does not allow/),
  j(
    'resolved name too long for a metric',
    `[{"bn": "${'a'.repeat(120)}:", "n": "${'b'.repeat(10)}", "v": 1}]`,
    INVALID,
    /is not a valid metric name/,
  ),
  j('vd', '[{"n": "a", "vd": "aGkgCg"}]', UNSUPPORTED, /record 0: data values \(vd\) are not supported/),
  j('s', '[{"n": "a", "s": 1}]', UNSUPPORTED, /record 0: sums \(s\) are not supported/),
  j('bs', '[{"bs": 1}, {"n": "a", "v": 1}]', UNSUPPORTED, /record 0: sums \(bs\) are not supported/),
  j(
    'bver 11',
    '[{"bver": 11, "n": "a", "v": 1}]',
    UNSUPPORTED,
    /record 0: SenML version 11 is newer than 10/,
  ),
  j('bver 1.5', '[{"bver": 1.5, "n": "a", "v": 1}]', INVALID, /field "bver": must be a positive integer/),
  j(
    'must-understand field',
    '[{"n": "a", "v": 1, "crit_": 1}]',
    UNSUPPORTED,
    /must-understand field "crit_"/,
  ),
  j(
    'two units for one metric',
    '[{"n": "a", "u": "Cel", "v": 1}, {"n": "a", "u": "K", "v": 2}]',
    INVALID,
    /record 1: metric "a" has unit "K" here and "Cel" in record 0/,
  ),
  j(
    'bv + v overflows',
    '[{"bv": 1e308, "n": "a", "v": 1e308}]',
    INVALID,
    /record 0: bv \+ v overflows to Infinity/,
  ),
  j(
    'time past 9999',
    '[{"bt": 1e15, "n": "a", "v": 1}]',
    INVALID,
    /record 0, time: time 1000000000000000000 is not/,
  ),
  j('relative time before 1970', '[{"t": -1e13, "n": "a", "v": 1}]', INVALID, /record 0, time/),
  j(
    'vs over maxStringLength',
    `[{"n": "a", "vs": "${'x'.repeat(4097)}"}]`,
    TOO_LARGE,
    /record 0, field "vs": string of 4097 characters/,
  ),
  j('more records than maxPoints', '[{"n":"a","v":1},{"n":"a","v":2}]', TOO_LARGE, /more than 1 points/, {
    maxPoints: 1,
  }),
]

const senmlCbor: Case[] = [
  {
    name: 'not CBOR (a break code)',
    payload: hex('ff'),
    code: INVALID,
    message: /^senml\+cbor: not well-formed CBOR/,
  },
  {
    name: 'truncated',
    payload: encode([
      m([
        [0, 'a'],
        [2, 1.5],
      ]),
    ]).subarray(0, 8),
    code: INVALID,
    message: /not well-formed CBOR \(Unexpected end/,
  },
  { name: 'trailing bytes', payload: hex('80 00'), code: INVALID, message: /not well-formed CBOR/ },
  {
    name: 'deep nesting',
    payload: new Uint8Array(200_000).fill(0x81),
    code: INVALID,
    message: /^senml\+cbor: CBOR nested too deeply for a SenML pack/,
  },
  c(
    'a map at the top',
    m([[0, 'a']]),
    INVALID,
    /^senml\+cbor: a pack must be an array of records, got a map/,
  ),
  c(
    'a record that is not a map',
    [
      m([
        [0, 'a'],
        [2, 1],
      ]),
      'x',
    ],
    INVALID,
    /^senml\+cbor: record 1: must be a map, got "x"/,
  ),
  c(
    'a boolean key',
    [
      m([
        [0, 'a'],
        [2, 1],
      ]),
      new Map([[true, 1]]),
    ],
    INVALID,
    /record 1: keys must be integer labels or text, got true/,
  ),
  c(
    'vd as a byte string',
    [
      m([
        [0, 'a'],
        [8, new Uint8Array([1, 2])],
      ]),
    ],
    UNSUPPORTED,
    /record 0: data values \(vd\)/,
  ),
  c(
    'v given as label 2 and as "v"',
    [
      m([
        [0, 'a'],
        [2, 1],
        ['v', 2],
      ]),
    ],
    INVALID,
    /record 0: field "v" is given twice/,
  ),
  c(
    'a date (tag 1) as t',
    [
      m([
        [0, 'a'],
        [2, 1],
        [6, new Date(0)],
      ]),
    ],
    INVALID,
    /record 0, field "t": must be a finite number, got a date/,
  ),
  c(
    'NaN as v',
    [
      m([
        [0, 'a'],
        [2, Number.NaN],
      ]),
    ],
    INVALID,
    /record 0, field "v": must be a finite number, got NaN/,
  ),
  c(
    'an integer past 2^53',
    [
      m([
        [0, 'a'],
        [2, 2n ** 60n],
      ]),
    ],
    INVALID,
    /field "v": must be a finite number, got 1152921504606846976/,
  ),
  c(
    'a byte string as n',
    [
      m([
        [0, new Uint8Array([0x61])],
        [2, 1],
      ]),
    ],
    INVALID,
    /field "n": must be a string, got a byte string/,
  ),
  c(
    'bver 11 (label -1)',
    [
      m([
        [-1, 11],
        [0, 'a'],
        [2, 1],
      ]),
    ],
    UNSUPPORTED,
    /SenML version 11/,
  ),
  c(
    'sum (label 5)',
    [
      m([
        [0, 'a'],
        [5, 1],
      ]),
    ],
    UNSUPPORTED,
    /sums \(s\)/,
  ),
]

/** The batch of the layout comment's example, to cut and change. */
const example = encodeBatch([
  { metric: 'temp', ts: 1714564800000, value: 21.5 },
  { metric: 'door', ts: 1714564800000, value: true },
  { metric: 'temp', ts: 1714564801000, value: 21.6 },
])
const withByte = (at: number, value: number): Uint8Array => {
  const b = Uint8Array.from(example)
  b[at] = value
  return b
}
const b = (
  name: string,
  payload: Uint8Array,
  code: TelemetryErrorCode,
  message: RegExp,
  limits?: Partial<TelemetryLimits>,
): Case =>
  limits === undefined ? { name, payload, code, message } : { name, payload, code, message, limits }
// A one-metric batch "a" (scale 0), one group at time 0, with the given point bytes.
const onePoint = (point: string): Uint8Array => hex(`01 00 01 01 61 00 01 00 01 ${point}`)

const batch: Case[] = [
  b('empty', new Uint8Array(0), INVALID, /^batch: ends inside the version at byte 0/),
  b('version 2', withByte(0, 2), UNSUPPORTED, /^batch: version 2 is not supported \(this decoder reads 1\)/),
  b(
    'dictionary beyond the bytes',
    example.subarray(0, 10),
    INVALID,
    /^batch: 2 metrics cannot fit in the batch/,
  ),
  b(
    'truncated in the dictionary',
    example.subarray(0, 16),
    INVALID,
    /^batch: ends inside the name of metric 1/,
  ),
  b(
    'truncated in a point',
    example.subarray(0, example.length - 1),
    INVALID,
    /^batch: ends inside the value of point 2/,
  ),
  b('a trailing byte', Uint8Array.from([...example, 0]), INVALID, /^batch: 1 bytes after the last point/),
  b(
    'non-minimal varint',
    hex('01 80 00'),
    INVALID,
    /^batch: the base time at byte 1 is not minimally encoded/,
  ),
  b(
    'varint over 8 bytes',
    hex('01 ff ff ff ff ff ff ff ff 01'),
    INVALID,
    /the base time at byte 1 is longer than 8 bytes/,
  ),
  b(
    'base time past 9999',
    hex('01 ff ff ff ff ff ff ff 0f'),
    INVALID,
    /^batch: base time: time .* is not an integer number of ms/,
  ),
  b('metric count beyond the bytes', hex('01 00 7f 00'), INVALID, /^batch: 127 metrics cannot fit/),
  b(
    'metric name invalid',
    hex('01 00 01 04 31 62 61 64 00 00'),
    INVALID,
    /^batch: metric 0: "1bad" is not a valid metric name/,
  ),
  b(
    'metric name length 0',
    hex('01 00 01 00 00 00 00'),
    INVALID,
    /^batch: metric 0: name length 0 is not 1 to 128/,
  ),
  b(
    'a metric twice',
    hex('01 00 02 01 61 00 01 61 00 00'),
    INVALID,
    /^batch: metric 1: "a" is in the dictionary twice/,
  ),
  b('scale 16', hex('01 00 01 01 61 10 00'), INVALID, /^batch: metric 0: scale 16 is over 15/),
  b('reserved kind 5', onePoint('05'), INVALID, /^batch: point 0 has reserved value kind 5/),
  b(
    'metric index out of range',
    onePoint('08 00'),
    INVALID,
    /^batch: point 0 refers to metric 1; the dictionary has 1/,
  ),
  b(
    'a group of 0 points',
    hex('01 00 01 01 61 00 01 00 00 02'),
    INVALID,
    /^batch: group at point 0 has 0 points/,
  ),
  b(
    'group larger than the rest',
    hex('01 00 01 01 61 00 01 00 02 02 02'),
    INVALID,
    /group at point 0 has 2 points; 1 to 1 remain/,
  ),
  b(
    'time before 1970',
    hex('01 00 01 01 61 00 01 01 01 02'),
    INVALID,
    /^batch: group at point 0: time -1 is not/,
  ),
  b(
    'more points than maxPoints',
    hex('01 00 01 01 61 00 02 00 02 02 02'),
    TOO_LARGE,
    /^batch: more than 1 points/,
    { maxPoints: 1 },
  ),
  b(
    'point count beyond the bytes',
    hex('01 00 01 01 61 00 05 00 01 02'),
    INVALID,
    /^batch: 5 points cannot fit/,
  ),
  b(
    'string over the limit',
    onePoint('04 05 68 65 6c 6c 6f'),
    TOO_LARGE,
    /^batch: point 0: string of 5 bytes is over the limit/,
    { maxStringLength: 1 },
  ),
  b('string not UTF-8', onePoint('04 02 c3 28'), INVALID, /^batch: point 0: not valid UTF-8/),
  b('string truncated', onePoint('04 05 68 65'), INVALID, /^batch: ends inside the string of point 0/),
  b(
    'mantissa reaching 2^51',
    onePoint('00 80 80 80 80 80 80 80 08'),
    INVALID,
    /^batch: point 0: mantissa reaches 2\^51/,
  ),
  b('over maxBytes', example, TOO_LARGE, /^batch: payload of 32 bytes is over the limit of 16/, {
    maxBytes: 16,
  }),
]

const tables: [TelemetryFormat, Case[]][] = [
  ['json', json],
  ['senml+json', senmlJson],
  ['senml+cbor', senmlCbor],
  ['batch', batch],
]

for (const [format, cases] of tables) {
  describe(`bad inputs: ${format}`, () => {
    for (const k of cases) {
      test(k.name, () => {
        assertRejects(
          () => decodeTelemetry(format, k.payload, NOW, k.limits === undefined ? {} : { limits: k.limits }),
          k.code,
          k.message,
        )
      })
    }
  })
}

describe('bad inputs: encodeBatch', () => {
  const cases: [string, unknown[], TelemetryErrorCode, RegExp][] = [
    [
      'invalid metric',
      [
        { metric: 'a', ts: 0, value: 1 },
        { metric: 'b-c', ts: 0, value: 1 },
      ],
      INVALID,
      /^batch encode: point 1: "b-c" is not a valid metric name/,
    ],
    [
      'metric not a string',
      [{ metric: 5, ts: 0, value: 1 }],
      INVALID,
      /point 0: metric must be a string, got 5/,
    ],
    ['fractional ts', [{ metric: 'a', ts: 0.5, value: 1 }], INVALID, /point 0: time 0.5 is not an integer/],
    [
      'object value',
      [{ metric: 'a', ts: 0, value: {} }],
      INVALID,
      /point 0: value must be a number, boolean or string, got an object/,
    ],
    [
      'lone surrogate',
      [{ metric: 'a', ts: 0, value: '\udc00' }],
      INVALID,
      /point 0: string has a lone UTF-16 surrogate/,
    ],
    [
      'too many points',
      Array.from({ length: 10_001 }, () => ({ metric: 'a', ts: 0, value: 1 })),
      TOO_LARGE,
      /more than 10000 points/,
    ],
  ]
  for (const [name, points, code, message] of cases) {
    test(name, () => {
      assertRejects(() => encodeBatch(points as never), code, message)
    })
  }
})
