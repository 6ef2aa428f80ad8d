/**
 * Child process of engine-archive.test.ts: opens the engine in <dir> with an
 * archive, and asks retention to drop raw days before <ts>. Its storage
 * kills the process (SIGKILL) the moment the engine drops raw partitions,
 * that is after every export committed and before anything is deleted.
 *
 * Usage: node --import tsx crash-drop.ts <dir> <ts>
 */
import { TimeSeriesEngine } from '../../src/engine/engine.js'
import { SqliteChunkStorage } from '../../src/storage/sqlite-storage.js'

const [dir, ts] = process.argv.slice(2)
if (dir === undefined || ts === undefined) throw new Error('usage: crash-drop <dir> <ts>')
const storage = await SqliteChunkStorage.open(dir)
const dropBefore = storage.dropBefore.bind(storage)
storage.dropBefore = (at, tier, cls) => {
  if (tier === 'raw') {
    process.stdout.write('exported\n', () => process.kill(process.pid, 'SIGKILL'))
    return new Promise(() => {})
  }
  return dropBefore(at, tier, cls)
}
const engine = await TimeSeriesEngine.open(dir, { storage, sealCheckMs: 0, archive: {} })
await engine.dropBefore(Number(ts))
process.stdout.write('dropped\n')
