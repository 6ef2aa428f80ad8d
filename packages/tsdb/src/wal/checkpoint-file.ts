import { open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { WalCorruptError } from './errors.js'
import { syncDir, writeAll } from './segment-file.js'

/**
 * `CHECKPOINT`: the log position before which the engine no longer needs the
 * log (its data is in sealed chunks). Replaced atomically (temporary file,
 * fsync, rename, fsync of the directory), and written before any segment is
 * deleted, so a crash never leaves segments deleted past a checkpoint that
 * was not kept.
 *
 *   checkpoint = "STWC" | position u32 LE low | position u32 LE high | crc32 of the 12 bytes before it
 */
const NAME = 'CHECKPOINT'
const SIZE = 16

export async function readCheckpoint(dir: string): Promise<number> {
  const path = join(dir, NAME)
  let b: Buffer
  try {
    b = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw err
  }
  if (
    b.length !== SIZE ||
    b.toString('latin1', 0, 4) !== 'STWC' ||
    crc32(b.subarray(0, 12)) !== b.readUInt32LE(12)
  ) {
    throw new WalCorruptError(path, 0, 'not a valid checkpoint file')
  }
  return b.readUInt32LE(8) * 2 ** 32 + b.readUInt32LE(4)
}

export async function writeCheckpoint(dir: string, position: number, sync: boolean): Promise<void> {
  const path = join(dir, NAME)
  const tmp = `${path}.tmp`
  const b = Buffer.alloc(SIZE)
  b.write('STWC', 0, 'latin1')
  b.writeUInt32LE(position % 2 ** 32, 4)
  b.writeUInt32LE(Math.floor(position / 2 ** 32), 8)
  b.writeUInt32LE(crc32(b.subarray(0, 12)), 12)
  const fh = await open(tmp, 'w')
  try {
    await writeAll(fh, b, 0)
    if (sync) await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  if (sync) await syncDir(dir)
}
