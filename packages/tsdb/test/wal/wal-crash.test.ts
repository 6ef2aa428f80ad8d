import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Wal } from '../../src/wal/index.js'
import { batchOf, isIntact, prng, withDir } from './helpers.js'

/**
 * kill -9 while writing: every batch whose commit() resolved (the child
 * prints it only then) must be in the log, intact, after a reopen, unless a
 * checkpoint taken before the kill covers it. Rounds reuse one directory, so
 * each child also starts from what the previous kill left (a torn tail, a
 * stale LOCK, a half-done checkpoint).
 */
const FIXTURE = fileURLToPath(new URL('./crash-writer.ts', import.meta.url))
const ROUNDS = 12
const SEED = 0x5eed
/** Points in batch `n`, as crash-writer.ts makes them. */
const batchSize = (n: number): number => (n % 50 === 0 ? 30_000 : 1 + ((n * 7) % 120))

interface Round {
  /** Acknowledged batches and their positions. */
  acks: Map<number, number>
  killedByGuard: boolean
}

async function runChild(dir: string, first: number, killAfterMs: number): Promise<Round> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir, String(first)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  )
  const kill = () => child.kill('SIGKILL')
  let killedByGuard = false
  // A safety net: never let a child outlive its round.
  const guard = setTimeout(() => {
    killedByGuard = true
    kill()
  }, 10_000)
  const acks = new Map<number, number>()
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'ready') {
      setTimeout(kill, killAfterMs)
      continue
    }
    // A line cut by the kill is ignored: it was not fully printed, so not relied upon.
    const m = /^(\d+) (\d+)$/.exec(line)
    if (m !== null) acks.set(Number(m[1]), Number(m[2]))
  }
  clearTimeout(guard)
  assert.equal(await exited, 'SIGKILL', 'the child only ends by being killed')
  return { acks, killedByGuard }
}

test('every acknowledged batch survives SIGKILL at random moments (seeded)', {
  timeout: 60_000,
}, async (t) => {
  const random = prng(SEED)
  const started = performance.now()
  let totalAcks = 0
  let checkedAcks = 0
  let tornTails = 0
  let checkpoints = 0
  let lastCheckpoint = 0
  await withDir(async (dir) => {
    for (let round = 0; round < ROUNDS; round++) {
      const delay = 20 + Math.floor(random() * 300)
      const first = (round + 1) * 1_000_000
      const { acks, killedByGuard } = await runChild(dir, first, delay)
      const where = (what: string) => `round ${round} (kill after ${delay} ms): ${what}`
      assert.ok(!killedByGuard, where('the planned kill happened'))
      totalAcks += acks.size

      const wal = await Wal.open(dir, { segmentBytes: 32 * 1024 })
      if (wal.stats.tornBytesOnOpen > 0) tornTails++
      const checkpoint = wal.checkpointPosition
      if (checkpoint > lastCheckpoint) checkpoints++
      lastCheckpoint = checkpoint
      const found = new Map<number, number>()
      for await (const r of wal.replay()) {
        if (r.type === 'series') {
          assert.equal(r.key, `key-${r.id}`, where(`series ${r.id}`))
          continue
        }
        const n = batchOf(r.points)
        assert.ok(isIntact(r.points, n, batchSize(n)), where(`batch ${n} intact`))
        assert.ok(!found.has(n), where(`batch ${n} once`))
        found.set(n, r.position)
      }
      for (const [n, position] of acks) {
        if (position < checkpoint) continue
        checkedAcks++
        assert.equal(found.get(n), position, where(`acknowledged batch ${n} at ${position}`))
      }
      await wal.close()
    }
  })
  const seconds = (performance.now() - started) / 1000
  t.diagnostic(
    `${ROUNDS} kills in ${seconds.toFixed(1)} s, ${totalAcks} acknowledged batches, ` +
      `${checkedAcks} after the checkpoint checked, ${checkpoints} rounds moved the checkpoint, ${tornTails} torn tails cut`,
  )
  assert.ok(checkedAcks > ROUNDS * 10, `checked: ${checkedAcks}`)
})
