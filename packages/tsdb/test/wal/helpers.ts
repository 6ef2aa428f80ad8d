import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ReplayedRecord, Wal, WalPoint } from '../../src/wal/index.js'

/** mulberry32: a tiny seeded PRNG, so that a failing case reproduces. */
export function prng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A temporary directory removed after `fn`; the WAL goes in its `wal` child. */
export async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), 'strata-wal-'))
  try {
    return await fn(join(root, 'wal'))
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

/**
 * The points of batch `n`: deterministic, so that a reader can check a batch
 * is intact from its number alone (carried in the timestamps). Values mix
 * integers, decimals, -0, NaN with a payload and raw bit patterns.
 */
export function batchPoints(n: number, size: number): WalPoint[] {
  const points: WalPoint[] = []
  for (let i = 0; i < size; i++) {
    points.push({
      series: (n * 31 + i) % 1000,
      ts: 1_700_000_000_000 + n * 10_000 + i,
      value: pointValue(n, i),
    })
  }
  return points
}

const scratch = new DataView(new ArrayBuffer(8))

export function pointValue(n: number, i: number): number {
  switch ((n + i) % 5) {
    case 0:
      return n * 1000 + i
    case 1:
      return (n + i) / 7
    case 2:
      return i % 2 === 0 ? -0 : Number.NEGATIVE_INFINITY
    case 3:
      scratch.setUint32(0, 0x7ff80000 | (n & 0xffff))
      scratch.setUint32(4, i)
      return scratch.getFloat64(0)
    default:
      scratch.setUint32(0, (Math.imul(n, 0x9e3779b1) >>> 0) & 0x7fefffff)
      scratch.setUint32(4, Math.imul(i + 1, 0x85ebca6b) >>> 0)
      return scratch.getFloat64(0)
  }
}

/** The float64's bits as a string, so that NaN payloads and -0 compare exactly. */
export function bits(v: number): string {
  scratch.setFloat64(0, v)
  return scratch.getBigUint64(0).toString(16)
}

/** Batch number of a replayed points record (from its first timestamp). */
export const batchOf = (points: readonly WalPoint[]): number =>
  Math.floor(((points[0] as WalPoint).ts - 1_700_000_000_000) / 10_000)

/** Whether `points` are exactly batch `n`'s. */
export function isIntact(points: readonly WalPoint[], n: number, size: number): boolean {
  const want = batchPoints(n, size)
  if (points.length !== size) return false
  return want.every((w, i) => {
    const p = points[i] as WalPoint
    return p.series === w.series && p.ts === w.ts && bits(p.value) === bits(w.value)
  })
}

export async function collect(wal: Wal, from?: number): Promise<ReplayedRecord[]> {
  const out: ReplayedRecord[] = []
  for await (const r of wal.replay(from === undefined ? {} : { from })) out.push(r)
  return out
}
