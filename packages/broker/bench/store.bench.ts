/**
 * LogStore micro benchmark (outside npm test):
 *   node --import tsx packages/broker/bench/store.bench.ts [seconds-per-case]
 *
 * 1. Group commit: commits/s and records/s with 1, 10 and 100 concurrent
 *    committers, each committing putMessage + enqueue (what the broker does
 *    for one QoS 1 PUBLISH to one persistent session), fsync on.
 * 2. Recovery: open() of a journal of 1M records (500k put + 500k enqueue).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogStore } from '../src/persistence/index.js'

const seconds = Number(process.argv[2] ?? 3)
const payload = Buffer.alloc(64, 7)

async function groupCommit(committers: number, fsync: boolean): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-bench-'))
  const store = new LogStore({ dir, fsync })
  await store.open()
  let id = 1
  const until = performance.now() + seconds * 1000
  const committer = async (c: number) => {
    while (performance.now() < until) {
      const messageId = id++
      store.putMessage({
        id: messageId,
        topic: `bench/${c}`,
        payload,
        qos: 1,
        retain: false,
        receivedAt: Date.now(),
      })
      store.enqueue(`client-${c}`, { messageId, qos: 1 })
      await store.commit()
      store.dequeue(`client-${c}`, messageId)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: committers }, (_, c) => committer(c)))
  const s = (performance.now() - started) / 1000
  const { commits, records, flushes } = store.stats
  console.log(
    `${String(committers).padStart(3)} committers, fsync ${fsync ? 'on ' : 'off'}: ` +
      `${Math.round(commits / s)} commits/s, ${Math.round(records / s)} records/s, ` +
      `${flushes} flushes (${(commits / flushes).toFixed(1)} commits per flush)`,
  )
  await store.close()
  await rm(dir, { recursive: true, force: true })
}

async function recovery(records: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-bench-'))
  const store = new LogStore({ dir, fsync: false })
  await store.open()
  for (let id = 1; id <= records / 2; id++) {
    store.putMessage({
      id,
      topic: `bench/${id % 100}`,
      payload,
      qos: 1,
      retain: false,
      receivedAt: Date.now(),
    })
    store.enqueue(`client-${id % 1000}`, { messageId: id, qos: 1 })
    if (id % 10_000 === 0) await store.commit()
  }
  await store.close()
  const { size } = await stat(join(dir, 'journal-000000000001.log'))
  const again = new LogStore({ dir })
  const started = performance.now()
  const state = await again.open()
  const ms = performance.now() - started
  let queued = 0
  for (const q of state.queues.values()) queued += q.length
  console.log(
    `recovery of ${records} records (${(size / 1048576).toFixed(1)} MiB): ${ms.toFixed(0)} ms, ` +
      `${Math.round(records / (ms / 1000))} records/s; ${state.messages.size} messages, ${queued} queued`,
  )
  await again.close()
  await rm(dir, { recursive: true, force: true })
}

for (const n of [1, 10, 100]) await groupCommit(n, true)
await groupCommit(100, false)
await recovery(1_000_000)
