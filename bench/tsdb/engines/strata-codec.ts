// Strata's slot until packages/tsdb has storage: a pseudo-engine that only encodes. Points are
// cut into one chunk per series per hour and encoded with `encodeChunk` from @strata/tsdb
// (packages/tsdb/src/codec/chunk.ts); its "size on disk" is the sum of the encoded chunks (no
// file, no index), and readBack decodes them, so the size and bit-exact columns already compare.
// Its ingest rate is the encoder's alone (no I/O): the report marks it so. Queries, latest and
// recovery need storage: '-' until Strata's engine replaces this slot.
import { type Batch, type BatchSource, BatchStream } from '../data.js'
import { type Engine, type IngestStats, ingestAll, type MinuteAverages, Unsupported } from '../engine.js'

const HOUR_MS = 3_600_000

interface Codec {
  encodeChunk(timestamps: Float64Array, values: Float64Array): Uint8Array
  decodeChunk(bytes: Uint8Array): unknown
}

/** The codec, or why it cannot be used yet. */
export async function loadCodec(): Promise<Codec | string> {
  let mod: Record<string, unknown>
  try {
    // The same build as the strata slot (BENCH_TSDB_MODULE, strata.ts).
    const { TSDB_MODULE } = await import('./strata.js')
    mod = (await import(TSDB_MODULE)) as Record<string, unknown>
  } catch (err) {
    return `@strata/tsdb did not load (is it built? npm run build): ${(err as Error).message}`
  }
  if (typeof mod.encodeChunk !== 'function' || typeof mod.decodeChunk !== 'function') {
    return '@strata/tsdb does not export encodeChunk/decodeChunk yet (packages/tsdb/src/codec/chunk.ts)'
  }
  return mod as unknown as Codec
}

/** decodeChunk's result as two columns, whichever of the likely shapes it has. */
function columns(decoded: unknown): { ts: ArrayLike<number | bigint>; values: ArrayLike<number> } {
  if (Array.isArray(decoded) && decoded.length === 2) {
    return { ts: decoded[0] as ArrayLike<number>, values: decoded[1] as ArrayLike<number> }
  }
  const d = decoded as Record<string, ArrayLike<number>>
  const ts = d.timestamps ?? d.ts ?? d.times
  if (!ts || !d.values) throw new Error('decodeChunk returned neither {timestamps, values} nor [ts, values]')
  return { ts, values: d.values }
}

class OpenChunk {
  ts: number[] = []
  values: number[] = []
  constructor(readonly hour: number) {}
}

export class StrataCodecEngine implements Engine {
  readonly name = 'strata-codec' as const
  private codec: Codec | null = null
  private readonly open = new Map<number, OpenChunk>()
  private readonly chunks = new Map<number, Uint8Array[]>()
  private bytes = 0

  async start(): Promise<void> {
    const codec = await loadCodec()
    if (typeof codec === 'string') throw new Error(codec)
    this.codec = codec
  }

  private seal(series: number, chunk: OpenChunk): void {
    if (chunk.ts.length === 0) return
    const bytes = (this.codec as Codec).encodeChunk(
      Float64Array.from(chunk.ts),
      Float64Array.from(chunk.values),
    )
    let list = this.chunks.get(series)
    if (!list) {
      list = []
      this.chunks.set(series, list)
    }
    list.push(bytes)
    this.bytes += bytes.byteLength
  }

  async write(batch: Batch): Promise<void> {
    for (let r = 0; r < batch.series.length; r++) {
      const s = batch.series[r] as number
      const to = batch.offsets[r + 1] as number
      let chunk = this.open.get(s)
      for (let i = batch.offsets[r] as number; i < to; i++) {
        const t = batch.ts[i] as number
        const hour = Math.floor(t / HOUR_MS)
        if (!chunk || chunk.hour !== hour) {
          if (chunk) this.seal(s, chunk)
          chunk = new OpenChunk(hour)
          this.open.set(s, chunk)
        }
        chunk.ts.push(t)
        chunk.values.push(batch.values[i] as number)
      }
    }
  }

  ingest(source: BatchSource): Promise<IngestStats> {
    return ingestAll(this, new BatchStream(source))
  }

  async flushForSize(): Promise<void> {
    for (const [s, chunk] of this.open) this.seal(s, chunk)
    this.open.clear()
  }

  async sizeOnDisk(): Promise<number> {
    return this.bytes
  }

  async readBack(series: number): Promise<{ ts: Float64Array; values: Float64Array }> {
    await this.flushForSize()
    const ts: number[] = []
    const values: number[] = []
    for (const bytes of this.chunks.get(series) ?? []) {
      const c = columns((this.codec as Codec).decodeChunk(bytes))
      for (let i = 0; i < c.ts.length; i++) {
        ts.push(Number(c.ts[i]))
        values.push(c.values[i] as number)
      }
    }
    return { ts: Float64Array.from(ts), values: Float64Array.from(values) }
  }

  queryRange1mAvg(): Promise<MinuteAverages> {
    throw new Unsupported('codec only: no query path until packages/tsdb has storage')
  }
  queryRange1mAvgMany(): Promise<MinuteAverages[]> {
    throw new Unsupported('codec only: no query path until packages/tsdb has storage')
  }
  latest(): Promise<Float64Array> {
    throw new Unsupported('codec only: no query path until packages/tsdb has storage')
  }
  killAndRecover(): Promise<never> {
    throw new Unsupported('codec only: nothing is persisted')
  }
  pid(): number | null {
    return process.pid
  }

  async stop(): Promise<void> {
    this.open.clear()
    this.chunks.clear()
  }
}
