/**
 * Reads an archive directory: which partitions it holds, one series' points
 * over a time range (across files), and a whole file streamed back into an
 * engine. Footers are cached per file while its inode, size and mtime stay
 * the same, so a query opens only the files its range overlaps.
 */
import { readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { TsdbArchiveError } from './errors.js'
import type { ArchiveFile } from './export.js'
import {
  archiveFileName,
  classOfFileName,
  DEFAULT_CLASS,
  isArchiveFileName,
  startOfFileName,
} from './format.js'
import {
  type ArchiveBatch,
  type ArchiveFooter,
  type OpenArchiveFile,
  openArchiveFile,
  stampOf,
} from './parquet-file.js'

const DAY_MS = 86_400_000

/** A file with an archive's name that does not read as one. */
export interface InvalidArchiveFile {
  readonly name: string
  readonly path: string
  /** The start its name gives. */
  readonly start: number
  /** The retention class its name gives. */
  readonly retentionClass: string
  readonly error: TsdbArchiveError
}

export interface ArchiveListing {
  /** By start. */
  readonly files: ArchiveFile[]
  readonly invalid: InvalidArchiveFile[]
}

/** A point as the engine's write() takes it (EnginePoint). */
export interface ArchivePoint {
  readonly series: string
  readonly ts: number
  readonly value: number
}

export interface ArchiveReadOptions {
  signal?: AbortSignal | undefined
  /** raw(): read only this retention class's files (default: every class's; a series is in one). */
  retentionClass?: string | undefined
}

export interface ReimportOptions extends ArchiveReadOptions {
  /** Points per write() call. Default 8,192. */
  batchPoints?: number
}

export class ArchiveReader {
  readonly dir: string
  private readonly footers = new Map<string, ArchiveFooter>()

  constructor(dir: string) {
    this.dir = resolve(dir)
  }

  /**
   * The archive files (partitions and point counts from their footers), and those with an
   * archive's name that do not read as one (truncated, not Parquet, another schema, or a
   * partition other than the one their name gives).
   * Temporary files of unfinished exports are not listed. A missing directory is empty.
   */
  async list(options: ArchiveReadOptions = {}): Promise<ArchiveListing> {
    const { signal } = options
    signal?.throwIfAborted()
    let names: string[]
    try {
      names = (await readdir(this.dir)).filter(isArchiveFileName).sort()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files: [], invalid: [] }
      throw err
    }
    const files: ArchiveFile[] = []
    const invalid: InvalidArchiveFile[] = []
    for (const name of names) {
      signal?.throwIfAborted()
      const path = join(this.dir, name)
      try {
        // A footer read before, for a file still the same, without opening it again.
        const cached = this.footers.get(path)
        let footer: ArchiveFooter | undefined =
          cached?.stamp === stampOf(await stat(path)) ? cached : undefined
        if (footer === undefined) {
          const f = await this.open(path, signal)
          await f.close()
          footer = f
        }
        // A renamed copy would claim another file's range: queries would see its points twice.
        const holds = archiveFileName(footer.meta.start, footer.meta.class ?? DEFAULT_CLASS)
        if (holds !== name) {
          throw new TsdbArchiveError('STRATA_TSDB_ARCHIVE_CORRUPT', path, `holds the partition of ${holds}`)
        }
        files.push(describe(name, path, footer))
      } catch (err) {
        // Removed since readdir (an export replacing it renames over it: never missing).
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
        if (!(err instanceof TsdbArchiveError)) throw err
        const retentionClass = classOfFileName(name) ?? DEFAULT_CLASS
        invalid.push({ name, path, start: startOfFileName(name), retentionClass, error: err })
      }
    }
    files.sort((a, b) => a.start - b.start)
    return { files, invalid }
  }

  /**
   * One series' points in [from, to), in time order, in batches. Throws the file's
   * TsdbArchiveError if an unreadable archive file (taken to span a day from the start
   * its name gives) overlaps the range: a partial answer would pass for a complete one.
   */
  async *raw(
    seriesKey: string,
    from: number,
    to: number,
    options: ArchiveReadOptions = {},
  ): AsyncGenerator<ArchiveBatch> {
    if (typeof from !== 'number' || typeof to !== 'number' || Number.isNaN(from) || Number.isNaN(to)) {
      throw new RangeError(`a range needs two numbers (got ${String(from)}, ${String(to)})`)
    }
    if (!(from < to)) return
    const { signal } = options
    const listing = await this.list(options)
    const cls = options.retentionClass
    const bad = listing.invalid.find(
      (f) => f.start < to && f.start + DAY_MS > from && (cls === undefined || f.retentionClass === cls),
    )
    if (bad !== undefined) throw bad.error
    for (const f of listing.files) {
      if (!(f.start < to && f.end > from) || (cls !== undefined && f.retentionClass !== cls)) continue
      const file = await this.open(f.path, signal)
      try {
        for await (const batch of file.series(seriesKey, from, to)) {
          signal?.throwIfAborted()
          yield batch
        }
      } finally {
        await file.close()
      }
    }
  }

  /**
   * Streams every point of an archive file to `write` (e.g. points => engine.write(points)),
   * in batches, sorted by series then time, awaiting each write. Returns the points written.
   * `file` is an ArchiveFile from list(), or a file name in the directory, or a path.
   */
  async reimport(
    file: ArchiveFile | string,
    write: (points: ArchivePoint[]) => Promise<void>,
    options: ReimportOptions = {},
  ): Promise<number> {
    const { signal } = options
    const batchPoints = options.batchPoints ?? 8192
    if (!(Number.isInteger(batchPoints) && batchPoints > 0)) {
      throw new RangeError(`batchPoints must be a positive integer (got ${batchPoints})`)
    }
    const path = typeof file === 'string' ? resolve(this.dir, file) : file.path
    const f = await this.open(path, signal)
    let written = 0
    try {
      for await (const group of f.rowGroups()) {
        const n = group.timestamps.length
        for (let i = 0; i < n; i += batchPoints) {
          signal?.throwIfAborted()
          const end = Math.min(n, i + batchPoints)
          const points: ArchivePoint[] = new Array(end - i)
          for (let k = i; k < end; k++) {
            points[k - i] = {
              series: group.series[k] as string,
              ts: group.timestamps[k] as number,
              value: group.values[k] as number,
            }
          }
          await write(points)
          written += points.length
        }
      }
    } finally {
      await f.close()
    }
    return written
  }

  private async open(path: string, signal: AbortSignal | undefined): Promise<OpenArchiveFile> {
    const cached = this.footers.get(path)
    const f = await openArchiveFile(path, signal, cached)
    if (f.stamp !== cached?.stamp)
      this.footers.set(path, { metadata: f.metadata, meta: f.meta, stamp: f.stamp, bytes: f.bytes })
    return f
  }
}

function describe(name: string, path: string, f: ArchiveFooter): ArchiveFile {
  return {
    name,
    retentionClass: f.meta.class ?? DEFAULT_CLASS,
    path,
    start: f.meta.start,
    end: f.meta.end,
    points: f.meta.points,
    series: f.meta.series,
    bytes: f.bytes,
    rowGroups: f.metadata.row_groups.length,
  }
}
