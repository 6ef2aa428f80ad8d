import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Wal, type WalPoint } from '../../src/wal/index.js'
import {
  type ColumnRecord,
  decodeFrame,
  decodeFrameColumns,
  FRAME_HEADER,
  FrameBuffer,
  PointColumns,
  type ReplayedRecord,
} from '../../src/wal/record-codec.js'
import { batchPoints, bits, pointValue, prng, withDir } from './helpers.js'

/** replayColumns()' records as replay() gives them (points copied out of the columns). */
function asReplayed(r: ColumnRecord): ReplayedRecord {
  if (r.type === 'series') return r
  const points: WalPoint[] = []
  for (let i = r.start; i < r.end; i++)
    points.push({
      series: r.cols.series[i] as number,
      ts: r.cols.ts[i] as number,
      value: r.cols.values[i] as number,
    })
  return { type: 'points', points, position: r.position }
}

function same(a: readonly ReplayedRecord[], b: readonly ReplayedRecord[]): void {
  assert.equal(a.length, b.length)
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as ReplayedRecord
    const y = b[k] as ReplayedRecord
    if (x.type === 'points' && y.type === 'points') {
      assert.equal(x.position, y.position)
      assert.deepEqual(
        x.points.map((p) => [p.series, p.ts, bits(p.value)]),
        y.points.map((p) => [p.series, p.ts, bits(p.value)]),
      )
    } else assert.deepEqual(x, y)
  }
}

test('replayColumns gives replay()’s records, bit-exact, across segments and from a position', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir, { segmentBytes: 4096 })
    const rand = prng(7)
    const positions: number[] = []
    positions.push(wal.append({ type: 'series', id: 7, key: 'device-1/temperature °C' }))
    positions.push(wal.append({ type: 'series', id: 8, key: 'd/x', retentionClass: 'short' }))
    for (let n = 0; n < 300; n++) {
      const pts = batchPoints(n, 1 + Math.floor(rand() * 40))
      if (n % 7 === 0)
        pts.push({ series: 2 ** 32 - 1, ts: n % 2 ? -(2 ** 51) : 2 ** 51, value: pointValue(n, 3) })
      positions.push(wal.append({ type: 'points', points: pts }))
      if (n % 5 === 0) await wal.commit()
    }
    positions.push(wal.append({ type: 'points', points: [] }))
    await wal.commit()
    for (const from of [undefined, positions[1], positions[150], positions[positions.length - 1]]) {
      const options = from === undefined ? {} : { from }
      const a: ReplayedRecord[] = []
      for await (const r of wal.replay(options)) a.push(r)
      const b: ReplayedRecord[] = []
      for await (const r of wal.replayColumns(options)) b.push(asReplayed(r))
      same(a, b)
    }
    await wal.close()
  })
})

test('decodeFrameColumns refuses what decodeFrame refuses, at the same offset (damaged bodies)', () => {
  const rand = prng(11)
  let compared = 0
  for (let round = 0; round < 2000; round++) {
    const fb = new FrameBuffer()
    const records = 1 + Math.floor(rand() * 4)
    for (let r = 0; r < records; r++) {
      if (rand() < 0.2) fb.append({ type: 'series', id: Math.floor(rand() * 1e6), key: `k${r}` })
      else fb.append({ type: 'points', points: batchPoints(round + r, 1 + Math.floor(rand() * 20)) })
    }
    let body = Buffer.from(fb.take().subarray(FRAME_HEADER))
    if (rand() < 0.5) body = body.subarray(0, Math.floor(rand() * body.length))
    const flips = Math.floor(rand() * 3)
    for (let f = 0; f < flips && body.length > 0; f++)
      body[Math.floor(rand() * body.length)] = Math.floor(rand() * 256)
    const a: ReplayedRecord[] = []
    let ea: { offset: number; message: string } | undefined
    try {
      decodeFrame(body, 1000, 0, a)
    } catch (err) {
      ea = { offset: (err as { offset: number }).offset, message: (err as Error).message }
    }
    const b: ColumnRecord[] = []
    let eb: { offset: number; message: string } | undefined
    try {
      decodeFrameColumns(body, 1000, 0, new PointColumns(), b)
    } catch (err) {
      eb = { offset: (err as { offset: number }).offset, message: (err as Error).message }
    }
    // Columns hold u32 ids only: a damaged id past that is refused (decodeFrame hands it on).
    if (eb?.message.includes('unsigned 32-bit')) continue
    assert.deepEqual(eb, ea)
    if (ea === undefined) same(a, b.map(asReplayed))
    compared++
  }
  assert.ok(compared > 1500, `compared ${compared}`)
})
