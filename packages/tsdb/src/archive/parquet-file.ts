/**
 * One archive file opened for reading with hyparquet: its footer checked
 * against format.ts (each failure a TsdbArchiveError with its own code), and
 * two reads that decode only what they need:
 *
 *   series(key, from, to)   one series' points. The row-group statistics of
 *                           `series` and `ts` skip row groups, their column
 *                           indexes skip pages (hyparquet's parquetScan with a
 *                           pruning filter); the surviving pages' `series`
 *                           values are binary-searched (rows are sorted), then
 *                           only the matching rows of `ts` and `value` decoded.
 *   rowGroups()             every row, one row group at a time (reimport).
 *
 * Spec: https://github.com/apache/parquet-format/blob/master/PageIndex.md
 */
import type { FileHandle } from 'node:fs/promises'
import { open } from 'node:fs/promises'
import {
  type AsyncBuffer,
  type DecodedArray,
  type FileMetaData,
  type ParquetParsers,
  type ParquetScan,
  parquetMetadataAsync,
  parquetRead,
  parquetScan,
  parquetSchema,
} from 'hyparquet'
import { TsdbArchiveError } from './errors.js'
import {
  ARCHIVE_FORMAT_VERSION,
  type ArchiveMeta,
  COLUMNS,
  compareKeys,
  DECOMPRESSORS,
  METADATA_KEY,
  PHYSICAL_TYPES,
} from './format.js'

/** A run of one series' points, in time order (the engine's PointBatch shape). */
export interface ArchiveBatch {
  timestamps: Float64Array
  values: Float64Array
}

/** A row group's columns, rows sorted by series then ts. */
export interface RowGroupColumns {
  readonly series: readonly string[]
  readonly timestamps: Float64Array
  readonly values: Float64Array
}

/** Timestamps as numbers (exact: the engine's are within ±2^51), not Date objects. */
const PARSERS: Partial<ParquetParsers> = { timestampFromMilliseconds: (ms: bigint) => Number(ms) }
const MAGIC = 0x31524150 // 'PAR1' little-endian

/** What openArchiveFile() learnt from a footer, reusable while the file is unchanged. */
export interface ArchiveFooter {
  readonly metadata: FileMetaData
  readonly meta: ArchiveMeta
  /** The file it was read from: a footer is reused only for the same inode, size and mtime. */
  readonly stamp: string
  /** The file's size. */
  readonly bytes: number
}

/** Identifies a version of a file: an export replaces a file by rename (a new inode). */
export const stampOf = (st: { ino: number; size: number; mtimeMs: number }): string =>
  `${st.ino}:${st.size}:${st.mtimeMs}`

/** The file underneath: positioned reads, the signal, and error wrapping. */
class FileReader {
  /** Bytes read so far (for the measurements). */
  bytesRead = 0
  /** An AsyncBuffer over the file for hyparquet. */
  readonly buffer: AsyncBuffer

  constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly byteLength: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.buffer = { byteLength, slice: (start, end) => this.read(start, end ?? byteLength) }
  }

  /** Reads [start, end), checking the signal first: an abort takes effect between two reads. */
  async read(start: number, end: number): Promise<ArrayBuffer> {
    this.signal?.throwIfAborted()
    const out = new Uint8Array(Math.max(0, end - start))
    let done = 0
    while (done < out.length) {
      const { bytesRead } = await this.fh.read(out, done, out.length - done, start + done)
      if (bytesRead === 0) throw this.error('STRATA_TSDB_ARCHIVE_TRUNCATED', 'the file shrank while read')
      done += bytesRead
    }
    this.bytesRead += out.length
    return out.buffer
  }

  close(): Promise<void> {
    return this.fh.close()
  }

  /** Runs a hyparquet call; its failures (bad pages, bad offsets) become STRATA_TSDB_ARCHIVE_CORRUPT. */
  async guard<T>(fn: () => Promise<T> | T): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof TsdbArchiveError || isAbort(err, this.signal)) throw err
      throw this.error('STRATA_TSDB_ARCHIVE_CORRUPT', `unreadable: ${(err as Error).message}`, err)
    }
  }

  error(code: TsdbArchiveError['code'], message: string, cause?: unknown): TsdbArchiveError {
    return new TsdbArchiveError(code, this.path, message, cause === undefined ? undefined : { cause })
  }
}

const isAbort = (err: unknown, signal: AbortSignal | undefined): boolean =>
  signal?.aborted === true && (err === signal.reason || (err as Error)?.name === 'AbortError')

/** An archive file with its checked footer. close() when done. */
export class OpenArchiveFile implements ArchiveFooter {
  readonly metadata: FileMetaData
  readonly meta: ArchiveMeta
  readonly stamp: string
  readonly bytes: number

  constructor(
    private readonly file: FileReader,
    footer: ArchiveFooter,
  ) {
    this.metadata = footer.metadata
    this.meta = footer.meta
    this.stamp = footer.stamp
    this.bytes = footer.bytes
  }

  get path(): string {
    return this.file.path
  }

  /** Bytes read from the file so far, footer included. */
  get bytesRead(): number {
    return this.file.bytesRead
  }

  close(): Promise<void> {
    return this.file.close()
  }

  /** One series' points in [from, to), in batches (a batch per surviving page range). */
  async *series(key: string, from: number, to: number): AsyncGenerator<ArchiveBatch> {
    const scan = await this.guard(() =>
      parquetScan({
        file: this.file.buffer,
        metadata: this.metadata,
        columns: ['series', 'ts', 'value'],
        pruningFilter: { $and: [{ series: { $eq: key } }, { ts: { $gte: from, $lt: to } }] },
        usePageIndex: true,
        compressors: DECOMPRESSORS,
        parsers: PARSERS,
      }),
    )
    for (const range of scan.ranges) {
      const keys = this.keys(await this.column(scan, 'series', range.rowStart, range.rowEnd), true)
      const a = range.rowStart + bound(keys, key, false)
      const b = range.rowStart + bound(keys, key, true)
      if (a === b) continue
      const ts = this.timestamps(await this.column(scan, 'ts', a, b))
      const c = lowerBound(ts, from)
      const d = lowerBound(ts, to, c)
      if (c === d) continue
      yield { timestamps: ts.subarray(c, d), values: await this.doubles(a + c, a + d) }
    }
  }

  /** Every row, one row group at a time. */
  async *rowGroups(): AsyncGenerator<RowGroupColumns> {
    const scan = await this.guard(() =>
      parquetScan({
        file: this.file.buffer,
        metadata: this.metadata,
        columns: ['series', 'ts', 'value'],
        compressors: DECOMPRESSORS,
        parsers: PARSERS,
      }),
    )
    for (const { rowStart, rowEnd } of scan.ranges) {
      const series = this.keys(await this.column(scan, 'series', rowStart, rowEnd), false)
      const timestamps = this.timestamps(await this.column(scan, 'ts', rowStart, rowEnd), series)
      const values = await this.doubles(rowStart, rowEnd)
      if (series.length !== timestamps.length || values.length !== timestamps.length) {
        throw this.error(
          'STRATA_TSDB_ARCHIVE_CORRUPT',
          `row group at row ${rowStart}: columns of unequal length`,
        )
      }
      yield { series, timestamps, values }
    }
  }

  private column(scan: ParquetScan, column: string, rowStart: number, rowEnd: number): Promise<DecodedArray> {
    return this.guard(() => scan.readColumn({ column, rowStart, rowEnd }))
  }

  /** The series column, checked: strings, and sorted where a binary search relies on it. */
  private keys(data: DecodedArray, sorted: boolean): readonly string[] {
    if (!Array.isArray(data))
      throw this.error('STRATA_TSDB_ARCHIVE_CORRUPT', 'series did not decode to strings')
    for (let i = 0; i < data.length; i++) {
      const k: unknown = data[i]
      if (typeof k !== 'string')
        throw this.error('STRATA_TSDB_ARCHIVE_CORRUPT', 'series did not decode to strings')
      if (sorted && i > 0 && compareKeys(data[i - 1] as string, k) > 0) {
        throw this.error('STRATA_TSDB_ARCHIVE_CORRUPT', 'rows are not sorted by series')
      }
    }
    return data as string[]
  }

  /**
   * The ts column as a Float64Array, checked: inside the partition and, within a
   * series, non-decreasing (binary searches rely on it).
   */
  private timestamps(data: DecodedArray, series?: readonly string[]): Float64Array {
    // Numbers through PARSERS; a BigInt64Array from a file whose ts lacks the TIMESTAMP annotation.
    const ts =
      data instanceof BigInt64Array
        ? Float64Array.from(data, (b) => Number(b))
        : Float64Array.from(data as ArrayLike<number>)
    const { start, end } = this.meta
    let prev = Number.NEGATIVE_INFINITY
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i] as number
      const sameSeries = series === undefined || i === 0 || series[i] === series[i - 1]
      if (!(t >= start && t < end) || (sameSeries && t < prev)) {
        throw this.error(
          'STRATA_TSDB_ARCHIVE_CORRUPT',
          t < start || t >= end ? `timestamp ${t} outside [${start}, ${end})` : 'timestamps out of order',
        )
      }
      prev = t
    }
    return ts
  }

  /**
   * Rows [rowStart, rowEnd) of `value`, copied page by page with TypedArray.set. Not through
   * parquetScan's readColumn: over several pages it concatenates into a JavaScript array,
   * and V8 canonicalises NaN stored in a double array (payloads lost). onPage hands over
   * each page's Float64Array as decoded; the offset index limits the read to those pages.
   */
  private async doubles(rowStart: number, rowEnd: number): Promise<Float64Array> {
    const out = new Float64Array(rowEnd - rowStart)
    let filled = 0
    let bad = false
    await this.guard(() =>
      parquetRead({
        file: this.file.buffer,
        metadata: this.metadata,
        columns: ['value'],
        rowStart,
        rowEnd,
        useOffsetIndex: true,
        compressors: DECOMPRESSORS,
        onPage: (page) => {
          if (!(page.columnData instanceof Float64Array)) {
            bad = true
            return
          }
          const a = Math.max(rowStart, page.rowStart)
          const b = Math.min(rowEnd, page.rowEnd)
          if (a >= b) return
          out.set(page.columnData.subarray(a - page.rowStart, b - page.rowStart), a - rowStart)
          filled += b - a
        },
      }),
    )
    if (bad || filled !== out.length) {
      throw this.error('STRATA_TSDB_ARCHIVE_CORRUPT', `value rows [${rowStart}, ${rowEnd}) did not decode`)
    }
    return out
  }

  private guard<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.file.guard(fn)
  }

  private error(code: TsdbArchiveError['code'], message: string): TsdbArchiveError {
    return this.file.error(code, message)
  }
}

/**
 * Opens an archive file and checks its footer (or takes one read earlier, if the file is
 * still the same): Parquet magic at both ends, the four columns with their physical types,
 * and the Strata metadata of a version this build reads.
 */
export async function openArchiveFile(
  path: string,
  signal?: AbortSignal,
  footer?: ArchiveFooter,
): Promise<OpenArchiveFile> {
  signal?.throwIfAborted()
  const fh = await open(path, 'r')
  try {
    const st = await fh.stat()
    const stamp = stampOf(st)
    const file = new FileReader(path, fh, st.size, signal)
    const f = footer?.stamp === stamp ? footer : await readFooter(file, stamp)
    return new OpenArchiveFile(file, f)
  } catch (err) {
    await fh.close()
    throw err
  }
}

async function readFooter(file: FileReader, stamp: string): Promise<ArchiveFooter> {
  const size = file.byteLength
  if (size === 0) throw file.error('STRATA_TSDB_ARCHIVE_TRUNCATED', 'empty file')
  const head = new Uint8Array(await file.read(0, Math.min(4, size)))
  const magic = new Uint8Array(new Uint32Array([MAGIC]).buffer)
  if (head.some((b, i) => b !== magic[i])) {
    throw file.error('STRATA_TSDB_ARCHIVE_NOT_PARQUET', 'not a Parquet file (no PAR1 magic)')
  }
  // 'PAR1', the footer, its 4-byte length, 'PAR1': anything shorter, or no closing magic,
  // is a file cut short (a copy or a write that did not finish).
  if (size < 12) throw file.error('STRATA_TSDB_ARCHIVE_TRUNCATED', `only ${size} bytes`)
  const tail = new DataView(await file.read(size - 8, size))
  if (tail.getUint32(4, true) !== MAGIC) {
    throw file.error('STRATA_TSDB_ARCHIVE_TRUNCATED', 'no Parquet footer: the file is cut short')
  }
  const footerLength = tail.getUint32(0, true)
  if (footerLength > size - 12) {
    throw file.error('STRATA_TSDB_ARCHIVE_CORRUPT', `footer length ${footerLength} exceeds the file`)
  }
  const metadata = await file.guard(() =>
    parquetMetadataAsync(file.buffer, { parsers: PARSERS, initialFetchSize: footerLength + 8 }),
  )
  const leaves = parquetSchema(metadata).children.map((c) => [c.element.name, c.element.type])
  const want = COLUMNS.map((c) => [c, PHYSICAL_TYPES[c]])
  if (JSON.stringify(leaves) !== JSON.stringify(want)) {
    const got = leaves.map(([n, t]) => `${n} ${t}`).join(', ')
    throw file.error('STRATA_TSDB_ARCHIVE_SCHEMA', `columns (${got}) are not an archive's`)
  }
  const value = metadata.key_value_metadata?.find((kv) => kv.key === METADATA_KEY)?.value
  if (value === undefined) throw file.error('STRATA_TSDB_ARCHIVE_SCHEMA', `no ${METADATA_KEY} metadata`)
  const meta = parseMeta(value)
  if (meta === undefined) throw file.error('STRATA_TSDB_ARCHIVE_SCHEMA', `bad ${METADATA_KEY} metadata`)
  if (meta.version !== ARCHIVE_FORMAT_VERSION) {
    throw file.error(
      'STRATA_TSDB_ARCHIVE_SCHEMA',
      `archive format version ${meta.version} (this build reads ${ARCHIVE_FORMAT_VERSION})`,
    )
  }
  if (BigInt(meta.points) !== metadata.num_rows) {
    throw file.error('STRATA_TSDB_ARCHIVE_CORRUPT', `${metadata.num_rows} rows, metadata says ${meta.points}`)
  }
  return { metadata, meta, stamp, bytes: file.byteLength }
}

function parseMeta(json: string): ArchiveMeta | undefined {
  try {
    const m = JSON.parse(json) as Record<string, unknown>
    const ok =
      ['version', 'start', 'end', 'points', 'series'].every((k) => Number.isSafeInteger(m[k])) &&
      (m.class === undefined || typeof m.class === 'string')
    return ok && (m.start as number) < (m.end as number) ? (m as unknown as ArchiveMeta) : undefined
  } catch {
    return undefined
  }
}

/** The first index in sorted `keys` whose key is ≥ `key` (or > `key` if `after`). */
function bound(keys: readonly string[], key: string, after: boolean): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const c = compareKeys(keys[mid] as string, key)
    if (c < 0 || (after && c === 0)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The first index i ≥ lo with ts[i] ≥ t. */
function lowerBound(ts: Float64Array, t: number, lo = 0): number {
  let hi = ts.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((ts[mid] as number) < t) lo = mid + 1
    else hi = mid
  }
  return lo
}
