/**
 * Child process of engine-crash.test.ts: writes batches (crash-batches.ts)
 * from 8 concurrent writers and prints each batch number once its write()
 * resolved, until the parent SIGKILLs it. Its clock follows the batches (one
 * batch = 20 s of data), so windows fall due and are sealed, late batches are
 * merged into sealed windows, and the log is checkpointed, all while it runs.
 *
 * Usage: node --import tsx crash-writer.ts <dir> <first batch number>
 * Output lines: `ready`, then one batch number per acknowledged batch, and
 * `seals <windows sealed> <late merges>` whenever those grow.
 */
import { TimeSeriesEngine } from '../../src/index.js'
import { batchPoints, STEP_MS } from './crash-batches.js'
import { T0 } from './helpers.js'

const [dir, first] = process.argv.slice(2)
if (dir === undefined || first === undefined) throw new Error('usage: crash-writer <dir> <first batch>')
const out = (line: string) => process.stdout.write(`${line}\n`)

let next = Number(first)
const engine = await TimeSeriesEngine.open(dir, {
  now: () => T0 + next * STEP_MS,
  graceMs: 60_000,
  sealCheckMs: 10,
  walSegmentBytes: 64 * 1024,
  onError: (err) => {
    console.error(err)
    process.exit(1)
  },
})
out('ready')

let seals = 0
async function writer(): Promise<never> {
  for (;;) {
    const n = next++
    await engine.write(batchPoints(n))
    out(String(n))
    const stats = engine.stats
    if (stats.seals > seals) {
      seals = stats.seals
      out(`seals ${stats.seals} ${stats.lateMerges}`)
    }
  }
}

await Promise.all(Array.from({ length: 8 }, writer))
