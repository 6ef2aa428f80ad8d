/**
 * Child process of wal-crash.test.ts: appends and commits batches from
 * several concurrent committers in a loop, and prints each batch only after
 * its commit() resolved, until the parent SIGKILLs it. Every few batches it
 * checkpoints at the position of a batch committed a while ago, so kills also
 * land in segment rolls, checkpoint writes and segment deletions.
 *
 * Usage: node --import tsx crash-writer.ts <dir> <first batch number> [shed]
 * Output lines: `ready`, then `<batch> <position>` per acknowledged batch.
 *
 * With `shed`, one committer instead commits a few batches, then checkpoints
 * at the end of the log (so the log sheds its segment: a roll and a
 * deletion) and prints `cp <position>` once that resolved, in a loop: kills
 * land in every step of a shed.
 */
import { Wal } from '../../src/wal/index.js'
import { batchPoints } from './helpers.js'

/** Points in batch `n` (wal-crash.test.ts has the same formula). */
const batchSize = (n: number): number => (n % 50 === 0 ? 30_000 : 1 + ((n * 7) % 120))

const [dir, first, mode] = process.argv.slice(2)
if (dir === undefined || first === undefined) throw new Error('usage: crash-writer <dir> <first batch>')
const out = (line: string) => process.stdout.write(`${line}\n`)

const wal = await Wal.open(dir, { segmentBytes: 32 * 1024 })
let next = Number(first)
const acked: number[] = []
out('ready')

async function committer(): Promise<never> {
  for (;;) {
    const n = next++
    // A series definition now and then, as the engine writes one before a new series' first points.
    if (n % 10 === 0) wal.append({ type: 'series', id: n % 2 ** 32, key: `key-${n}` })
    const position = wal.append({ type: 'points', points: batchPoints(n, batchSize(n)) })
    await wal.commit()
    out(`${n} ${position}`)
    acked.push(position)
    if (acked.length % 100 === 0 && acked.length >= 400) {
      const old = acked[acked.length - 300] as number
      if (old > wal.checkpointPosition) await wal.checkpoint(old)
    }
  }
}

async function shedder(): Promise<never> {
  for (;;) {
    for (let k = 0; k < 1 + (next % 3); k++) {
      const n = next++
      const position = wal.append({ type: 'points', points: batchPoints(n, batchSize(n)) })
      await wal.commit()
      out(`${n} ${position}`)
    }
    const at = wal.position
    await wal.checkpoint(at)
    out(`cp ${at}`)
  }
}

if (mode === 'shed') await shedder()
else await Promise.all(Array.from({ length: 8 }, committer))
