// Telemetry input on the way into the buffer, and both wire encodings against the
// platform's own decoders.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeBatch, decodeTelemetry, TelemetryFormatError } from '@strata/protocol'
import { encodeTelemetry, jsonRows } from '../src/encoding.js'
import { toPoints } from '../src/points.js'

test('a record becomes points at one time; an array keeps each point', () => {
  assert.deepEqual(toPoints({ temp: 21.5, door: true }, 'batch', { ts: 5 }), [
    { metric: 'temp', ts: 5, value: 21.5 },
    { metric: 'door', ts: 5, value: true },
  ])
  assert.deepEqual(
    toPoints(
      [
        { metric: 'a', value: 'x' },
        { metric: 'b', value: 1, ts: 9 },
      ],
      'batch',
      {},
      7,
    ),
    [
      { metric: 'a', ts: 7, value: 'x' },
      { metric: 'b', ts: 9, value: 1 },
    ],
  )
})

test('points the platform would refuse are refused here, whole call, with its error', () => {
  for (const bad of [
    [{ metric: '1abc', value: 1 }],
    [{ metric: 'a.__proto__', value: 1 }],
    [{ metric: 'a', value: 1, ts: -1 }],
    [{ metric: 'a', value: 'x'.repeat(5000) }],
    [{ metric: 'a', value: null as unknown as number }],
  ]) {
    assert.throws(() => toPoints(bad, 'batch'), TelemetryFormatError, JSON.stringify(bad).slice(0, 60))
  }
  assert.throws(() => toPoints({ ts: 1 }, 'json'), TelemetryFormatError)
  assert.throws(() => toPoints({ x: Number.NaN }, 'json'), TelemetryFormatError)
  assert.doesNotThrow(() => toPoints({ x: Number.NaN }, 'batch'))
})

test('both encodings decode back to the same points with the platform decoders', () => {
  const points = [
    { metric: 'temp', ts: 1_714_564_800_000, value: 21.5 },
    { metric: 'door', ts: 1_714_564_800_000, value: true },
    { metric: 'temp', ts: 1_714_564_800_000, value: 21.6 },
    { metric: 'note', ts: 1_714_564_801_000, value: 'ok' },
  ]
  const batch = encodeTelemetry('d1', points, 'batch')
  assert.equal(batch.topic, 'devices/d1/telemetry/batch')
  assert.equal(batch.contentType, 'application/vnd.strata.batch')
  assert.deepEqual(decodeBatch(batch.payload), points)
  const json = encodeTelemetry('d1', points, 'json')
  assert.equal(json.topic, 'devices/d1/telemetry')
  assert.equal(json.contentType, 'application/json')
  assert.deepEqual(decodeTelemetry('json', json.payload, 0), points)
  // A metric repeated at one time starts a new object rather than overwriting a value.
  assert.equal(jsonRows(points).length, 3)
})
