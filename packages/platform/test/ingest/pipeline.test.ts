// The pipeline's lag state on its own: the latency rule, the hysteresis, and a store that fails.
// Numeric stores here are stand-ins (the integration tests use the real engine); the event log
// is the real SQLite one.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { pino } from 'pino'
import { SqliteEventStore } from '../../src/ingest/event-log.js'
import { DeliveryLedger } from '../../src/ingest/ledger.js'
import { type NumericStore, TelemetryPipeline } from '../../src/ingest/pipeline.js'
import { compileProfile } from '../../src/ingest/profiles.js'

const dirs: string[] = []
const stores: SqliteEventStore[] = []
after(async () => {
  for (const s of stores) await s.close()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

/** Writes resolve when the test says so, in order. */
class ManualStore implements NumericStore {
  readonly pending: Array<{ resolve: () => void; reject: (err: Error) => void }> = []
  write(): Promise<void> {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }))
  }
  release(n = this.pending.length): void {
    for (const w of this.pending.splice(0, n)) w.resolve()
  }
}

async function pipeline(engine: NumericStore, now: () => number, lagLatencyMs = 0) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-pipeline-'))
  dirs.push(dir)
  const events = new SqliteEventStore(join(dir, 'events.db'), { pruneEveryMs: 0 })
  stores.push(events)
  const ledger = new DeliveryLedger()
  const p = new TelemetryPipeline({
    engine,
    events,
    ledger,
    logger: pino({ level: 'silent' }),
    typeOf: () => 'meter',
    // The type's own cap above the mark, so that the mark (not the cap) decides here.
    profileOf: () =>
      compileProfile({ id: 'meter', telemetry: [], ingest: { strategy: 'buffer', maxQueuedPoints: 1000 } }),
    publishError: () => undefined,
    backPressure: { highWaterPoints: 100, lagLatencyMs },
    now,
  })
  const submit = (points: number, acknowledged = true) =>
    p.submit({
      deviceId: 'd1',
      format: 'json',
      payload: Buffer.from(
        JSON.stringify(Array.from({ length: points }, (_, i) => ({ ts: 1000 + i, v: i }))),
      ),
      acknowledged,
      source: 'test',
    })
  return { p, ledger, submit }
}

test('lag starts over the mark and ends at 3/4 of it; held acknowledgements go when it ends', async () => {
  const engine = new ManualStore()
  const { p, submit } = await pipeline(engine, Date.now)
  assert.equal(submit(60).kind, 'accepted')
  assert.equal(submit(50).kind, 'accepted')
  assert.equal(p.state().lagging, true, '110 > 100')
  const held = submit(10)
  assert.equal(held.kind, 'accepted')
  let acked = false
  if (held.kind === 'accepted') void held.durable.then(() => (acked = true))
  engine.release(1) // 60 durable: 60 queued, under 75
  await new Promise((r) => setImmediate(r))
  assert.equal(p.state().lagging, false)
  assert.equal(p.state().queuedPoints, 60)
  await new Promise((r) => setImmediate(r))
  assert.equal(acked, false, 'its own points are not durable yet')
  engine.release()
  await new Promise((r) => setImmediate(r))
  await new Promise((r) => setImmediate(r))
  assert.equal(acked, true)
  p.close()
})

test('a write older than lagLatencyMs is lag too, however few points wait', async () => {
  const engine = new ManualStore()
  let now = 0
  const { p, submit } = await pipeline(engine, () => now, 500)
  submit(1)
  assert.equal(p.state().lagging, false)
  now = 501
  assert.equal(p.state().lagging, true)
  assert.equal(p.state().oldestWriteMs, 501)
  engine.release()
  await new Promise((r) => setImmediate(r))
  assert.equal(p.state().lagging, false)
  p.close()
})

test('a failing store: counted failed, the acknowledgement withheld (the promise rejects)', async () => {
  const engine = new ManualStore()
  const { p, ledger, submit } = await pipeline(engine, Date.now)
  const r = submit(3)
  assert.equal(r.kind, 'accepted')
  engine.pending.shift()?.reject(new Error('disk full'))
  if (r.kind === 'accepted') await assert.rejects(r.durable, /disk full/)
  const c = ledger.snapshot().byType.meter
  assert.equal(c?.points.failed, 3)
  assert.equal(c?.messages.acknowledged, 0)
  assert.equal(c?.points.decoded, (c?.points.stored ?? 0) + (c?.points.failed ?? 0))
  assert.equal(p.state().queuedPoints, 0)
  p.close()
})
