/**
 * The engine's cold tier: raw partitions that retention drops are first
 * exported to Parquet (archive/), and the part of a query before the raw
 * horizon is read back from there.
 *
 * Export, then drop: a partition is deleted from chunk storage only once its
 * archive file is committed (file-sink.ts renames it into place), so a crash
 * in between leaves the partition in both places. That is harmless: reads
 * route by the horizon (below it the archive, from it on chunk storage), so
 * nothing is read twice, and the next retention run exports the partition
 * again, replacing the file with the same points.
 *
 * The horizon read here (`horizon`) moves before storage deletes anything:
 * a read that sees a partition gone also sees the horizon past it, which is
 * what tieredSegments() checks to switch to the archive mid-stream.
 */
import { readdir } from 'node:fs/promises'
import { exportPartition } from '../archive/export.js'
import { classOfFileName, startOfFileName } from '../archive/format.js'
import { ArchiveReader } from '../archive/reader.js'
import type { ChunkStorage, PartitionInfo, SeriesRecord } from '../storage/chunk-storage.js'
import type { Points } from './points.js'
import { type ArchiveSource, type ReadSources, type Segment, type SegmentOptions, segments } from './read.js'

export interface ColdTierOptions {
  /** The archive directory. */
  readonly dir: string
  /** Whether queries read the archive below the raw horizon. */
  readonly query: boolean
  /** fsync archive files (as the engine's `fsync`). */
  readonly fsync: boolean
}

/** What an export run did: partitions before `before` are archived; `error` stopped it there, if set. */
export interface ExportRun {
  readonly before: number
  readonly error?: unknown
}

export class ColdTier implements ArchiveSource {
  readonly dir: string
  readonly query: boolean
  private readonly reader: ArchiveReader
  private readonly fsync: boolean
  /** Points before this are read from the archive (when `query`): every partition before it is archived. */
  horizon: number
  /** Exported since open (a partition exported again counts again). */
  readonly stats = { partitions: 0, points: 0 }
  /** Partition starts that have an archive file, from the directory's names (refreshed after exports). */
  private starts: Promise<number[]> | undefined

  constructor(
    options: ColdTierOptions,
    /** The retention class whose partitions it holds (files of other classes share the directory). */
    readonly retentionClass: string,
    horizon: number,
  ) {
    this.dir = options.dir
    this.query = options.query
    this.fsync = options.fsync
    this.reader = new ArchiveReader(options.dir)
    this.horizon = horizon
  }

  /**
   * Exports the partitions, oldest first, stopping at the first failure (an
   * abort included): the caller drops only what lies before `before`.
   */
  async export(
    storage: ChunkStorage,
    partitions: readonly PartitionInfo[],
    series: readonly SeriesRecord[],
    signal?: AbortSignal,
  ): Promise<ExportRun> {
    let before = Number.NEGATIVE_INFINITY
    try {
      for (const p of [...partitions].sort((a, b) => a.start - b.start)) {
        const file = await exportPartition(storage, p, this.dir, { series, signal, fsync: this.fsync })
        this.stats.partitions++
        this.stats.points += file.points
        before = p.end
      }
      return { before }
    } catch (error) {
      return { before, error }
    } finally {
      this.starts = undefined
    }
  }

  /**
   * One series' archived points in [from, to), in time order. Throws the
   * archive's TsdbArchiveError if a damaged file overlaps the range: a query
   * never returns part of an answer as if it were all of it.
   */
  async *raw(key: string, from: number, to: number, signal?: AbortSignal): AsyncGenerator<Points> {
    // Most ranges reach no archive file (gaps between rollup windows, say):
    // the names tell, without the reader's listing (a stat per file).
    const starts = await this.fileStarts()
    if (!starts.some((s) => s < to && s + MAX_PARTITION_MS > from)) return
    yield* this.reader.raw(key, from, to, { signal, retentionClass: this.retentionClass })
  }

  private fileStarts(): Promise<number[]> {
    this.starts ??= readdir(this.dir).then(
      (names) => names.filter((n) => classOfFileName(n) === this.retentionClass).map(startOfFileName),
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return []
        this.starts = undefined
        throw err
      },
    )
    return this.starts
  }
}

/** A bound on a raw partition's length (a UTC day in the embedded storage), to test names against a range. */
const MAX_PARTITION_MS = 7 * 86_400_000

/** The series a read is for: the archive knows series by key, storage by id. */
export interface SeriesRef {
  readonly id: number
  readonly key: string
}

/**
 * One series' segments over [from, to): archived points before the cold
 * horizon, then read.ts's segments from chunk storage and memory. If the
 * horizon passes the read's position while it streams (retention dropped the
 * partition being read), the rest of the dropped part comes from the archive
 * and the hot read starts again after it: consumers see every point once, in
 * time order (they drop anything at or before what they already emitted).
 */
export async function* tieredSegments(
  src: ReadSources,
  series: SeriesRef,
  from: number,
  to: number,
  options: SegmentOptions,
): AsyncGenerator<Segment, void, undefined> {
  const cold = src.archive
  if (cold === undefined || !cold.query) {
    yield* segments(src, series.id, from, to, options)
    return
  }
  let at = from
  while (at < to) {
    const horizon = cold.horizon
    if (at < horizon) {
      const end = Math.min(horizon, to)
      for await (const points of cold.raw(series.key, at, end, options.signal)) {
        yield { kind: 'points', points }
      }
      at = end
      continue
    }
    let moved = false
    for await (const seg of segments(src, series.id, at, to, options)) {
      if (cold.horizon > at) {
        moved = true
        break
      }
      yield seg
      const last = seg.kind === 'summary' ? seg.chunk.endTs : lastOf(seg.points)
      // Timestamps are integers: everything up to `last` has been emitted.
      if (last >= at) at = last + 1
    }
    if (!moved) return
  }
}

const lastOf = (p: Points): number =>
  p.timestamps.length === 0 ? Number.NEGATIVE_INFINITY : (p.timestamps[p.timestamps.length - 1] as number)
