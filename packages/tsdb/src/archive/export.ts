/**
 * The cold tier's writer: one partition of chunk storage → one Parquet file
 * (format.ts), read through the ChunkStorage interface only, so that any
 * backend can be archived. Points stream through one row group at a time:
 * memory stays bounded by the row group size, not the partition's.
 */
import { mkdir } from 'node:fs/promises'
import { ParquetWriter } from 'hyparquet-writer'
import { decodeChunk } from '../codec/chunk.js'
import type { ChunkStorage, PartitionInfo, SeriesRecord, StoredChunk } from '../storage/chunk-storage.js'
import { AtomicFileSink } from './file-sink.js'
import {
  ARCHIVE_FORMAT_VERSION,
  type ArchiveCodec,
  type ArchiveMeta,
  archiveFileName,
  COMPRESSORS,
  compareKeys,
  DEFAULT_CLASS,
  DEFAULT_CODEC,
  METADATA_KEY,
  SCHEMA,
  VALUE_ENCODING,
} from './format.js'
import { openArchiveFile } from './parquet-file.js'

/**
 * Rows per row group: 2^18, about 1 MiB of compressed pages at sensor-data rates. Row groups
 * are what the series statistics prune, and what reimport holds in memory at once.
 */
export const ROW_GROUP_ROWS = 262_144
/**
 * Target uncompressed page size. Pages are the unit of a one-series read (the column index
 * prunes pages inside a row group): 64 KiB is 8,192 timestamps or values.
 */
export const PAGE_BYTES = 65_536

export interface ExportOptions {
  signal?: AbortSignal | undefined
  /** Page compression. Default DEFAULT_CODEC. */
  codec?: ArchiveCodec
  /** The series catalogue, if the caller has it (saves a storage.load()). */
  series?: readonly SeriesRecord[]
  rowGroupRows?: number
  pageBytes?: number
  /** fsync the file and the directory (default true; false for tests and benchmarks). */
  fsync?: boolean
}

/** An archive file and what its footer says. */
export interface ArchiveFile {
  readonly name: string
  /** The retention class of the partition. */
  readonly retentionClass: string
  readonly path: string
  /** The partition, [start, end) in ms. */
  readonly start: number
  readonly end: number
  readonly points: number
  /** Series with at least one point in the file. */
  readonly series: number
  readonly bytes: number
  readonly rowGroups: number
}

/** Rows collected for the next row group. */
class RowBuffer {
  readonly series: string[]
  readonly device: string[]
  readonly ts: Float64Array
  readonly value: Float64Array
  length = 0

  constructor(readonly capacity: number) {
    this.series = new Array<string>(capacity)
    this.device = new Array<string>(capacity)
    this.ts = new Float64Array(capacity)
    this.value = new Float64Array(capacity)
  }

  /**
   * Appends points [from, to) of one series, as many as fit; returns how many. Values are
   * copied with TypedArray.set, bytes as they are: a double read into a JavaScript number
   * may come out of x86 with a signalling NaN quieted.
   */
  append(record: SeriesRecord, ts: Float64Array, values: Float64Array, from: number, to: number): number {
    const n = Math.min(to - from, this.capacity - this.length)
    const at = this.length
    this.ts.set(ts.subarray(from, from + n), at)
    this.value.set(values.subarray(from, from + n), at)
    this.series.fill(record.key, at, at + n)
    this.device.fill(record.device, at, at + n)
    this.length += n
    return n
  }
}

/** The first index with ts[i] ≥ t (ts non-decreasing). */
function lowerBound(ts: Float64Array, t: number): number {
  let lo = 0
  let hi = ts.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((ts[mid] as number) < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Writes every point of `partition` (its [start, end)) to `archiveDir/raw-YYYYMMDD.parquet`
 * (`raw-<class>-YYYYMMDD.parquet` for a partition of another retention class than 'default'),
 * crash-safely (file-sink.ts), replacing a file of the same partition. The file is checked by
 * the reader's own validation before it is published, so a committed file is one the reader
 * opens. Values are copied bit for bit (NaN payloads, -0, subnormals).
 */
export async function exportPartition(
  storage: ChunkStorage,
  partition: PartitionInfo,
  archiveDir: string,
  options: ExportOptions = {},
): Promise<ArchiveFile> {
  const { signal } = options
  signal?.throwIfAborted()
  // Rollup partitions hold no chunks.
  const tier = partition.tier
  if (tier !== 'raw') {
    throw new RangeError(`${partition.name} is a ${tier} rollup partition: only raw partitions are archived`)
  }
  if (!(partition.start < partition.end)) {
    throw new RangeError(`partition [${partition.start}, ${partition.end}) is empty`)
  }
  const rowGroupRows = options.rowGroupRows ?? ROW_GROUP_ROWS
  if (!(Number.isInteger(rowGroupRows) && rowGroupRows > 0)) {
    throw new RangeError(`rowGroupRows must be a positive integer (got ${rowGroupRows})`)
  }
  const retentionClass = partition.retentionClass ?? DEFAULT_CLASS
  // The partition's class only: no other series has chunks in it.
  const records = [...(options.series ?? (await storage.load()).series)]
    .filter((r) => (r.retentionClass ?? DEFAULT_CLASS) === retentionClass)
    .sort((a, b) => compareKeys(a.key, b.key))
  const name = archiveFileName(partition.start, retentionClass)
  await mkdir(archiveDir, { recursive: true })
  const sink = await AtomicFileSink.create(archiveDir, name, options.fsync ?? true)
  try {
    const writer = new ParquetWriter({
      writer: sink,
      schema: SCHEMA,
      codec: options.codec ?? DEFAULT_CODEC,
      compressors: COMPRESSORS,
      // Whole series keys in the statistics: truncated bounds stay valid but prune less.
      statisticsTruncateLength: 256,
      createdBy: 'strata tsdb archive',
    })
    const rows = new RowBuffer(rowGroupRows)
    const pageSize = options.pageBytes ?? PAGE_BYTES
    let points = 0
    let series = 0
    for (const record of records) {
      let any = false
      const query = { from: partition.start, to: partition.end, data: true, signal, retentionClass }
      for await (const chunk of storage.chunks(record.id, query)) {
        signal?.throwIfAborted()
        const { timestamps, values } = decodeChunk((chunk as StoredChunk).data)
        // Chunks overlapping the range may in principle reach outside it.
        let i = lowerBound(timestamps, partition.start)
        const end = lowerBound(timestamps, partition.end)
        if (i < end) any = true
        while (i < end) {
          i += rows.append(record, timestamps, values, i, end)
          if (rows.length === rowGroupRows) {
            points += rows.length
            await writeRowGroup(writer, rows, pageSize)
          }
        }
      }
      if (any) series++
    }
    if (rows.length > 0) {
      points += rows.length
      await writeRowGroup(writer, rows, pageSize)
    }
    const meta: ArchiveMeta = {
      version: ARCHIVE_FORMAT_VERSION,
      start: partition.start,
      end: partition.end,
      points,
      series,
      ...(retentionClass === DEFAULT_CLASS ? {} : { class: retentionClass }),
    }
    writer.kvMetadata = [{ key: METADATA_KEY, value: JSON.stringify(meta) }]
    await writer.finish()
    // The reader's validation, on the bytes about to be published.
    const check = await openArchiveFile(sink.temporaryPath, signal)
    await check.close()
    if (check.meta.points !== points)
      throw new Error(`archive check: ${check.meta.points} ≠ ${points} points`)
    const rowGroups = writer.row_groups.length
    const bytes = sink.size
    await sink.commit()
    return {
      name,
      retentionClass,
      path: sink.path,
      start: partition.start,
      end: partition.end,
      points,
      series,
      bytes,
      rowGroups,
    }
  } catch (err) {
    await sink.abort()
    throw err
  }
}

async function writeRowGroup(writer: ParquetWriter, rows: RowBuffer, pageSize: number): Promise<void> {
  const n = rows.length
  const whole = n === rows.capacity
  await writer.write({
    columnData: [
      // Sorted by series: dictionary indexes are long RLE runs, a few bytes per series.
      {
        name: 'series',
        data: whole ? rows.series : rows.series.slice(0, n),
        encoding: 'RLE_DICTIONARY',
        columnIndex: true,
      },
      // Statistics only where the reader prunes with them (series, ts): they cost a comparison per row.
      {
        name: 'device',
        data: whole ? rows.device : rows.device.slice(0, n),
        encoding: 'RLE_DICTIONARY',
        statistics: false,
      },
      { name: 'ts', data: rows.ts.subarray(0, n), encoding: 'DELTA_BINARY_PACKED', columnIndex: true },
      { name: 'value', data: rows.value.subarray(0, n), encoding: VALUE_ENCODING, statistics: false },
    ],
    rowGroupSize: n,
    pageSize,
  })
  rows.length = 0
}
