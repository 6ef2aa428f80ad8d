import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  type BrokerStore,
  LogStore,
  type LogStoreOptions,
  MemoryStore,
  StoreCorruptError,
  StoreLockedError,
} from '../../src/persistence/index.js'
import { message, normalize, session, storeSuite } from './store-suite.js'

const tempDir = () => mkdtemp(join(tmpdir(), 'strata-logstore-'))
const JOURNAL = 'journal-000000000001.log'

storeSuite('LogStore', async () => {
  const dir = await tempDir()
  return { create: () => new LogStore({ dir }), cleanup: () => rm(dir, { recursive: true, force: true }) }
})

/** Compacts before every close, so that every restart of the suite replays a compacted journal. */
class CompactingLogStore extends LogStore {
  override async close(): Promise<void> {
    await this.compact().catch(() => {})
    await super.close()
  }
}

storeSuite('LogStore (compacted before each restart, fsync off)', async () => {
  const dir = await tempDir()
  return {
    create: () => new CompactingLogStore({ dir, fsync: false, compactThresholdBytes: 1024 }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
})

/** Applies the same operations to the store under test and to a MemoryStore reference. */
class Both {
  constructor(
    readonly log: LogStore,
    readonly ref: MemoryStore,
  ) {}
  each(fn: (s: BrokerStore) => void): void {
    fn(this.log)
    fn(this.ref)
  }
}

async function openBoth(options: LogStoreOptions): Promise<Both> {
  const both = new Both(new LogStore(options), new MemoryStore())
  await both.log.open()
  await both.ref.open()
  return both
}

/** A workload with a lot of dead data: most messages are dequeued soon after being queued. */
function churn(both: Both, from: number, count: number): void {
  for (let id = from; id < from + count; id++) {
    both.each((s) => {
      s.putMessage(message(id, { payload: Buffer.alloc(100, id & 0xff) }))
      s.enqueue(`c${id % 7}`, { messageId: id, qos: 1 })
      if (id % 5 === 0) s.setRetained(`r/${id % 3}`, message(id))
      if (id % 11 === 0) s.saveSession(session(`c${id % 7}`, { disconnectedAt: id }))
      if (id > 10 && id % 10 !== 0) s.dequeue(`c${(id - 10) % 7}`, id - 10)
      if (id % 13 === 0) s.updateDelivery(`c${id % 7}`, id, id % 65535, id % 2 === 0)
      if (id % 17 === 0) s.setInboundQos2(`c${id % 7}`, id % 100, id % 2 === 0)
    })
  }
}

async function reopenAndCompare(both: Both, dir: string): Promise<void> {
  await both.log.commit()
  await both.log.close()
  await both.ref.close()
  const again = new LogStore({ dir })
  const recovered = await again.open()
  assert.deepEqual(normalize(recovered), normalize(await both.ref.open()))
  await again.close()
}

describe('LogStore: recovery', () => {
  test('a journal cut at every byte of its last batch opens to the state before that batch', async () => {
    const dir = await tempDir()
    try {
      const store = new LogStore({ dir })
      await store.open()
      store.saveSession(session('a'))
      store.putMessage(message(1))
      store.enqueue('a', { messageId: 1, qos: 1 })
      await store.commit()
      const before = store.stats.journalBytes
      store.putMessage(message(2, { properties: { userProperties: [['k', 'v']] }, origin: 'x' }))
      store.enqueue('a', { messageId: 2, qos: 2, subscriptionIdentifiers: [3] })
      store.setRetained('r', message(3, { topic: 'r', retain: true }))
      store.dequeue('a', 1)
      await store.commit()
      const after = store.stats.journalBytes
      await store.close()
      const bytes = await readFile(join(dir, JOURNAL))
      assert.equal(bytes.length, after)

      const stateAt = async (length: number) => {
        const cut = await tempDir()
        try {
          await writeFile(join(cut, JOURNAL), bytes.subarray(0, length))
          const s = new LogStore({ dir: cut })
          const state = normalize(await s.open())
          const torn = s.stats.tornBytesOnOpen
          await s.close()
          assert.equal((await stat(join(cut, JOURNAL))).size, length - torn, 'the torn tail is truncated')
          return state
        } finally {
          await rm(cut, { recursive: true, force: true })
        }
      }
      const old = await stateAt(before)
      const full = await stateAt(after)
      assert.notDeepEqual(old, full)
      for (let length = before + 1; length < after; length++) {
        assert.deepEqual(await stateAt(length), old, `cut at ${length}`)
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('zeros after the last batch (a file extended but not written) are a torn tail', async () => {
    const dir = await tempDir()
    try {
      const store = new LogStore({ dir })
      await store.open()
      store.putMessage(message(1))
      store.enqueue('a', { messageId: 1, qos: 1 })
      await store.commit()
      await store.close()
      const path = join(dir, JOURNAL)
      await writeFile(path, Buffer.concat([await readFile(path), Buffer.alloc(4096)]))
      const again = new LogStore({ dir })
      const state = await again.open()
      assert.equal(again.stats.tornBytesOnOpen, 4096)
      assert.deepEqual(state.queues.get('a'), [{ messageId: 1, qos: 1 }])
      await again.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('corruption followed by complete batches fails open() naming the file and offset', async () => {
    const dir = await tempDir()
    try {
      const store = new LogStore({ dir })
      await store.open()
      for (let id = 1; id <= 3; id++) {
        store.putMessage(message(id))
        store.enqueue('a', { messageId: id, qos: 1 })
        await store.commit()
      }
      await store.close()
      const path = join(dir, JOURNAL)
      const bytes = await readFile(path)
      bytes[16 + 30] = (bytes[16 + 30] as number) ^ 0xff // inside the first record of the first batch
      await writeFile(path, bytes)
      const again = new LogStore({ dir })
      const err = await again.open().then(
        () => assert.fail('open() should fail'),
        (e: unknown) => e,
      )
      assert.ok(err instanceof StoreCorruptError)
      assert.equal(err.code, 'STRATA_STORE_CORRUPT')
      assert.equal(err.file, path)
      assert.equal(err.offset, 16)
      assert.match(err.message, /journal-000000000001\.log at byte offset 16/)
      // A failed open releases the lock: the operator can retry after fixing the file.
      await assert.rejects(new LogStore({ dir }).open(), StoreCorruptError)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a file that is not a journal fails open()', async () => {
    const dir = await tempDir()
    try {
      await writeFile(join(dir, JOURNAL), 'hello, this is not a journal at all')
      await assert.rejects(new LogStore({ dir }).open(), { code: 'STRATA_STORE_CORRUPT', offset: 0 })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('leftovers of a killed compaction: a .tmp is removed, the highest generation wins', async () => {
    const dir = await tempDir()
    try {
      const both = await openBoth({ dir })
      churn(both, 1, 200)
      await both.log.commit()
      const old = await readFile(join(dir, JOURNAL))
      await both.log.compact()
      // Killed after the rename, before the old file was deleted; and a half-written next one.
      await writeFile(join(dir, JOURNAL), old)
      await writeFile(join(dir, 'journal-000000000003.log.tmp'), old.subarray(0, 100))
      churn(both, 200, 50)
      await reopenAndCompare(both, dir)
      assert.deepEqual((await readdir(dir)).sort(), ['journal-000000000002.log'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('LogStore: compaction', () => {
  test('compaction keeps the state identical, before and after a reopen, and shrinks the journal', async () => {
    const dir = await tempDir()
    try {
      const both = await openBoth({ dir })
      churn(both, 1, 2000)
      await both.log.commit()
      const before = both.log.stats.journalBytes
      await both.log.compact()
      assert.ok(both.log.stats.journalBytes < before / 3, `${both.log.stats.journalBytes} vs ${before}`)
      assert.equal(both.log.stats.compactions, 1)
      // The store keeps working on the new file.
      churn(both, 2000, 100)
      await reopenAndCompare(both, dir)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('records and commits keep flowing during a compaction', async () => {
    const dir = await tempDir()
    try {
      const both = await openBoth({ dir })
      churn(both, 1, 3000)
      await both.log.commit()
      const compaction = both.log.compact()
      let id = 3000
      let commitsDuring = 0
      let done = false
      void compaction.then(() => {
        done = true
      })
      while (!done) {
        churn(both, id, 20)
        id += 20
        await both.log.commit()
        commitsDuring++
      }
      await compaction
      assert.ok(commitsDuring > 0)
      churn(both, id, 20)
      await reopenAndCompare(both, dir)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('the journal is compacted automatically past the threshold when mostly dead', async () => {
    const dir = await tempDir()
    try {
      const events: string[] = []
      const both = await openBoth({
        dir,
        compactThresholdBytes: 64 * 1024,
        onCompaction: (e) => events.push(e.phase),
      })
      for (let id = 1; id < 6000; id += 50) {
        churn(both, id, 50)
        await both.log.commit()
      }
      assert.ok(both.log.stats.compactions >= 1, `compactions: ${both.log.stats.compactions}`)
      assert.ok(both.log.stats.journalBytes < 256 * 1024, `journal: ${both.log.stats.journalBytes}`)
      assert.ok(!events.includes('failed'))
      await reopenAndCompare(both, dir)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('LogStore: files and locking', () => {
  test('a second store on the same directory is refused while the first is open', async () => {
    const dir = await tempDir()
    try {
      const first = new LogStore({ dir })
      await first.open()
      const err = await new LogStore({ dir }).open().catch((e: unknown) => e)
      assert.ok(err instanceof StoreLockedError)
      assert.equal(err.code, 'STRATA_STORE_LOCKED')
      assert.equal(err.pid, process.pid)
      await first.close()
      const second = new LogStore({ dir })
      await second.open()
      await second.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a lock held by a live process is refused; a stale one is taken over', async () => {
    const dir = await tempDir()
    try {
      // The parent of this test process is alive and is not us.
      await writeFile(join(dir, 'LOCK'), `${process.ppid}\n`)
      await assert.rejects(new LogStore({ dir }).open(), (e: unknown) => {
        assert.ok(e instanceof StoreLockedError)
        assert.equal(e.pid, process.ppid)
        assert.match(e.message, /in use by process/)
        return true
      })
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
        encoding: 'utf8',
      }).stdout
      await writeFile(join(dir, 'LOCK'), `${dead}\n`)
      const store = new LogStore({ dir })
      await store.open()
      assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), String(process.pid))
      await store.close()
      await assert.rejects(stat(join(dir, 'LOCK')), { code: 'ENOENT' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('group commit: concurrent commits share flushes', async () => {
    const dir = await tempDir()
    try {
      const store = new LogStore({ dir })
      await store.open()
      const commits: Promise<void>[] = []
      for (let id = 1; id <= 200; id++) {
        store.putMessage(message(id))
        store.enqueue('a', { messageId: id, qos: 1 })
        commits.push(store.commit())
        if (id % 20 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      await Promise.all(commits)
      const { flushes, commits: n, records } = store.stats
      assert.equal(n, 200)
      assert.equal(records, 400)
      assert.ok(flushes < 200, `flushes: ${flushes}`)
      await store.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
