/**
 * Child process of crash.test.ts: exports the one raw partition of the chunk
 * storage in <dir> to <dir>/archive again and again (fsync on), printing
 * `exported` after each, until the parent SIGKILLs it.
 *
 * Usage: node --import tsx crash-export.ts <dir>
 */
import { join } from 'node:path'
import { exportPartition } from '../../src/archive/index.js'
import { SqliteChunkStorage } from '../../src/storage/sqlite-storage.js'

const [dir] = process.argv.slice(2)
if (dir === undefined) throw new Error('usage: crash-export <dir>')
const storage = await SqliteChunkStorage.open(dir)
const [partition] = (await storage.partitions()).filter((p) => {
  const tier = (p as { tier?: string }).tier
  return tier === undefined || tier === 'raw'
})
if (partition === undefined) throw new Error('no raw partition')
process.stdout.write('ready\n')
for (;;) {
  // Small row groups: many flushes to the temporary file, so kills land mid-file too.
  await exportPartition(storage, partition, join(dir, 'archive'), { rowGroupRows: 4096 })
  process.stdout.write('exported\n')
}
