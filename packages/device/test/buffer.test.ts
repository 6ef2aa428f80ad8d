// The offline buffer on its own: bounds, both full policies, requeue order, and a seeded
// property test that no point is ever lost without being counted.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { TelemetryPoint } from '@strata/protocol'
import fc from 'fast-check'
import { type Batch, OfflineBuffer } from '../src/buffer.js'
import { BufferFullError } from '../src/errors.js'
import { estimatePointBytes } from '../src/points.js'

const pts = (from: number, count: number): TelemetryPoint[] =>
  Array.from({ length: count }, (_, i) => ({ metric: 'm', ts: 1_000 + from + i, value: from + i }))
const values = (batch: Batch | undefined): number[] => (batch?.points ?? []).map((p) => p.value as number)

describe('offline buffer', () => {
  test('drop-oldest keeps the newest points and counts the others', () => {
    const b = new OfflineBuffer({ maxPoints: 10, maxBytes: 1 << 20, whenFull: 'drop-oldest' })
    assert.equal(b.add(pts(0, 8), 0), 0)
    assert.equal(b.add(pts(8, 5), 0), 3)
    assert.equal(b.size, 10)
    assert.equal(b.dropped, 3)
    assert.deepEqual(values(b.take(100, 1 << 20)), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
  })

  test('a point in flight is never dropped; the new point is, when nothing waits', () => {
    const b = new OfflineBuffer({ maxPoints: 4, maxBytes: 1 << 20, whenFull: 'drop-oldest' })
    b.add(pts(0, 4), 0)
    const inFlight = b.take(4, 1 << 20)
    assert.equal(b.add(pts(4, 2), 0), 2)
    assert.equal(b.size, 4)
    assert.deepEqual(values(inFlight), [0, 1, 2, 3])
  })

  test('the byte bound applies as the point bound does', () => {
    const one = estimatePointBytes(pts(0, 1)[0] as TelemetryPoint)
    const b = new OfflineBuffer({ maxPoints: 1000, maxBytes: one * 5, whenFull: 'drop-oldest' })
    b.add(pts(0, 7), 0)
    assert.equal(b.size, 5)
    assert.equal(b.sizeBytes, one * 5)
    assert.equal(b.dropped, 2)
  })

  test("'reject' refuses the whole call and keeps what it had", () => {
    const b = new OfflineBuffer({ maxPoints: 10, maxBytes: 1 << 20, whenFull: 'reject' })
    b.add(pts(0, 8), 0)
    assert.throws(() => b.add(pts(8, 3), 0), BufferFullError)
    assert.equal(b.size, 8)
    assert.equal(b.dropped, 0)
    b.add(pts(8, 2), 0)
    assert.equal(b.size, 10)
  })

  test('requeued batches come back first, whole and in their order', () => {
    const b = new OfflineBuffer({ maxPoints: 100, maxBytes: 1 << 20, whenFull: 'drop-oldest' })
    b.add(pts(0, 9), 0)
    const first = b.take(3, 1 << 20) as Batch
    const second = b.take(3, 1 << 20) as Batch
    b.requeue(second)
    b.requeue(first)
    assert.equal(b.waiting, 9)
    assert.deepEqual(values(b.take(100, 1 << 20)), [0, 1, 2])
    assert.deepEqual(values(b.take(100, 1 << 20)), [3, 4, 5])
    assert.deepEqual(values(b.take(100, 1 << 20)), [6, 7, 8])
  })

  test('a batch stops at maxBytes but always carries at least one point', () => {
    const b = new OfflineBuffer({ maxPoints: 100, maxBytes: 1 << 20, whenFull: 'drop-oldest' })
    b.add(pts(0, 10), 0)
    const one = estimatePointBytes(pts(0, 1)[0] as TelemetryPoint)
    assert.equal(b.take(100, one * 3)?.points.length, 3)
    assert.equal(b.take(100, 1)?.points.length, 1)
  })

  test('property: every point is delivered, dropped or still held, and counted once (seeded)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), n: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ kind: fc.constant('take' as const), n: fc.integer({ min: 1, max: 20 }) }),
      fc.record({ kind: fc.constant('ack' as const), n: fc.nat() }),
      fc.record({ kind: fc.constant('lose' as const), n: fc.nat() }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 20, max: 60 }), (ops, maxPoints) => {
        const b = new OfflineBuffer({ maxPoints, maxBytes: 1 << 30, whenFull: 'drop-oldest' })
        let next = 0
        const delivered: number[] = []
        const flying: Batch[] = []
        for (const o of ops) {
          if (o.kind === 'add') {
            b.add(pts(next, o.n), 0)
            next += o.n
          } else if (o.kind === 'take') {
            const batch = b.take(o.n, 1 << 30)
            if (batch) flying.push(batch)
          } else if (flying.length > 0) {
            const [batch] = flying.splice(o.n % flying.length, 1) as [Batch]
            if (o.kind === 'ack') {
              delivered.push(...values(batch))
              b.remove(batch)
            } else b.requeue(batch)
          }
          assert.ok(b.size <= maxPoints)
        }
        for (const batch of flying) b.requeue(batch)
        const rest: number[] = []
        for (let batch = b.take(1000, 1 << 30); batch; batch = b.take(1000, 1 << 30))
          rest.push(...values(batch))
        assert.equal(new Set([...delivered, ...rest]).size, delivered.length + rest.length, 'no duplicates')
        assert.equal(delivered.length + rest.length + b.dropped, next, 'nothing unaccounted for')
      }),
      { seed: 0x5eed_4004, numRuns: 200 },
    )
  })
})
