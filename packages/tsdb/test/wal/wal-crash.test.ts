import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
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
  /** The last checkpoint that resolved (`cp` lines, shed mode). */
  checkpoint: number
  killedByGuard: boolean
}

async function runChild(dir: string, first: number, killAfterMs: number, mode = ''): Promise<Round> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir, String(first), mode], {
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
  let checkpoint = 0
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'ready') {
      setTimeout(kill, killAfterMs)
      continue
    }
    // A line cut by the kill is ignored: it was not fully printed, so not relied upon.
    const m = /^(\d+) (\d+)$/.exec(line)
    if (m !== null) acks.set(Number(m[1]), Number(m[2]))
    const cp = /^cp (\d+)$/.exec(line)
    if (cp !== null) checkpoint = Number(cp[1])
  }
  clearTimeout(guard)
  assert.equal(await exited, 'SIGKILL', 'the child only ends by being killed')
  return { acks, checkpoint, killedByGuard }
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

/**
 * kill -9 while the log sheds its segment (a checkpoint at the end of the
 * log: a new segment is created, synced and renamed, the old one deleted):
 * after a reopen, the checkpoint is at least the last one that resolved,
 * every acknowledged batch after it is there, and once checkpointed at its
 * end the log is one empty segment. The directory as the kill left it is
 * tallied: the old segment alone, the old and the new one, the new one alone
 * (with or without a `.tmp` of a roll).
 */
test('every acknowledged batch survives SIGKILL while the log sheds covered segments (seeded)', {
  timeout: 60_000,
}, async (t) => {
  const random = prng(SEED + 1)
  const started = performance.now()
  const left = new Map<string, number>()
  let checkedAcks = 0
  await withDir(async (dir) => {
    for (let round = 0; round < ROUNDS; round++) {
      const delay = 20 + Math.floor(random() * 200)
      const { acks, checkpoint, killedByGuard } = await runChild(dir, (round + 1) * 1_000_000, delay, 'shed')
      const where = (what: string) => `round ${round} (kill after ${delay} ms): ${what}`
      assert.ok(!killedByGuard, where('the planned kill happened'))

      const names = (await readdir(dir)).filter((f) => f.startsWith('wal-')).sort()
      const logs = names.filter((f) => f.endsWith('.log')).length
      const state = `${logs} segment(s)${names.some((f) => f.endsWith('.tmp')) ? ' + .tmp' : ''}`
      left.set(state, (left.get(state) ?? 0) + 1)

      const wal = await Wal.open(dir, { segmentBytes: 32 * 1024 })
      assert.ok(
        wal.checkpointPosition >= checkpoint,
        where(`checkpoint ${wal.checkpointPosition} >= ${checkpoint}`),
      )
      const found = new Map<number, number>()
      for await (const r of wal.replay()) {
        if (r.type !== 'points') continue
        const n = batchOf(r.points)
        assert.ok(isIntact(r.points, n, batchSize(n)), where(`batch ${n} intact`))
        found.set(n, r.position)
      }
      for (const [n, position] of acks) {
        if (position < wal.checkpointPosition) continue
        checkedAcks++
        assert.equal(found.get(n), position, where(`acknowledged batch ${n} at ${position}`))
      }
      await wal.checkpoint(wal.position)
      const after = (await readdir(dir)).filter((f) => f.startsWith('wal-'))
      assert.equal(
        after.length,
        1,
        where(`one segment left after a checkpoint at the end: ${after.join(', ')}`),
      )
      assert.equal((await stat(join(dir, after[0] as string))).size, 16, where('and it is empty'))
      await wal.close()
    }
  })
  const seconds = (performance.now() - started) / 1000
  const states = [...left].map(([s, n]) => `${s}: ${n}`).join(', ')
  t.diagnostic(
    `${ROUNDS} kills in ${seconds.toFixed(1)} s, ${checkedAcks} batches checked; left by the kills: ${states}`,
  )
  assert.ok(checkedAcks > 0, `checked: ${checkedAcks}`)
})
