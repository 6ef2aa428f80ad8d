import { open, readFile, unlink } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { StoreLockedError } from './errors.js'

/**
 * An exclusive lock on a data directory: a `LOCK` file created with O_EXCL
 * that holds the owner's pid. A lock whose pid is dead is stale (the broker
 * was killed) and is taken over. A pid equal to ours is stale too unless
 * this process holds the directory itself (a restarted container often gets
 * the same pid as its previous incarnation).
 *
 * Not covered: two processes taking over the same stale lock at the same
 * instant, and a stale pid reused by an unrelated process (the error then
 * names the pid and the file, for the operator to remove).
 */
const heldHere = new Set<string>()

export interface DirLock {
  release(): Promise<void>
}

export async function lockDir(dir: string): Promise<DirLock> {
  const key = resolve(dir)
  const path = join(key, 'LOCK')
  if (heldHere.has(key)) throw new StoreLockedError(key, process.pid)
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx')
      try {
        await fh.writeFile(`${process.pid}\n`)
      } finally {
        await fh.close()
      }
      heldHere.add(key)
      return {
        async release() {
          heldHere.delete(key)
          await unlink(path).catch(() => {})
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new StoreLockedError(key, owner)
    }
    // Another process keeps re-creating it: it is racing us for the directory.
    if (attempt >= 3) throw new StoreLockedError(key, owner)
    // Stale (dead owner, our own pid from an earlier life, or an empty file
    // left by a kill between create and write): take it over.
    await unlink(path).catch(() => {})
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
