import { link, readdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { WalLockedError } from './errors.js'

/**
 * An exclusive lock on the log directory: a `LOCK` file holding the owner's
 * pid, after the broker's journal lock (broker/src/persistence/dir-lock.ts).
 * One difference: the file is written under a temporary name and hard-linked
 * into place, so `LOCK` never exists empty and a second process cannot take
 * it for a stale one while the first is still writing its pid.
 *
 * A lock whose pid is dead (a killed engine), or is our own pid while this
 * process does not hold the directory (a restarted container), is stale and
 * taken over. Not covered: two processes taking over one stale lock at the
 * same instant, and a stale pid reused by an unrelated process (the error
 * names the pid and the file).
 */
const heldHere = new Set<string>()

export interface DirLock {
  release(): Promise<void>
}

export async function lockDir(dir: string): Promise<DirLock> {
  const key = resolve(dir)
  const path = join(key, 'LOCK')
  if (heldHere.has(key)) throw new WalLockedError(key, process.pid)
  const tmp = join(key, `LOCK.${process.pid}.tmp`)
  await writeFile(tmp, `${process.pid}\n`)
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, path)
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      const owner = await ownerOf(path)
      // Released between our link and our read: try again.
      if (owner === null) continue
      if (owner !== process.pid && isAlive(owner)) throw new WalLockedError(key, owner)
      // Another process keeps re-creating it: it is racing us for the directory.
      if (attempt >= 3) throw new WalLockedError(key, owner)
      await unlink(path).catch(() => {})
    }
  } finally {
    await unlink(tmp).catch(() => {})
  }
  heldHere.add(key)
  await removeDeadTemporaries(key)
  return {
    async release() {
      heldHere.delete(key)
      await unlink(path).catch(() => {})
    },
  }
}

/** The pid in the lock file (0 if unreadable), or null if it is gone. */
async function ownerOf(path: string): Promise<number | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  const pid = Number.parseInt(text, 10)
  return Number.isInteger(pid) && pid > 0 ? pid : 0
}

/** `LOCK.<pid>.tmp` files of processes killed while taking the lock. */
async function removeDeadTemporaries(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const m = /^LOCK\.(\d+)\.tmp$/.exec(name)
    if (m?.[1] !== undefined && !isAlive(Number(m[1]))) await unlink(join(dir, name)).catch(() => {})
  }
}

function isAlive(pid: number): boolean {
  if (pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
