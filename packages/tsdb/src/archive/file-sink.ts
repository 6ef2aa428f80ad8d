/**
 * A hyparquet-writer Writer that streams a file into place crash-safely:
 * bytes go to a hidden temporary file next to the target, one row group at a
 * time; commit() fsyncs it, renames it over the target (atomic on POSIX: a
 * reader sees the old complete file or the new one) and fsyncs the directory
 * so the rename survives a power cut. A crash before the rename leaves only the
 * temporary file, which no reader opens and the next export of the partition
 * removes.
 *
 * hyparquet-writer's own fileWriter appends with writeFileSync and never
 * fsyncs; its ParquetWriter awaits a Promise returned by flush() before
 * encoding the next row group, which is what makes this asynchronous sink safe
 * to reuse its buffer.
 */
import type { FileHandle } from 'node:fs/promises'
import { open, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ByteWriter } from 'hyparquet-writer'
import { syncDir, writeAll } from '../wal/segment-file.js'
import { isTemporaryOf, temporaryName } from './format.js'

export class AtomicFileSink extends ByteWriter {
  private written = 0
  private done = false

  private constructor(
    private readonly fh: FileHandle,
    /** Where the bytes are until commit(). */
    readonly temporaryPath: string,
    /** Where they are after. */
    readonly path: string,
    private readonly dir: string,
    private readonly sync: boolean,
  ) {
    super(1 << 20)
  }

  /** Removes temporary files of earlier, interrupted writes of `name`, then starts a new one. */
  static async create(dir: string, name: string, sync = true): Promise<AtomicFileSink> {
    for (const entry of await readdir(dir)) {
      if (isTemporaryOf(entry, name)) await rm(join(dir, entry), { force: true })
    }
    const tmp = join(dir, temporaryName(name))
    const fh = await open(tmp, 'wx')
    return new AtomicFileSink(fh, tmp, join(dir, name), dir, sync)
  }

  /** Bytes of the file so far. */
  get size(): number {
    return this.written + this.index
  }

  /** Called by ParquetWriter after each row group: moves the buffered bytes to the file. */
  async flush(): Promise<void> {
    if (this.index === 0) return
    await writeAll(this.fh, this.getBytes(), this.written)
    this.written += this.index
    this.index = 0
  }

  override finish(): Promise<void> {
    return this.flush()
  }

  /** Makes the file durable under its final name, replacing any file of that name. */
  async commit(): Promise<void> {
    await this.flush()
    if (this.sync) await this.fh.sync()
    await this.fh.close()
    this.done = true
    try {
      await rename(this.temporaryPath, this.path)
    } catch (err) {
      await rm(this.temporaryPath, { force: true })
      throw err
    }
    if (this.sync) await syncDir(this.dir)
  }

  /** Drops the temporary file (after a failure or an abort). */
  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true
      await this.fh.close().catch(() => {})
    }
    await rm(this.temporaryPath, { force: true })
  }
}
