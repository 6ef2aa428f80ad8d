import assert from 'node:assert/strict'
import { open, readdir, readFile, rename, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { writeCheckpoint } from '../../src/wal/checkpoint-file.js'
import { Wal, WalCorruptError, WalLockedError, type WalPoint } from '../../src/wal/index.js'
import { FRAME_HEADER, FrameBuffer } from '../../src/wal/record-codec.js'
import { batchOf, batchPoints, bits, collect, isIntact, prng, withDir } from './helpers.js'

const SEGMENT = 'wal-000000000001.log'

test('round trip: points bit-exact, series definitions, positions, across segments and reopen', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir, { segmentBytes: 4096 })
    const positions: number[] = []
    positions.push(wal.append({ type: 'series', id: 7, key: 'device-1/temperature °C' }))
    for (let n = 0; n < 200; n++) {
      positions.push(wal.append({ type: 'points', points: batchPoints(n, 1 + (n % 17)) }))
      if (n % 3 === 0) await wal.commit()
    }
    positions.push(wal.append({ type: 'points', points: [] }))
    await wal.commit()
    assert.equal(wal.durablePosition, wal.position)
    assert.ok(wal.stats.segments > 3, `segments: ${wal.stats.segments}`)
    const extremes = [-0, Number.NaN, Number.MIN_VALUE, Number.MAX_VALUE, -Infinity, 2 ** 53 + 2]
    const edge: WalPoint[] = extremes.map((value, i) => ({
      series: 2 ** 32 - 1,
      ts: i % 2 ? -(2 ** 51) : 2 ** 51,
      value,
    }))
    positions.push(wal.append({ type: 'points', points: edge }))
    // A series of another retention class: a record type of its own (0x03); 'default' stays 0x02.
    positions.push(wal.append({ type: 'series', id: 8, key: 'd/x', retentionClass: 'long-term' }))
    await wal.close()

    const again = await Wal.open(dir, { segmentBytes: 4096 })
    const records = await collect(again)
    assert.deepEqual(
      records.map((r) => r.position),
      positions,
    )
    assert.deepEqual(records[0], {
      type: 'series',
      id: 7,
      key: 'device-1/temperature °C',
      retentionClass: 'default',
      position: positions[0],
    })
    assert.deepEqual(records[203], {
      type: 'series',
      id: 8,
      key: 'd/x',
      retentionClass: 'long-term',
      position: positions[203],
    })
    for (let n = 0; n < 200; n++) {
      const r = records[n + 1]
      assert.ok(r?.type === 'points' && isIntact(r.points, n, 1 + (n % 17)), `batch ${n}`)
    }
    assert.deepEqual(records[201], { type: 'points', points: [], position: positions[201] })
    const last = records[202]
    assert.ok(last?.type === 'points')
    assert.deepEqual(
      last.points.map((p) => [p.series, p.ts, bits(p.value)]),
      edge.map((p) => [p.series, p.ts, bits(p.value)]),
    )
    // Replay from a position in the middle yields the records at or after it.
    const mid = positions[100] as number
    assert.deepEqual(
      (await collect(again, mid)).map((r) => r.position),
      positions.slice(100),
    )
    await again.close()
  })
})

test('append refuses bad points whole, leaving the log as it was', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir, { fsync: false })
    wal.append({ type: 'points', points: batchPoints(1, 3) })
    const before = wal.position
    const bad: WalPoint[][] = [
      [...batchPoints(2, 3), { series: -1, ts: 0, value: 0 }],
      [{ series: 1.5, ts: 0, value: 0 }],
      [{ series: 1, ts: 0.5, value: 0 }],
      [{ series: 1, ts: 2 ** 52, value: 0 }],
      [{ series: 1, ts: 0, value: '1' as unknown as number }],
    ]
    for (const points of bad) assert.throws(() => wal.append({ type: 'points', points }), RangeError)
    assert.throws(() => wal.append({ type: 'series', id: 2 ** 32, key: 'x' }), RangeError)
    assert.equal(wal.position, before)
    await wal.commit()
    const records = await collect(wal)
    assert.equal(records.length, 1)
    await wal.close()
  })
})

test('a torn tail is truncated at open, and the log goes on after it', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir)
    for (let n = 0; n < 10; n++) {
      wal.append({ type: 'points', points: batchPoints(n, 50) })
      await wal.commit()
    }
    const durable = wal.durablePosition
    await wal.close()
    const path = join(dir, SEGMENT)
    const size = (await stat(path)).size
    // A flush cut short: a frame header and half its body, as a kill during write() leaves it.
    const whole = await readFile(path)
    const tail = whole.subarray(16, 16 + 400)
    await writeFile(path, tail, { flag: 'a' })

    const again = await Wal.open(dir)
    assert.equal(again.stats.tornBytesOnOpen, 400)
    assert.equal((await stat(path)).size, size)
    assert.equal(again.durablePosition, durable)
    again.append({ type: 'points', points: batchPoints(10, 50) })
    await again.commit()
    const records = await collect(again)
    assert.deepEqual(
      records.map((r) => (r.type === 'points' ? batchOf(r.points) : -1)),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    )
    await again.close()
  })
})

test('a torn flush with a hole in it is still a torn tail (its later frames point back into it)', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir)
    wal.append({ type: 'points', points: batchPoints(0, 10) })
    await wal.commit()
    // One flush of three frames (each record passes the 1 MiB frame target).
    const starts = [0, 1, 2].map((k) => wal.append({ type: 'points', points: batchPoints(1 + k, 100_000) }))
    await wal.commit()
    await wal.close()
    // Pages of the last write reached the disk out of order: a hole in the second frame.
    const path = join(dir, SEGMENT)
    const fh = await open(path, 'r+')
    await fh.write(Buffer.alloc(4096), 0, 4096, 16 + (starts[1] as number) + 100_000)
    await fh.close()

    const again = await Wal.open(dir)
    assert.ok(again.stats.tornBytesOnOpen > 2_000_000)
    const records = await collect(again)
    assert.deepEqual(
      records.map((r) => (r.type === 'points' ? batchOf(r.points) : -1)),
      [0, 1],
    )
    await again.close()
  })
})

test('bad bytes before the last flush are refused at open, naming file and offset', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir)
    const positions: number[] = []
    for (let n = 0; n < 5; n++) {
      positions.push(wal.append({ type: 'points', points: batchPoints(n, 20) }))
      await wal.commit()
    }
    await wal.close()
    const path = join(dir, SEGMENT)
    const fh = await open(path, 'r+')
    const at = 16 + (positions[2] as number) + 30
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, at)
    b[0] = (b[0] as number) ^ 0x10
    await fh.write(b, 0, 1, at)
    await fh.close()

    const frameStart = 16 + (positions[2] as number) - 16
    await assert.rejects(Wal.open(dir), (err: unknown) => {
      assert.ok(err instanceof WalCorruptError)
      assert.equal(err.code, 'STRATA_WAL_CORRUPT')
      assert.equal(err.file, path)
      assert.equal(err.offset, frameStart)
      assert.match(err.message, new RegExp(`${path} at byte offset ${frameStart}: CRC mismatch`))
      return true
    })
    // Refused, not repaired: the file is untouched and the lock was released.
    await assert.rejects(Wal.open(dir), WalCorruptError)
  })
})

test('bad bytes in an earlier segment are refused by replay; a short earlier segment at open', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir, { segmentBytes: 2048 })
    for (let n = 0; n < 40; n++) {
      wal.append({ type: 'points', points: batchPoints(n, 20) })
      await wal.commit()
    }
    await wal.close()
    const path = join(dir, SEGMENT)
    const fh = await open(path, 'r+')
    await fh.write(Buffer.from([0xff, 0xff]), 0, 2, 100)
    await fh.close()
    const again = await Wal.open(dir, { segmentBytes: 2048 })
    await assert.rejects(
      collect(again),
      (err: unknown) => err instanceof WalCorruptError && err.file === path,
    )
    await again.close()

    const size = (await stat(path)).size
    const cut = await open(path, 'r+')
    await cut.truncate(size - 10)
    await cut.close()
    await assert.rejects(Wal.open(dir), (err: unknown) => {
      assert.ok(err instanceof WalCorruptError)
      assert.match(err.message, /segment ends at log position \d+ but the next one begins at \d+/)
      return true
    })
  })
})

test('a checkpoint past the end of the log (fsync off, machine crash): open() goes on after it, and again', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir, { segmentBytes: 1024, fsync: false })
    for (let n = 0; n < 10; n++) {
      wal.append({ type: 'points', points: batchPoints(n, 20) })
      await wal.commit()
    }
    const end = wal.position
    await wal.close()
    // The checkpoint survived, the log bytes it covers did not.
    await writeCheckpoint(dir, end + 5000, false)
    let w = await Wal.open(dir, { segmentBytes: 1024, fsync: false })
    assert.equal(w.position, end + 5000)
    const at = w.append({ type: 'points', points: batchPoints(10, 20) })
    await w.commit()
    await w.close()
    // The segments before the new one end before the checkpoint, with a gap behind them that
    // nothing needs: the second open deletes them rather than refusing the gap.
    w = await Wal.open(dir, { segmentBytes: 1024, fsync: false })
    const records = await collect(w)
    assert.equal(records.length, 1)
    assert.ok(records[0]?.type === 'points' && records[0].position === at)
    assert.equal(w.stats.segments, 1)
    await w.close()
  })
})

test('a segment cut short before the checkpoint, its successor after it, is refused, not deleted', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir, { segmentBytes: 1024 })
    const positions: number[] = []
    for (let n = 0; n < 40; n++) {
      positions.push(wal.append({ type: 'points', points: batchPoints(n, 20) }))
      await wal.commit()
    }
    await wal.close()
    const [first, second] = (await segmentFiles(dir)).map(([f]) => f)
    const path = join(dir, first as string)
    const secondBase = (await readFile(join(dir, second as string))).readUInt32LE(8)
    // A checkpoint inside the first segment, which then loses its tail past the checkpoint.
    const cp = (positions.find((p) => p > 0) as number) + 10
    assert.ok(cp < secondBase)
    await writeCheckpoint(dir, cp, false)
    await truncate(path, 16 + cp - 5)
    await assert.rejects(Wal.open(dir), (err: unknown) => {
      assert.ok(err instanceof WalCorruptError && err.file === path, String(err))
      return true
    })
    assert.ok((await readdir(dir)).includes(first as string), 'the short segment is still there')
  })
})

test('group commit: 100 concurrent committers share few writes and fdatasyncs', async (t) => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir)
    // Count the real fdatasync calls on every FileHandle, not only the Wal's own counter.
    const probe = await open(join(dir, 'LOCK'), 'r')
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> }
    await probe.close()
    const original = proto.datasync
    let datasyncs = 0
    proto.datasync = function (this: unknown) {
      datasyncs++
      return original.call(this)
    }
    const rounds = 10
    try {
      await Promise.all(
        Array.from({ length: 100 }, async (_, c) => {
          for (let r = 0; r < rounds; r++) {
            wal.append({ type: 'points', points: batchPoints(c * rounds + r, 10) })
            await wal.commit()
          }
        }),
      )
    } finally {
      proto.datasync = original
    }
    const { flushes, fsyncs, commits, records, points } = wal.stats
    assert.equal(commits, 100 * rounds)
    assert.equal(records, 100 * rounds)
    assert.equal(points, 100 * rounds * 10)
    assert.equal(fsyncs, flushes)
    assert.equal(datasyncs, fsyncs)
    t.diagnostic(`${commits} commits, ${flushes} flushes, ${datasyncs} fdatasync calls`)
    assert.ok(flushes <= 3 * rounds, `${flushes} flushes for ${commits} commits`)
    const seen = new Set((await collect(wal)).map((r) => (r.type === 'points' ? batchOf(r.points) : -1)))
    assert.equal(seen.size, 100 * rounds)
    await wal.close()
  })
})

test('commit(signal): aborting stops the waiting, not the write', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir)
    wal.append({ type: 'points', points: batchPoints(0, 5) })
    const first = wal.commit()
    wal.append({ type: 'points', points: batchPoints(1, 5) })
    const ac = new AbortController()
    const second = wal.commit(ac.signal)
    ac.abort()
    await assert.rejects(second, { name: 'AbortError' })
    await first
    await wal.commit()
    assert.equal((await collect(wal)).length, 2)
    await assert.rejects(wal.commit(AbortSignal.abort()), { name: 'AbortError' })
    await wal.close()
  })
})

test('checkpoint deletes whole segments before it, persists, and replay starts there', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir, { segmentBytes: 1024 })
    const positions: number[] = []
    for (let n = 0; n < 100; n++) {
      positions.push(wal.append({ type: 'points', points: batchPoints(n, 10) }))
      await wal.commit()
    }
    const segmentsBefore = wal.stats.segments
    const cp = positions[60] as number
    await wal.checkpoint(cp)
    assert.equal(wal.checkpointPosition, cp)
    assert.ok(
      wal.stats.segments < segmentsBefore / 2,
      `${wal.stats.segments} of ${segmentsBefore} segments left`,
    )
    const files = (await readdir(dir)).filter((f) => f.endsWith('.log'))
    assert.equal(files.length, wal.stats.segments)
    const batches = (await collect(wal)).map((r) => (r.type === 'points' ? batchOf(r.points) : -1))
    assert.deepEqual(
      batches,
      Array.from({ length: 40 }, (_, i) => 60 + i),
    )
    await assert.rejects(collect(wal, 0), RangeError)
    // An older checkpoint is ignored; one past the end of the log is refused.
    await wal.checkpoint(positions[10] as number)
    assert.equal(wal.checkpointPosition, cp)
    await assert.rejects(wal.checkpoint(wal.position + 1), RangeError)
    await wal.close()

    const again = await Wal.open(dir, { segmentBytes: 1024 })
    assert.equal(again.checkpointPosition, cp)
    assert.equal((await collect(again)).length, 40)
    // Checkpoint at the very end, with records still in the buffer: it commits them first.
    again.append({ type: 'points', points: batchPoints(100, 10) })
    await again.checkpoint(again.position)
    assert.equal(again.stats.segments, 1)
    assert.deepEqual(await collect(again), [])
    await again.close()
    const third = await Wal.open(dir, { segmentBytes: 1024 })
    assert.deepEqual(await collect(third), [])
    third.append({ type: 'points', points: batchPoints(101, 10) })
    await third.commit()
    assert.deepEqual(
      (await collect(third)).map((r) => (r.type === 'points' ? batchOf(r.points) : -1)),
      [101],
    )
    await third.close()
  })
})

test('a checkpoint taken during a replay deletes segments only once the replay is done', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir, { segmentBytes: 512, fsync: false })
    for (let n = 0; n < 50; n++) {
      wal.append({ type: 'points', points: batchPoints(n, 10) })
      await wal.commit()
    }
    let count = 0
    for await (const r of wal.replay()) {
      if (count++ === 0) await wal.checkpoint(wal.position)
      assert.ok(r.type === 'points' && isIntact(r.points, count - 1, 10))
    }
    assert.equal(count, 50)
    assert.equal(wal.stats.segments, 1)
    await wal.close()
  })
})

/** The log's segment files in `dir`, with their sizes. */
async function segmentFiles(dir: string): Promise<[string, number][]> {
  const names = (await readdir(dir)).filter((f) => f.startsWith('wal-')).sort()
  return Promise.all(names.map(async (f) => [f, (await stat(join(dir, f))).size] as [string, number]))
}

test('a checkpoint at the end of the log sheds its last segment; open() takes every state a kill leaves', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir, { segmentBytes: 1024 * 1024 })
    for (let n = 0; n < 20; n++) wal.append({ type: 'points', points: batchPoints(n, 50) })
    await wal.commit()
    const end = wal.position
    // A checkpoint short of the end keeps the segment.
    await wal.checkpoint(end - 1)
    assert.deepEqual((await segmentFiles(dir)).length, 1)
    const old = await readFile(join(dir, SEGMENT))
    assert.equal(old.length, 16 + end)

    await wal.checkpoint(end)
    const NEXT = 'wal-000000000002.log'
    assert.deepEqual(await segmentFiles(dir), [[NEXT, 16]])
    assert.equal(wal.position, end, 'positions go on across the shed')
    assert.deepEqual(await collect(wal), [])
    // Again at the same place: nothing to shed (the segment is empty).
    await wal.checkpoint(end)
    assert.deepEqual(await segmentFiles(dir), [[NEXT, 16]])
    await wal.close()

    // Killed before the rename: the old segment and a partial `.tmp` of the new one.
    await rename(join(dir, NEXT), join(dir, `${NEXT}.tmp`))
    await truncate(join(dir, `${NEXT}.tmp`), 5)
    await writeFile(join(dir, SEGMENT), old)
    let w = await Wal.open(dir, { segmentBytes: 1024 * 1024 })
    assert.deepEqual(await segmentFiles(dir), [[SEGMENT, 16 + end]])
    assert.equal(w.checkpointPosition, end)
    assert.deepEqual(await collect(w), [])
    // The next checkpoint sheds it (even though it does not move the checkpoint).
    await w.checkpoint(end)
    assert.deepEqual(await segmentFiles(dir), [[NEXT, 16]])
    const at = w.append({ type: 'points', points: batchPoints(20, 50) })
    await w.commit()
    await w.close()

    // Killed after the rename, before the old segment was deleted (with a record in the new one since).
    await writeFile(join(dir, SEGMENT), old)
    w = await Wal.open(dir, { segmentBytes: 1024 * 1024 })
    const files = await segmentFiles(dir)
    assert.deepEqual(
      files.map(([f]) => f),
      [NEXT],
    )
    const records = await collect(w)
    assert.equal(records.length, 1)
    const [r] = records
    assert.ok(r?.type === 'points' && isIntact(r.points, 20, 50) && r.position === at)
    await w.close()
  })
})

test('checkpoints at the end of the log while many commit: every commit resolves, nothing after the checkpoint is lost', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir, { segmentBytes: 4096 })
    const acked = new Map<number, number>()
    let next = 0
    let stop = false
    const committer = async () => {
      while (!stop) {
        const n = next++
        const position = wal.append({ type: 'points', points: batchPoints(n, 1 + (n % 7)) })
        await wal.commit()
        // A commit with nothing new to write, as the engine makes: it must resolve during a shed too.
        await wal.commit()
        acked.set(n, position)
      }
    }
    const checkpointer = async () => {
      for (let k = 0; k < 60; k++) {
        await wal.checkpoint(wal.position)
        await new Promise((resolve) => setImmediate(resolve))
      }
      stop = true
    }
    await Promise.all([...Array.from({ length: 20 }, committer), checkpointer()])
    const cp = wal.checkpointPosition
    const found = new Map<number, number>()
    for (const r of await collect(wal)) if (r.type === 'points') found.set(batchOf(r.points), r.position)
    for (const [n, position] of acked) if (position >= cp) assert.equal(found.get(n), position, `batch ${n}`)
    await wal.checkpoint(wal.position)
    assert.deepEqual(
      (await segmentFiles(dir)).map(([, size]) => size),
      [16],
    )
    await wal.close()
  })
})

test('the directory lock: one Wal per directory, stale locks are taken over', async () => {
  await withDir(async (dir) => {
    const wal = await Wal.open(dir)
    await assert.rejects(
      Wal.open(dir),
      (err: unknown) => err instanceof WalLockedError && err.pid === process.pid,
    )
    await wal.close()
    // A live process (our parent, the test runner) holds it.
    await writeFile(join(dir, 'LOCK'), `${process.ppid}\n`)
    await assert.rejects(
      Wal.open(dir),
      (err: unknown) => err instanceof WalLockedError && err.pid === process.ppid,
    )
    // A dead one did: taken over.
    await writeFile(join(dir, 'LOCK'), '2147483646\n')
    const again = await Wal.open(dir)
    assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), String(process.pid))
    await again.close()
    await assert.rejects(readFile(join(dir, 'LOCK')), { code: 'ENOENT' })
  })
})

test('fuzz: one damaged byte is refused or costs at most the last flush, never yields wrong data (seeded)', async () => {
  const random = prng(0xa11ce)
  let refused = 0
  let truncated = 0
  for (let iteration = 0; iteration < 100; iteration++) {
    await withDir(async (dir) => {
      const wal = await Wal.open(dir, { fsync: false })
      const sizes: number[] = []
      let lastFlush: number[] = []
      for (let f = 2 + Math.floor(random() * 6); f > 0; f--) {
        lastFlush = []
        for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
          const size = 1 + Math.floor(random() * 40)
          lastFlush.push(sizes.length)
          wal.append({ type: 'points', points: batchPoints(sizes.length, size) })
          sizes.push(size)
        }
        await wal.commit()
      }
      await wal.close()
      const path = join(dir, SEGMENT)
      const at = Math.floor(random() * (await stat(path)).size)
      const fh = await open(path, 'r+')
      const b = Buffer.alloc(1)
      await fh.read(b, 0, 1, at)
      b[0] = (b[0] as number) ^ (1 + Math.floor(random() * 255))
      await fh.write(b, 0, 1, at)
      await fh.close()
      const where = `iteration ${iteration}, byte ${at}`
      let reopened: Wal
      try {
        reopened = await Wal.open(dir, { fsync: false })
      } catch (err) {
        assert.ok(err instanceof WalCorruptError, `${where}: ${String(err)}`)
        refused++
        return
      }
      const got = (await collect(reopened)).map((r) => {
        assert.ok(r.type === 'points')
        return r.points
      })
      await reopened.close()
      const all = sizes.length
      if (got.length < all) {
        truncated++
        assert.equal(got.length, all - lastFlush.length, `${where}: only the last flush may be lost`)
      }
      got.forEach((points, n) => {
        assert.ok(isIntact(points, n, sizes[n] as number), `${where}: batch ${n} intact and in order`)
      })
    })
  }
  assert.ok(refused > 10 && truncated > 10, `refused ${refused}, truncated ${truncated}`)
})

test('a default-class series record keeps the format from before classes (type 0x02)', () => {
  const frames = new FrameBuffer()
  frames.append({ type: 'series', id: 1, key: 'a' })
  frames.append({ type: 'series', id: 2, key: 'b', retentionClass: 'default' })
  frames.append({ type: 'series', id: 3, key: 'c', retentionClass: 'x' })
  const bytes = frames.take()
  const body = [...bytes.subarray(FRAME_HEADER)]
  assert.deepEqual(body, [2, 1, 1, 97, 2, 2, 1, 98, 3, 3, 1, 99, 1, 120])
})
