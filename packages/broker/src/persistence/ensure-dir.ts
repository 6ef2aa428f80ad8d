import { mkdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * `mkdir -p` that fails instead of spinning: Node 20's `mkdir(path,
 * {recursive: true})` loops forever when a filesystem answers ENOENT for a
 * child of a directory that exists (procfs, e.g. `--data-dir /proc/1`). Here
 * each level is created once, and an ENOENT after its parent exists is thrown.
 */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir)
    return
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return
      throw err
    }
    const parent = dirname(dir)
    if (code !== 'ENOENT' || parent === dir) throw err
    await ensureDir(parent)
  }
  try {
    await mkdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(dir)).isDirectory()) throw err
  }
}
