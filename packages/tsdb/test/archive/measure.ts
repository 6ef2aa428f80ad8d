/**
 * The cold tier's numbers (not a test): export speed, Parquet bytes per point
 * against the SQLite chunk bytes of the same partition, a one-series read from
 * a 1000-series file, and whole-file reimport. Run from packages/tsdb:
 *
 *   node --import tsx test/archive/measure.ts [series=1000] [pointsPerSeries=2880]
 */
import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { type ArchiveCodec, ArchiveReader, exportPartition } from '../../src/archive/index.js'
import { openArchiveFile } from '../../src/archive/parquet-file.js'
import type { StoredChunk } from '../../src/storage/chunk-storage.js'
import { SqliteChunkStorage } from '../../src/storage/sqlite-storage.js'
import {
  buildStorage,
  collect,
  DAY,
  type Kind,
  prng,
  type SeriesData,
  series,
  T0,
  withDir,
} from './helpers.js'

const nSeries = Number(process.argv[2] ?? 1000)
const perSeries = Number(process.argv[3] ?? 2880)
const step = Math.floor(DAY / perSeries)

/** A mix of what sensors send: mostly quantised readings and counters, some raw noise. */
function kindOf(i: number): Kind {
  const m = i % 10
  return m < 4 ? 'quantised' : m < 6 ? 'counter' : m < 8 ? 'noise' : m < 9 ? 'integers' : 'irregular'
}

function dataset(kinds: (i: number) => Kind, n: number): SeriesData[] {
  const out: SeriesData[] = []
  for (let i = 0; i < n; i++) {
    const key = `dev-${String(i).padStart(5, '0')}/m${i % 7}`
    const s = series(key, kinds(i), T0 + (i % 1000), perSeries, step, i + 1)
    // Irregular series stop at the day's end.
    const keep = s.timestamps.findIndex((t) => t >= T0 + DAY)
    out.push(
      keep < 0 ? s : { ...s, timestamps: s.timestamps.subarray(0, keep), values: s.values.subarray(0, keep) },
    )
  }
  return out
}

const fmt = (x: number, d = 2): string => x.toFixed(d)

async function measure(label: string, data: SeriesData[], full: boolean): Promise<void> {
  await withDir(async (dir) => {
    const points = data.reduce((a, s) => a + s.timestamps.length, 0)
    // Closed and opened again: SQLite checkpoints its WAL into the day file on close.
    await (await buildStorage(dir, data)).close()
    const storage = await SqliteChunkStorage.open(dir, { fsync: false })
    const [partition] = (await storage.partitions()).filter(
      (p) => (p as { tier?: string }).tier === undefined || (p as { tier?: string }).tier === 'raw',
    )
    if (partition === undefined) throw new Error('no partition')
    let chunkBytes = 0
    const { series: records } = await storage.load()
    for (const r of records) {
      for await (const c of storage.chunks(r.id, { from: partition.start, to: partition.end, data: true })) {
        chunkBytes += (c as StoredChunk).data.length
      }
    }
    const dbBytes = (await stat(join(dir, partition.name))).size
    console.log(
      `\n${label}: ${data.length} series, ${points} points; SQLite chunk bytes ${fmt(chunkBytes / points)} B/pt,` +
        ` day file ${fmt(dbBytes / points)} B/pt`,
    )
    const codecs: [ArchiveCodec, number][] = full
      ? [
          ['UNCOMPRESSED', 65_536],
          ['SNAPPY', 65_536],
          ['GZIP', 65_536],
          ['BROTLI', 65_536],
          ['BROTLI', 1_048_576],
        ]
      : [['BROTLI', 65_536]]
    for (const [codec, pageBytes] of codecs) {
      const out = join(dir, `archive-${codec}-${pageBytes}`)
      const t0 = performance.now()
      const f = await exportPartition(storage, partition, out, { codec, pageBytes, series: records })
      const ms = performance.now() - t0
      const line = `  export ${codec.padEnd(12)} page ${String(pageBytes / 1024).padStart(4)} KiB: ${fmt(f.bytes / points)} B/pt, ${fmt(points / ms / 1000)} M pt/s (${fmt(ms, 0)} ms, fsync on)`
      if (!full || codec === 'SNAPPY' || codec === 'UNCOMPRESSED') {
        console.log(line)
        continue
      }
      const reader = new ArchiveReader(out)
      // One series: a few, at random, the reader's footer cache warm as in a server.
      await reader.list()
      const rnd = prng(9)
      let readMs = 0
      let readBytes = 0
      const tries = 20
      for (let k = 0; k < tries; k++) {
        const s = data[Math.floor(rnd() * data.length)] as SeriesData
        const t1 = performance.now()
        const got = await collect(reader.raw(s.key, T0, T0 + DAY))
        readMs += performance.now() - t1
        if (got.timestamps.length !== s.timestamps.length) throw new Error(`${s.key}: wrong count`)
        const file = await openArchiveFile(f.path)
        for await (const _ of file.series(s.key, T0, T0 + DAY)) {
        }
        readBytes += file.bytesRead
        await file.close()
      }
      // The whole file decoded (reimport to nowhere), for comparison.
      const t2 = performance.now()
      const n = await reader.reimport(f, async () => {})
      const allMs = performance.now() - t2
      console.log(
        `${line}\n      one series: ${fmt(readMs / tries)} ms, ${fmt(readBytes / tries / 1024, 1)} KiB read of ${fmt(f.bytes / 1024, 0)} KiB;` +
          ` whole file decode+batch: ${fmt(allMs, 0)} ms (${fmt(n / allMs / 1000)} M pt/s)`,
      )
    }
    await storage.close()
  })
}

async function reimportIntoEngine(data: SeriesData[]): Promise<void> {
  const { TimeSeriesEngine } = await import('../../src/engine/engine.js')
  await withDir(async (dir) => {
    await mkdir(join(dir, 'src'))
    const storage = await buildStorage(join(dir, 'src'), data)
    const [partition] = (await storage.partitions()).filter(
      (p) => (p as { tier?: string }).tier === undefined || (p as { tier?: string }).tier === 'raw',
    )
    if (partition === undefined) throw new Error('no partition')
    const f = await exportPartition(storage, partition, join(dir, 'archive'))
    await storage.close()
    const engine = await TimeSeriesEngine.open(join(dir, 'engine'), {
      fsync: false,
      sealCheckMs: 0,
      now: () => T0 + 2 * DAY,
      graceMs: 0,
    })
    const reader = new ArchiveReader(join(dir, 'archive'))
    const t0 = performance.now()
    const n = await reader.reimport(f, (points) => engine.write(points), { batchPoints: 8192 })
    const writeMs = performance.now() - t0
    await engine.flush()
    const totalMs = performance.now() - t0
    await engine.close()
    console.log(
      `\nreimport into TimeSeriesEngine (fsync off): ${n} points, write ${fmt(n / writeMs / 1000)} M pt/s,` +
        ` with flush (seal to SQLite) ${fmt(n / totalMs / 1000)} M pt/s`,
    )
  })
}

const mixed = dataset(kindOf, nSeries)
await measure('mixed (40% quantised, 20% counter, 20% noise, 10% integers, 10% irregular)', mixed, true)
for (const kind of ['quantised', 'counter', 'noise', 'integers', 'irregular'] as Kind[]) {
  await measure(
    kind,
    dataset(() => kind, 100),
    false,
  )
}
await reimportIntoEngine(mixed)
