/**
 * Chunk codec benchmark (issue 4): bytes per point and throughput on the
 * issue's signal kinds (bench/signals.ts), 3 hours at 1 s per series.
 * Run: node --import tsx packages/tsdb/bench/codec.bench.ts   (env ROUNDS=n, MS=per-measurement ms)
 *
 * Chunks hold one hour (3,600 points at 1 s): the unit a query over a time range
 * decodes and a retention job drops; Gorilla used two-hour blocks. At this size
 * the fixed part of a chunk (version, count, encodings, first timestamp: about
 * 15 bytes) costs 0.004 bytes/point: the "ours ts" column of regular series.
 *
 * Compared: ours (encodeChunk, auto), plain Gorilla (delta-of-delta timestamps
 * with our ms buckets and XOR values, in the same container) and raw float64 +
 * int64 (16 bytes/point). The last columns try deflate and brotli over our chunks,
 * to show whether a general-purpose compressor would pay on top.
 */
import { brotliCompressSync, constants, deflateRawSync } from 'node:zlib'
import { chunkInfo, decodeChunk, type EncodeChunkOptions, encodeChunk } from '../src/index.js'
import { type Series, signals } from './signals.js'

const ROUNDS = Number(process.env.ROUNDS ?? 5)
const MS = Number(process.env.MS ?? 200)
const HOUR = 3_600_000

interface Chunk {
  timestamps: number[]
  values: Float64Array
}

function hourChunks(s: Series): Chunk[] {
  const out: Chunk[] = []
  let from = 0
  for (let i = 1; i <= s.timestamps.length; i++) {
    const here = i < s.timestamps.length ? Math.floor((s.timestamps[i] as number) / HOUR) : Number.NaN
    if (here !== Math.floor((s.timestamps[from] as number) / HOUR)) {
      out.push({ timestamps: s.timestamps.slice(from, i), values: s.values.slice(from, i) })
      from = i
    }
  }
  return out
}

const TS_NAMES = ['regular', 'gorilla', 'packed', 'grid']
const VALUE_NAMES = ['constant', 'decimal', 'xor', 'raw', 'split']

function sameBits(a: Float64Array, b: Float64Array): boolean {
  const x = new BigUint64Array(a.buffer, a.byteOffset, a.length)
  const y = new BigUint64Array(b.buffer, b.byteOffset, b.length)
  return x.length === y.length && x.every((v, i) => v === y[i])
}

let sink = 0

/**
 * Runs fn (which handles `per` points) repeatedly for ~MS ms; returns points per
 * second of this process's CPU time, so that other load on a shared machine
 * does not count against the codec.
 */
function measure(fn: () => void, per: number): number {
  for (let i = 0; i < 3; i++) fn()
  let n = 0
  const start = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  const budget = BigInt(MS) * 1_000_000n
  do {
    fn()
    n += per
  } while (process.hrtime.bigint() - start < budget)
  const used = process.cpuUsage(cpu)
  return n / ((used.user + used.system) / 1e6)
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

const f3 = (x: number): string => x.toFixed(3)
const mps = (x: number): string => `${(x / 1e6).toFixed(1)} M/s`

function table(rows: string[][]): void {
  const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length)))
  for (const r of rows)
    console.log(
      r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number)))
        .join('  '),
    )
}

function run(): void {
  const series = signals()
  const gorilla: EncodeChunkOptions = { timestamps: 'gorilla', values: 'xor' }
  console.log(`node ${process.version}; ${series.length} series, 1 h chunks; ${ROUNDS} rounds x ${MS} ms\n`)
  const rows = [
    [
      'bytes/point',
      'ours ts',
      'values',
      'total',
      'gorilla ts',
      'values',
      'total',
      'raw',
      '+deflate',
      '+brotli',
      'encodings',
    ],
  ]
  const speed = [['points/s', 'ours encode', 'ours decode', 'gorilla enc', 'gorilla dec']]
  const sum = { ours: 0, gorilla: 0, deflate: 0, brotli: 0, points: 0 }
  const allChunks: Chunk[] = []
  for (const s of series) {
    const chunks = hourChunks(s)
    allChunks.push(...chunks)
    const n = s.timestamps.length
    const ours = chunks.map((c) => encodeChunk(c.timestamps, c.values))
    const ref = chunks.map((c) => encodeChunk(c.timestamps, c.values, gorilla))
    for (const [i, bytes] of [...ours, ...ref].entries()) {
      const c = chunks[i % chunks.length] as Chunk
      const d = decodeChunk(bytes)
      if (!sameBits(d.values, c.values) || d.timestamps.some((t, j) => t !== c.timestamps[j])) {
        throw new Error(`${s.name}: chunk ${i} does not round-trip`)
      }
    }
    const parts = (chunks: Uint8Array[]) =>
      chunks
        .map(chunkInfo)
        .reduce((a, b) => ({ ts: a.ts + b.timestampBytes, values: a.values + b.valueBytes }), {
          ts: 0,
          values: 0,
        })
    const o = parts(ours)
    const g = parts(ref)
    const deflated = ours.reduce((a, b) => a + Math.min(b.length, deflateRawSync(b, { level: 9 }).length), 0)
    const brotli = ours.reduce(
      (a, b) =>
        a +
        Math.min(
          b.length,
          brotliCompressSync(b, {
            params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: b.length },
          }).length,
        ),
      0,
    )
    const encodings = ours.map((b) => {
      const info = chunkInfo(b)
      return `${TS_NAMES[info.timestampEncoding]}/${VALUE_NAMES[info.valueEncoding]}`
    })
    rows.push([
      `${s.name} (${n})`,
      f3(o.ts / n),
      f3(o.values / n),
      f3((o.ts + o.values) / n),
      f3(g.ts / n),
      f3(g.values / n),
      f3((g.ts + g.values) / n),
      '16',
      f3(deflated / n),
      f3(brotli / n),
      [...new Set(encodings)].join(' '),
    ])
    sum.ours += o.ts + o.values
    sum.gorilla += g.ts + g.values
    sum.deflate += deflated
    sum.brotli += brotli
    sum.points += n

    const r = { oe: [] as number[], od: [] as number[], ge: [] as number[], gd: [] as number[] }
    for (let round = 0; round < ROUNDS; round++) {
      r.oe.push(
        measure(() => {
          for (const c of chunks) sink += encodeChunk(c.timestamps, c.values).length
        }, n),
      )
      r.od.push(
        measure(() => {
          for (const b of ours) sink += decodeChunk(b).values.length
        }, n),
      )
      r.ge.push(
        measure(() => {
          for (const c of chunks) sink += encodeChunk(c.timestamps, c.values, gorilla).length
        }, n),
      )
      r.gd.push(
        measure(() => {
          for (const b of ref) sink += decodeChunk(b).values.length
        }, n),
      )
    }
    speed.push([s.name, mps(median(r.oe)), mps(median(r.od)), mps(median(r.ge)), mps(median(r.gd))])
  }
  rows.push([
    `all (${sum.points})`,
    '',
    '',
    f3(sum.ours / sum.points),
    '',
    '',
    f3(sum.gorilla / sum.points),
    '16',
    f3(sum.deflate / sum.points),
    f3(sum.brotli / sum.points),
    '',
  ])
  table(rows)
  console.log()
  // All series mixed, as an ingest would see them.
  const encoded = allChunks.map((c) => encodeChunk(c.timestamps, c.values))
  const mixE: number[] = []
  const mixD: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    mixE.push(
      measure(() => {
        for (const c of allChunks) sink += encodeChunk(c.timestamps, c.values).length
      }, sum.points),
    )
    mixD.push(
      measure(() => {
        for (const b of encoded) sink += decodeChunk(b).values.length
      }, sum.points),
    )
  }
  speed.push(['all series', mps(median(mixE)), mps(median(mixD)), '', ''])
  table(speed)
  if (sink === 0) console.log('')
}

run()
