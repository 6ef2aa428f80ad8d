/**
 * Shared pieces of the archive tests: series data of several kinds, a real
 * SqliteChunkStorage filled with chunks made by the codec (one writeWindow
 * per hour window, as the engine seals), and bit-exact comparisons.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ArchiveBatch } from '../../src/archive/index.js'
import { encodeChunk, MAX_CHUNK_POINTS } from '../../src/codec/chunk.js'
import type { SeriesRecord, StoredChunk } from '../../src/storage/chunk-storage.js'
import { SqliteChunkStorage } from '../../src/storage/sqlite-storage.js'

/** 2025-01-01T00:00:00Z. */
export const T0 = Date.UTC(2025, 0, 1)
export const HOUR = 3_600_000
export const DAY = 86_400_000

export async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), 'strata-archive-'))
  try {
    return await fn(root)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

/** A deterministic PRNG in [0, 1) (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const f64 = new Float64Array(1)
const u64 = new BigUint64Array(f64.buffer)
export const bitsOf = (v: number): bigint => {
  f64[0] = v
  return u64[0] as bigint
}
export const fromBits = (b: bigint): number => {
  u64[0] = b
  return f64[0] as number
}

export interface SeriesData {
  readonly key: string
  readonly device: string
  /** Sorted, unique ms. */
  readonly timestamps: Float64Array
  readonly values: Float64Array
}

export type Kind = 'quantised' | 'noise' | 'special' | 'integers' | 'irregular' | 'counter'

/** Values a sensor would send: the special kind holds every awkward double there is. */
export const SPECIALS: number[] = [
  Number.NaN,
  -0,
  0,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  2.2250738585072009e-308, // largest subnormal
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  2 ** 53,
  -(2 ** 53),
  Number.EPSILON,
]

/**
 * NaNs with payloads, as bits: written into a Float64Array through a BigUint64Array view,
 * never through a JavaScript number (x86 quiets a signalling NaN that passes through one).
 */
export const NAN_BITS: bigint[] = [
  0x7ff4_0000_0000_0001n, // signalling, payload 1
  0xfff8_dead_beef_0000n, // negative quiet, with a payload
  0x7ff0_0000_0000_0001n, // the smallest signalling NaN
  0xffff_ffff_ffff_ffffn,
]

/** `n` points of one kind from `start`, at `stepMs` (jittered for 'irregular'). */
export function series(
  key: string,
  kind: Kind,
  start: number,
  n: number,
  stepMs = 1000,
  seed = 1,
): SeriesData {
  const rnd = prng(seed)
  const ts = new Float64Array(n)
  const vs = new Float64Array(n)
  let t = start
  let level = 20 + rnd() * 5
  for (let i = 0; i < n; i++) {
    ts[i] = t
    t += kind === 'irregular' ? 1 + Math.floor(rnd() * rnd() * stepMs * 20) : stepMs
    switch (kind) {
      case 'quantised':
        level += (rnd() - 0.5) * 0.2
        vs[i] = Math.round(level * 10) / 10
        break
      case 'noise':
      case 'irregular':
        vs[i] = (rnd() - 0.5) * 2 ** Math.floor(rnd() * 40 - 20)
        break
      case 'special':
        // Every SPECIALS value, then room for the NaN_BITS patterns (filled in below).
        vs[i] = SPECIALS[i % (SPECIALS.length + NAN_BITS.length)] ?? 0
        break
      case 'integers':
        vs[i] = Math.floor((rnd() - 0.5) * 2 ** 54) // up to ±2^53
        break
      case 'counter':
        vs[i] = i * 3 + (rnd() < 0.1 ? 1 : 0)
        break
    }
  }
  if (kind === 'special') {
    const bits = new BigUint64Array(vs.buffer)
    for (let i = SPECIALS.length; i < n; i += SPECIALS.length + NAN_BITS.length) {
      for (let k = 0; k < NAN_BITS.length && i + k < n; k++) bits[i + k] = NAN_BITS[k] as bigint
    }
  }
  return { key, device: key.slice(0, key.indexOf('/')), timestamps: ts, values: vs }
}

/** A chunk with its summary, as the engine stores it. */
function chunk(seriesId: number, ts: Float64Array, vs: Float64Array): StoredChunk {
  let sum = 0
  let min = Number.NaN
  let max = Number.NaN
  for (const v of vs) {
    sum += v
    if (!Number.isNaN(v)) {
      if (!(min <= v)) min = v
      if (!(max >= v)) max = v
    }
  }
  return {
    seriesId,
    startTs: ts[0] as number,
    endTs: ts[ts.length - 1] as number,
    count: ts.length,
    min,
    max,
    sum,
    first: vs[0] as number,
    last: vs[vs.length - 1] as number,
    data: encodeChunk(ts, vs),
  }
}

/**
 * Opens a SqliteChunkStorage in `dir` holding `data`: the catalogue (ids from 1 in the given
 * order), and per hour window one writeWindow() with every series' chunks of that window.
 */
export async function buildStorage(dir: string, data: readonly SeriesData[]): Promise<SqliteChunkStorage> {
  const storage = await SqliteChunkStorage.open(dir, { fsync: false })
  const records: SeriesRecord[] = data.map((s, i) => ({ id: i + 1, key: s.key, device: s.device }))
  await storage.addSeries(records)
  const windows = new Map<number, StoredChunk[]>()
  data.forEach((s, i) => {
    const ts = s.timestamps
    let a = 0
    while (a < ts.length) {
      const w = Math.floor((ts[a] as number) / HOUR) * HOUR
      let b = a
      while (b < ts.length && (ts[b] as number) < w + HOUR && b - a < MAX_CHUNK_POINTS) b++
      const list = windows.get(w) ?? []
      windows.set(w, list)
      list.push(chunk(i + 1, ts.subarray(a, b), s.values.subarray(a, b)))
      a = b
    }
  })
  for (const [start, chunks] of [...windows].sort((x, y) => x[0] - y[0])) {
    // Not a literal: the storage interface is gaining fields (rollups) meanwhile.
    const write = { start, end: start + HOUR, replace: false, chunks, rollups: [], sealPosition: 0 }
    await storage.writeWindow(write)
  }
  return storage
}

/** The points of `s` in [from, to). */
export function slice(s: SeriesData, from: number, to: number): ArchiveBatch {
  let a = 0
  while (a < s.timestamps.length && (s.timestamps[a] as number) < from) a++
  let b = a
  while (b < s.timestamps.length && (s.timestamps[b] as number) < to) b++
  return { timestamps: s.timestamps.subarray(a, b), values: s.values.subarray(a, b) }
}

/** All batches in one, copied byte for byte (a number[] may not keep NaN payloads). */
export async function collect(it: AsyncIterable<ArchiveBatch>): Promise<ArchiveBatch> {
  const parts: ArchiveBatch[] = []
  let n = 0
  for await (const b of it) {
    parts.push({ timestamps: b.timestamps.slice(), values: b.values.slice() })
    n += b.timestamps.length
  }
  const out = { timestamps: new Float64Array(n), values: new Float64Array(n) }
  let at = 0
  for (const p of parts) {
    out.timestamps.set(p.timestamps, at)
    out.values.set(p.values, at)
    at += p.timestamps.length
  }
  return out
}

/** Same timestamps, and values bit for bit. */
export function assertSameBatch(actual: ArchiveBatch, expected: ArchiveBatch, what: string): void {
  assert.equal(actual.timestamps.length, expected.timestamps.length, `${what}: point count`)
  const ab = new BigUint64Array(actual.values.buffer, actual.values.byteOffset, actual.values.length)
  const eb = new BigUint64Array(expected.values.buffer, expected.values.byteOffset, expected.values.length)
  for (let i = 0; i < expected.timestamps.length; i++) {
    if (actual.timestamps[i] !== expected.timestamps[i] || ab[i] !== eb[i]) {
      assert.fail(
        `${what}: point ${i} is (${actual.timestamps[i]}, 0x${ab[i]?.toString(16)}),` +
          ` expected (${expected.timestamps[i]}, 0x${eb[i]?.toString(16)})`,
      )
    }
  }
}
