import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type AggregateFunction, TimeSeriesEngine } from '../../src/index.js'
import { batchSize, origin, SERIES } from './crash-batches.js'
import { bits, pointValue, prng, withDir } from './helpers.js'

/**
 * kill -9 while writing, sealing, merging late points and checkpointing:
 * after a reopen every batch whose write() resolved (the child prints it only
 * then) must be queryable, bit-exact; every batch found must be whole (a
 * batch is one log record); no point may be anywhere no batch wrote it;
 * and aggregates read from the rollups agree with those read from the points
 * (rollups are written before the seal mark, in other files: a kill between
 * must leave nothing a query can see). Rounds share one directory, so each child also starts from what the last
 * kill left (a torn log tail, a half-sealed window, a stale LOCK).
 */
const FIXTURE = fileURLToPath(new URL('./crash-writer.ts', import.meta.url))
const ROUNDS = 10
const SEED = 0xc4a5

/** Every bucket of every series, from rollups where the engine may use them, and from points only. */
async function assertRollupsAgree(engine: TimeSeriesEngine, where: (what: string) => string): Promise<void> {
  const series = Array.from({ length: SERIES }, (_, s) => `dev-${s}/m`)
  const checks: [number, AggregateFunction][] = [
    [60_000, 'count'],
    [60_000, 'max'],
    [60_000, 'last'],
    [60_000, 'sum'],
    [3_600_000, 'first'],
  ]
  for (const [bucketMs, fn] of checks) {
    // Values stay in Float64Arrays: a plain array of doubles may not keep a NaN's payload.
    const read = async (rollups: boolean) => {
      const batches: Float64Array[] = []
      for await (const b of engine.aggregate(series, -(2 ** 51), 2 ** 51, bucketMs, fn, { rollups })) {
        const pairs = new Float64Array(2 * b.values.length)
        for (let i = 0; i < b.values.length; i++) {
          pairs[2 * i] = b.timestamps[i] as number
          pairs[2 * i + 1] = b.values[i] as number
        }
        batches.push(pairs)
      }
      const out = new Float64Array(batches.reduce((n, b) => n + b.length, 0))
      let at = 0
      for (const b of batches) {
        out.set(b, at)
        at += b.length
      }
      return out
    }
    const [fast, slow] = [await read(true), await read(false)]
    assert.equal(fast.length, slow.length, where(`${fn} by ${bucketMs}: bucket count`))
    for (let i = 0; i < slow.length; i++) {
      const [a, b] = [fast[i] as number, slow[i] as number]
      // Sums add minute by minute from rollups: rounding may differ, and so may the payload of a NaN sum.
      const same =
        fn === 'sum'
          ? a === b || (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= 1e-9 * Math.abs(b)
          : bits(a) === bits(b)
      const show = (x: number) => `${x} (${bits(x)})`
      assert.ok(
        same,
        where(`${fn} by ${bucketMs}: ${show(a)} from rollups, ${show(b)} from points (at ${i >> 1})`),
      )
    }
  }
}

interface Round {
  acks: Set<number>
  /** Windows the child sealed, and how many of those merged late points. */
  seals: number
  lateMerges: number
}

async function runChild(dir: string, first: number, killAfterMs: number): Promise<Round> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir, String(first)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  )
  const kill = () => child.kill('SIGKILL')
  const guard = setTimeout(kill, 15_000)
  const round: Round = { acks: new Set(), seals: 0, lateMerges: 0 }
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'ready') setTimeout(kill, killAfterMs)
    // A line cut by the kill does not match (or names a batch that was acknowledged anyway).
    else if (/^\d+$/.test(line)) round.acks.add(Number(line))
    const m = /^seals (\d+) (\d+)$/.exec(line)
    if (m !== null) {
      round.seals = Number(m[1])
      round.lateMerges = Number(m[2])
    }
  }
  clearTimeout(guard)
  assert.equal(await exited, 'SIGKILL', 'the child only ends by being killed')
  return round
}

test('every acknowledged point survives SIGKILL at random moments (seeded)', {
  timeout: 60_000,
}, async (t) => {
  const random = prng(SEED)
  const started = performance.now()
  const acked = new Set<number>()
  let seals = 0
  let lateMerges = 0
  let parentSeals = 0
  let replayed = 0
  let rolledUp = 0
  await withDir(async (dir) => {
    for (let round = 0; round < ROUNDS; round++) {
      const delay = 50 + Math.floor(random() * 700)
      const r = await runChild(dir, (round + 1) * 100_000, delay)
      for (const n of r.acks) acked.add(n)
      seals += r.seals
      lateMerges += r.lateMerges
      const where = (what: string) => `round ${round} (kill after ${delay} ms): ${what}`

      const engine = await TimeSeriesEngine.open(dir, { sealCheckMs: 0 })
      replayed += engine.stats.replayedPoints
      try {
        const found = new Map<number, number>()
        for (let s = 0; s < SERIES; s++) {
          const series = `dev-${s}/m`
          for await (const b of engine.raw(series, -(2 ** 51), 2 ** 51)) {
            for (let k = 0; k < b.timestamps.length; k++) {
              const ts = b.timestamps[k] as number
              const o = origin(series, ts)
              assert.ok(o !== undefined, where(`no batch writes ${series} at ${ts}`))
              assert.equal(
                bits(b.values[k] as number),
                bits(pointValue(o.n, o.i)),
                where(`value of batch ${o.n}[${o.i}]`),
              )
              found.set(o.n, (found.get(o.n) ?? 0) + 1)
            }
          }
        }
        for (const [n, count] of found) assert.equal(count, batchSize(n), where(`batch ${n} is whole`))
        for (const n of acked) assert.ok(found.has(n), where(`acknowledged batch ${n} is queryable`))
        rolledUp = Math.max(rolledUp, engine.stats.rollupWindows['1m'])
        await assertRollupsAgree(engine, where)
        // Seal what the child left in memory now and then, so later rounds start from both states.
        if (round % 3 === 2) {
          await engine.flush()
          parentSeals += engine.stats.seals
          await assertRollupsAgree(engine, (what) => where(`after the parent's flush: ${what}`))
        }
      } finally {
        await engine.close()
      }
    }
  })
  const seconds = (performance.now() - started) / 1000
  t.diagnostic(
    `${ROUNDS} kills in ${seconds.toFixed(1)} s, ${acked.size} acknowledged batches checked, ` +
      `${seals} windows sealed by the children (${lateMerges} with late points), ${parentSeals} by the parent, ` +
      `${replayed} points replayed from the log on reopen, up to ${rolledUp} windows read from rollups`,
  )
  assert.ok(rolledUp > 0, 'rollups were compared with points')
  assert.ok(seals > ROUNDS && lateMerges > 0, 'the children sealed windows and merged late points')
  assert.ok(acked.size > ROUNDS * 20, `acknowledged: ${acked.size}`)
})
