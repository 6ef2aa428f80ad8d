/**
 * Write-ahead log micro benchmark (outside npm test):
 *   node --import tsx packages/tsdb/bench/wal.bench.ts [seconds-per-case]
 * Pin it (`taskset -c 0 ...`) to read the figures as per core.
 *
 * 1. Ingest: points/s appended and committed by 1, 10 and 100 concurrent
 *    committers, each appending one batch of 1, 100 or 1,000 points and
 *    awaiting commit() in a loop, fsync on and off.
 * 2. Encode only: append() without commit, the CPU floor of the above.
 * 3. Replay: points/s read back from a log of 5M points.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wal, type WalPoint } from '../src/wal/index.js'

const seconds = Number(process.argv[2] ?? 2)

/** A batch as devices send them: a few series, timestamps 1 s apart, decimals. */
function makeBatch(size: number, seed: number): WalPoint[] {
  return Array.from({ length: size }, (_, i) => ({
    series: (seed * 131 + i) % 10_000,
    ts: 1_700_000_000_000 + seed * 1000 + i,
    value: Math.round(Math.sin(seed + i) * 10_000) / 100,
  }))
}

async function withWal<T>(fsync: boolean, fn: (wal: Wal) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), 'strata-wal-bench-'))
  const wal = await Wal.open(join(root, 'wal'), { fsync })
  try {
    return await fn(wal)
  } finally {
    await wal.close()
    await rm(root, { recursive: true, force: true })
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

async function ingest(committers: number, batch: number, fsync: boolean): Promise<void> {
  await withWal(fsync, async (wal) => {
    const batches = Array.from({ length: committers }, (_, c) => makeBatch(batch, c))
    const until = performance.now() + seconds * 1000
    const started = performance.now()
    await Promise.all(
      batches.map(async (points) => {
        while (performance.now() < until) {
          wal.append({ type: 'points', points })
          await wal.commit()
        }
      }),
    )
    const s = (performance.now() - started) / 1000
    const { points, commits, flushes, bytesWritten } = wal.stats
    console.log(
      `| ${String(committers).padStart(3)} | ${String(batch).padStart(5)} | ${fsync ? 'on ' : 'off'} | ` +
        `${fmt(points / s).padStart(10)} | ${fmt(commits / s).padStart(8)} | ${(commits / flushes).toFixed(1).padStart(6)} | ` +
        `${(bytesWritten / points).toFixed(1)} |`,
    )
  })
}

async function encodeOnly(batch: number): Promise<void> {
  await withWal(false, async (wal) => {
    const points = makeBatch(batch, 1)
    const total = 2_000_000
    const started = performance.now()
    for (let n = 0; n < total; n += batch) {
      wal.append({ type: 'points', points })
      if (n % 200_000 < batch) await wal.commit() // keep the buffer bounded
    }
    await wal.commit()
    console.log(
      `append only, batches of ${batch}: ${fmt(total / ((performance.now() - started) / 1000))} points/s`,
    )
  })
}

async function replay(batch: number): Promise<void> {
  await withWal(false, async (wal) => {
    const total = 5_000_000
    for (let n = 0; n < total / batch; n++) {
      wal.append({ type: 'points', points: makeBatch(batch, n) })
      if (n % 1000 === 0) await wal.commit()
    }
    await wal.commit()
    const mib = wal.durablePosition / 2 ** 20
    const started = performance.now()
    let points = 0
    for await (const r of wal.replay()) if (r.type === 'points') points += r.points.length
    const s = (performance.now() - started) / 1000
    console.log(
      `replay, batches of ${batch}: ${fmt(points / s)} points/s (${fmt(points)} points, ${mib.toFixed(1)} MiB in ${s.toFixed(2)} s)`,
    )
  })
}

console.log(`${seconds} s per case\n`)
console.log('| committers | batch | fsync | points/s | commits/s | commits/flush | bytes/point |')
console.log('| --: | --: | --- | --: | --: | --: | --: |')
for (const fsync of [true, false]) {
  for (const batch of [1, 100, 1000]) {
    for (const committers of [1, 10, 100]) await ingest(committers, batch, fsync)
  }
}
console.log()
for (const batch of [1, 100, 1000]) await encodeOnly(batch)
console.log()
for (const batch of [100, 1000]) await replay(batch)
