/**
 * The archive file format: one Parquet file per exported partition.
 *
 *   raw-YYYYMMDD.parquet       the UTC day's points (raw-YYYYMMDDTHHMMSS.parquet if a
 *                              partition does not start at midnight), 'default' class
 *   raw-<class>-YYYYMMDD.parquet  the same for another retention class's partition
 *   .raw-….parquet.<id>.tmp    a file being written; never read, removed by the next export
 *
 * Columns (all REQUIRED, rows sorted by series in UTF-8 byte order, then ts):
 *   series  BYTE_ARRAY UTF8, dictionary (RLE runs: a series' rows are contiguous)
 *   device  BYTE_ARRAY UTF8, dictionary
 *   ts      INT64 TIMESTAMP(MILLIS, UTC), DELTA_BINARY_PACKED
 *   value   DOUBLE, BYTE_STREAM_SPLIT (never dictionary: see VALUE_ENCODING)
 *
 * Key-value metadata `strata.tsdb.archive` holds JSON {version, start, end, points, series,
 * class?}: the partition's [start, end) in ms, so that a listing needs only footers, and its
 * retention class (absent: 'default', as in files from before classes; a reader that does not
 * know the field ignores it, and does not list such files, whose names it does not match).
 * Spec: https://github.com/apache/parquet-format (LogicalTypes.md, Encodings.md, PageIndex.md).
 */
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib'
import type { CompressionCodec, SchemaElement } from 'hyparquet'

export const ARCHIVE_FORMAT_VERSION = 1
export const METADATA_KEY = 'strata.tsdb.archive'
export const COLUMNS = ['series', 'device', 'ts', 'value'] as const

export const SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: 4 },
  { name: 'series', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'device', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  {
    name: 'ts',
    type: 'INT64',
    converted_type: 'TIMESTAMP_MILLIS',
    logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
    repetition_type: 'REQUIRED',
  },
  { name: 'value', type: 'DOUBLE', repetition_type: 'REQUIRED' },
]

/** The physical type each column must have for a file to be read as an archive. */
export const PHYSICAL_TYPES: Record<(typeof COLUMNS)[number], string> = {
  series: 'BYTE_ARRAY',
  device: 'BYTE_ARRAY',
  ts: 'INT64',
  value: 'DOUBLE',
}

/**
 * hyparquet-writer's dictionary keys doubles in a Map (SameValueZero), which
 * folds -0 into 0 and every NaN payload into one: values must never be
 * dictionary-encoded. BYTE_STREAM_SPLIT copies the bytes of a Float64Array,
 * so the bits survive, and groups exponent bytes for the compressor.
 */
export const VALUE_ENCODING = 'BYTE_STREAM_SPLIT'

/** What the footer's JSON says about the file. */
export interface ArchiveMeta {
  readonly version: number
  /** The partition, [start, end) in ms. */
  readonly start: number
  readonly end: number
  readonly points: number
  readonly series: number
  /** The retention class ('default' if absent). */
  readonly class?: string
}

export const DEFAULT_CLASS = 'default'

/** A retention class name as file names hold it (engine/retention.ts validates the same). */
export const CLASS_PATTERN = '[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?'

/** Page compression. Node 20's zlib has no zstd; SNAPPY is hyparquet's built-in. */
export type ArchiveCodec = 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'BROTLI'

/**
 * The default: the smallest files of the four. A day of 1,000 mixed sensor series
 * (test/archive/measure.ts): BROTLI (quality 5) 2.26 bytes/point, GZIP (level 6) 2.39,
 * SNAPPY 3.07, UNCOMPRESSED 8.30; export speed about the same for all (compression is
 * about a tenth of the export's time), and brotli decompresses faster than gzip.
 */
export const DEFAULT_CODEC: ArchiveCodec = 'BROTLI'

type Compress = (input: Uint8Array) => Uint8Array
type Decompress = (input: Uint8Array, outputLength: number) => Uint8Array

const view = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)

export const COMPRESSORS: Partial<Record<CompressionCodec, Compress>> = {
  GZIP: (input) => view(gzipSync(input, { level: 6 })),
  BROTLI: (input) =>
    view(
      brotliCompressSync(input, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 5,
          [constants.BROTLI_PARAM_SIZE_HINT]: input.byteLength,
        },
      }),
    ),
}

/** For the reader: hyparquet decodes only SNAPPY and UNCOMPRESSED by itself. */
export const DECOMPRESSORS: Partial<Record<CompressionCodec, Decompress>> = {
  GZIP: (input) => view(gunzipSync(input)),
  BROTLI: (input) => view(brotliDecompressSync(input)),
}

const NAME = new RegExp(
  `^raw-(?:(${CLASS_PATTERN})-)?(-?\\d{4,6})(\\d{2})(\\d{2})(?:T(\\d{2})(\\d{2})(\\d{2}))?\\.parquet$`,
)

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/** `raw-YYYYMMDD.parquet` for a partition starting at `start` (ms, UTC); `raw-<class>-…` for another class. */
export function archiveFileName(start: number, retentionClass: string = DEFAULT_CLASS): string {
  const d = new Date(start)
  if (Number.isNaN(d.getTime())) throw new RangeError(`partition start ${start} is not a time`)
  const y = d.getUTCFullYear()
  const year = (y < 0 ? '-' : '') + pad(Math.abs(y), 4)
  const prefix = retentionClass === DEFAULT_CLASS ? 'raw-' : `raw-${retentionClass}-`
  if (!new RegExp(`^${CLASS_PATTERN}$`).test(retentionClass))
    throw new RangeError(`bad retention class ${JSON.stringify(retentionClass)}`)
  const day = `${year}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`
  const ms = start - Date.UTC(y, d.getUTCMonth(), d.getUTCDate())
  if (ms === 0) return `${prefix}${day}.parquet`
  if (ms % 1000 !== 0) throw new RangeError(`partition start ${start} is not on a whole second`)
  return `${prefix}${day}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.parquet`
}

export const isArchiveFileName = (name: string): boolean => NAME.test(name)

/** The partition start an archive file name gives (NaN if it is not one). */
export function startOfFileName(name: string): number {
  const m = NAME.exec(name)
  if (m === null) return Number.NaN
  const d = new Date(0)
  d.setUTCFullYear(Number(m[2]), Number(m[3]) - 1, Number(m[4]))
  d.setUTCHours(Number(m[5] ?? 0), Number(m[6] ?? 0), Number(m[7] ?? 0))
  return d.getTime()
}

/** The retention class an archive file name gives (undefined if it is not one). */
export function classOfFileName(name: string): string | undefined {
  const m = NAME.exec(name)
  return m === null ? undefined : (m[1] ?? DEFAULT_CLASS)
}

/** A temporary name next to `name`: hidden, never matching isArchiveFileName. */
export function temporaryName(name: string): string {
  return `.${name}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`
}

/** Whether `name` is a temporary file of the archive file `of` (any writer). */
export const isTemporaryOf = (name: string, of: string): boolean =>
  name.startsWith(`.${of}.`) && name.endsWith('.tmp')

/**
 * Series order in a file: UTF-8 byte order (which is code point order), the order
 * Parquet's statistics and column index use for strings. JavaScript's `<` compares
 * UTF-16 code units and puts a character above U+FFFF (a surrogate pair, units
 * 0xD800..0xDFFF) before U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++
  if (i === n) return a.length - b.length
  const ua = a.charCodeAt(i)
  const ub = b.charCodeAt(i)
  const sa = ua >= 0xd800 && ua <= 0xdfff
  const sb = ub >= 0xd800 && ub <= 0xdfff
  // Two surrogates (two high ones, or two low ones after the same high one) order
  // as their code points do; a surrogate pair is above every other unit.
  if (sa === sb) return ua - ub
  return sa ? 1 : -1
}
