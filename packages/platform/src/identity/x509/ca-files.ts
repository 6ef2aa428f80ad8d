/**
 * The platform CA's two files on disk. The key is written so that no crash and no second
 * process can leave a half-written key or replace an existing one: a private temporary
 * file, flushed, then hard-linked into place (link fails if the name exists, where rename
 * would silently overwrite a CA that devices already chain to).
 */
import { randomBytes } from 'node:crypto'
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { messageOf, X509Error } from './errors.js'

export const CA_CERT_FILE = 'ca.pem'
export const CA_KEY_FILE = 'ca-key.pem'

/** Builds a CA_UNUSABLE error; the message always names the file. */
export function unusable(message: string, cause?: unknown): X509Error {
  return new X509Error('STRATA_X509_CA_UNUSABLE', message, cause === undefined ? undefined : { cause })
}

/** The file's mode bits, or null when it does not exist. */
export async function modeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mode & 0o7777
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw unusable(`platform CA: cannot read ${path}: ${messageOf(error)}`, error)
  }
}

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    throw unusable(`platform CA: cannot read ${path}: ${messageOf(error)}`, error)
  }
}

/**
 * Writes `text` to `path` with `mode`, atomically and without replacing an existing file.
 * Throws CA_UNUSABLE if `path` appeared meanwhile (another process creating the CA).
 */
export async function writeNewFileAtomically(path: string, text: string, mode: number): Promise<void> {
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  )
  try {
    // 'wx' with the mode: the key is never readable by others, not even for a moment.
    const file = await open(temporary, 'wx', mode)
    try {
      await file.chmod(mode) // the umask may have narrowed it; say exactly what we mean
      await file.writeFile(text, 'utf8')
      await file.sync()
    } finally {
      await file.close()
    }
    await commit(temporary, path)
    await syncDirectory(dirname(path))
  } catch (error) {
    if (error instanceof X509Error) throw error
    throw unusable(`platform CA: cannot write ${path}: ${messageOf(error)}`, error)
  } finally {
    await unlink(temporary).catch(() => {})
  }
}

async function commit(temporary: string, path: string): Promise<void> {
  try {
    await link(temporary, path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      throw unusable(`platform CA: ${path} was created by another process meanwhile; start again`, error)
    }
    // File systems without hard links: rename is still atomic, only not exclusive.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      await rename(temporary, path)
      return
    }
    throw unusable(`platform CA: cannot write ${path}: ${messageOf(error)}`, error)
  }
}

/** Makes the new directory entry itself durable (POSIX); not possible on every platform. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Windows cannot open a directory; the data itself was flushed above.
  }
}
