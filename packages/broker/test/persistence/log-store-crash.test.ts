import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { LogStore, type RecoveredState } from '../../src/persistence/index.js'
import { crashPayload } from './fixtures/crash-payload.js'

/**
 * kill -9 while writing: every record whose commit() resolved (the child
 * prints it only then) must be in the store after a reopen. Rounds reuse one
 * directory, so each child also starts from what a crash left. With a tiny
 * compaction threshold compactions run all the time; some rounds kill right
 * when a compaction starts or has written its file (just before its rename).
 */
const FIXTURE = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url))
const ROUNDS = 10
const SEED = 0x5eed

/** mulberry32: a tiny seeded PRNG, so that a failing sequence of kill delays reproduces. */
function prng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Intent {
  intent: number
  deq: Array<[string, number]>
  ret: string | null
}

interface Printed {
  /** Every operation the child started, by id: its records may or may not be on disk. */
  intents: Map<number, Intent>
  /** Operations whose commit() resolved: their records must be on disk. */
  acks: number[]
}

type KillAt = { kind: 'delay'; ms: number } | { kind: 'compaction'; phase: 'start' | 'written' }

/** Runs the child until it is killed; returns the acknowledged operations it printed. */
async function runChild(
  dir: string,
  killAt: KillAt,
): Promise<Printed & { compactions: number; killedByGuard: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir, String(32 * 1024)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  )
  const intents = new Map<number, Intent>()
  const acks: number[] = []
  let compactions = 0
  const kill = () => child.kill('SIGKILL')
  let killedByGuard = false
  // A safety net: never let a child outlive its round.
  const guard = setTimeout(() => {
    killedByGuard = true
    kill()
  }, 15_000)
  for await (const line of createInterface({ input: child.stdout })) {
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(line)
    } catch {
      continue // a line cut by the kill was never fully acknowledged
    }
    if (msg.ready === true && killAt.kind === 'delay') setTimeout(kill, killAt.ms)
    if (typeof msg.intent === 'number') intents.set(msg.intent, msg as unknown as Intent)
    if (typeof msg.ack === 'number') acks.push(msg.ack)
    if (msg.compaction === 'done') compactions++
    if (killAt.kind === 'compaction' && msg.compaction === killAt.phase) kill()
  }
  clearTimeout(guard)
  assert.equal(await exited, 'SIGKILL', 'the child only ends by being killed')
  return { intents, acks, compactions, killedByGuard }
}

function verify(state: RecoveredState, { intents, acks }: Printed, round: number): void {
  const where = (what: string) => `round ${round}: ${what}`
  const queued = new Map<string, Set<number>>()
  for (const [client, q] of state.queues) queued.set(client, new Set(q.map((e) => e.messageId)))
  // A dequeue the child started may be on disk even if it was not acknowledged.
  const mayBeDequeued = new Set<string>()
  for (const i of intents.values()) for (const [client, id] of i.deq) mayBeDequeued.add(`${client}:${id}`)
  const lastRetained = new Map<string, number>()
  for (const id of acks) {
    const intent = intents.get(id)
    assert.ok(intent !== undefined, where(`intent of ${id} printed before its ack`))
    for (const [client, old] of intent.deq) {
      assert.ok(!queued.get(client)?.has(old), where(`acknowledged dequeue of ${old} for ${client}`))
    }
    if (intent.ret !== null) lastRetained.set(intent.ret, Math.max(id, lastRetained.get(intent.ret) ?? 0))
    if (id === 0) continue
    for (const client of ['a', 'b']) {
      if (mayBeDequeued.has(`${client}:${id}`)) continue
      assert.ok(queued.get(client)?.has(id), where(`acknowledged message ${id} queued for ${client}`))
    }
  }
  for (const [topic, id] of lastRetained) {
    const retained = state.retained.get(topic)
    // A later, unacknowledged setRetained may have made it to disk too.
    assert.ok(retained !== undefined && retained.id >= id, where(`retained ${topic} at least ${id}`))
  }
  for (const [id, m] of state.messages) assert.deepEqual(m.payload, crashPayload(id), where(`body of ${id}`))
}

test('every acknowledged record survives SIGKILL, including during compaction', {
  timeout: 60_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-crash-'))
  const random = prng(SEED)
  let totalAcks = 0
  let totalCompactions = 0
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const killAt: KillAt =
        round % 4 === 1
          ? { kind: 'compaction', phase: 'start' }
          : round % 4 === 3
            ? { kind: 'compaction', phase: 'written' }
            : { kind: 'delay', ms: 100 + Math.floor(random() * 700) }
      const printed = await runChild(dir, killAt)
      assert.ok(!printed.killedByGuard, `round ${round}: the planned kill (${killAt.kind}) happened`)
      totalAcks += printed.acks.length
      totalCompactions += printed.compactions
      const store = new LogStore({ dir })
      const state = await store.open()
      verify(state, printed, round)
      await store.close()
    }
    t.diagnostic(
      `${ROUNDS} kills, ${totalAcks} acknowledged operations checked, ${totalCompactions} compactions`,
    )
    assert.ok(totalAcks > ROUNDS * 10, `acknowledged: ${totalAcks}`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
