import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeliveryLedger, UNTYPED } from '../../src/ingest/ledger.js'

test('the ledger counts messages and points per device type and stage, and totals them', () => {
  const ledger = new DeliveryLedger()
  const seen: string[] = []
  ledger.onCount((type, stage, m, p) => seen.push(`${type}:${stage}:${m}:${p}`))
  ledger.count('thermostat', 'received', 1, 10)
  ledger.count('thermostat', 'decoded', 1, 10)
  ledger.count(null, 'received', 2, 0)
  ledger.count(null, 'rejected', 2, 0)
  const snap = ledger.snapshot()
  assert.equal(snap.byType.thermostat?.points.decoded, 10)
  assert.equal(snap.byType[UNTYPED]?.messages.rejected, 2)
  assert.equal(snap.total.messages.received, 3)
  assert.equal(snap.total.messages.received, snap.total.messages.rejected + snap.total.messages.decoded)
  assert.deepEqual(seen, [
    'thermostat:received:1:10',
    'thermostat:decoded:1:10',
    `${UNTYPED}:received:2:0`,
    `${UNTYPED}:rejected:2:0`,
  ])
  // A snapshot is a copy: later counts do not change it.
  ledger.count('thermostat', 'stored', 1, 10)
  assert.equal(snap.byType.thermostat?.points.stored, 0)
})
