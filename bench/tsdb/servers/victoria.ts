// VictoriaMetrics single-node (Debian's victoria-metrics 1.79) over its HTTP API:
// JSON-lines import (/api/v1/import: one line per series and batch, values and timestamps as
// arrays), export (/api/v1/export) for the bit-exact check, MetricsQL for the queries.
// Docs: https://docs.victoriametrics.com/#how-to-import-time-series-data
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, sleep } from '../../broker/proc.js'
import { type Batch, type BatchSource, BatchStream, endMs, seriesName } from '../data.js'
import { byMetric, type Engine, type IngestStats, type MinuteAverages, pipelinedIngest } from '../engine.js'
import {
  filesSize,
  requestOk,
  ServerEngine,
  type ServerProc,
  seconds,
  spawnServer,
  waitHttp,
} from './common.js'

export const VM_BIN = '/usr/bin/victoria-metrics'

export const vmUnavailable = (): string | null =>
  existsSync(VM_BIN) ? null : `${VM_BIN} not found (apt-get install -y victoria-metrics)`

interface PromSeries {
  metric: Record<string, string>
  values?: [number, string][]
  value?: [number, string]
}

/** `a|b|c` for a regex selector (our names need no escaping). */
const alternatives = (xs: string[]) => [...new Set(xs)].join('|')

export class VictoriaMetrics extends ServerEngine implements Engine {
  readonly name = 'victoriametrics' as const
  private base = ''
  private dataPath = ''

  async start(dir: string): Promise<void> {
    this.dataPath = join(dir, 'vm')
    const proc = await this.spawn()
    await waitHttp(`${this.base}/health`, proc, 30_000)
  }

  /** A fresh process on a new free port, on the same data (used again by the recovery test). */
  protected async spawn(): Promise<ServerProc> {
    const port = await freePort()
    this.base = `http://127.0.0.1:${port}`
    this.proc = spawnServer(VM_BIN, [
      `-storageDataPath=${this.dataPath}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      // Generated timestamps are in the past: anything older than the retention is dropped silently.
      '-retentionPeriod=100y',
      // Repeated queries must not be answered from the rollup cache (the other engines have none).
      '-search.disableCache',
      '-loggerLevel=ERROR',
    ])
    return this.proc
  }

  async write(batch: Batch): Promise<void> {
    await this.send(this.format(batch))
  }

  private send(body: string): Promise<void> {
    return requestOk(`${this.base}/api/v1/import`, 'POST', body).then(() => {})
  }

  private format(batch: Batch): string {
    const lines: string[] = []
    for (let r = 0; r < batch.series.length; r++) {
      const from = batch.offsets[r] as number
      const to = batch.offsets[r + 1] as number
      if (to === from) continue
      const { metric, device } = seriesName(batch.series[r] as number)
      // Float64Array#join prints the shortest decimal that reads back as the same double.
      lines.push(
        `{"metric":{"__name__":"${metric}","device":"${device}"},"values":[${batch.values.subarray(from, to).join(',')}],"timestamps":[${batch.ts.subarray(from, to).join(',')}]}`,
      )
    }
    return `${lines.join('\n')}\n`
  }

  ingest(source: BatchSource): Promise<IngestStats> {
    return pipelinedIngest(
      (b) => this.format(b),
      (body) => this.send(body),
      new BatchStream(source),
    )
  }

  private async metrics(): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const line of (await requestOk(`${this.base}/metrics`)).split('\n')) {
      const m = /^(vm_active_merges|vm_active_force_merges|vm_parts|vm_pending_rows)(\{[^}]*\})? (\S+)/.exec(
        line,
      )
      if (m) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]))
    }
    return out
  }

  private async waitIdle(): Promise<void> {
    const deadline = performance.now() + 600_000
    let quiet = 0
    while (performance.now() < deadline) {
      const m = await this.metrics()
      let busy = 0
      for (const [k, v] of m) if (k.startsWith('vm_active_')) busy += v
      quiet = busy === 0 ? quiet + 1 : 0
      if (quiet >= 2) return
      await sleep(200)
    }
    throw new Error('merges still running after 600 s')
  }

  private async storageParts(): Promise<number> {
    let n = 0
    for (const [k, v] of await this.metrics()) if (k.startsWith('vm_parts{type="storage')) n += v
    return n
  }

  /**
   * As ENVIRONMENT.md says: force_flush, then force_merge of each month's partition; a merge
   * request does nothing while background merges hold the parts, so repeat until idle and the
   * part count stops falling.
   */
  async flushForSize(): Promise<void> {
    await requestOk(`${this.base}/internal/force_flush`)
    await sleep(300)
    const months = new Set<string>()
    for (let t = this.spec.startMs - 1000; t < endMs(this.spec) + 86_400_000; t += 86_400_000) {
      const d = new Date(t)
      months.add(`${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`)
    }
    let parts = Number.POSITIVE_INFINITY
    for (let round = 0; round < 5; round++) {
      await this.waitIdle()
      for (const p of months) await requestOk(`${this.base}/internal/force_merge?partition_prefix=${p}`)
      await sleep(300)
      await this.waitIdle()
      const now = await this.storageParts()
      if (now >= parts || now <= months.size) break
      parts = now
    }
  }

  /** Everything under the storage path (data parts and indexdb) but the caches written on exit. */
  async sizeOnDisk(): Promise<number> {
    return filesSize(this.dataPath, (rel) => !rel.startsWith('cache/') && !rel.startsWith('snapshots/'))
  }

  async queryRange1mAvg(series: number, fromMs: number, toMs: number): Promise<MinuteAverages> {
    const [one] = await this.queryRange1mAvgMany([series], fromMs, toMs)
    return one ?? { series, t: new Float64Array(0), avg: new Float64Array(0) }
  }

  /**
   * avg_over_time(...[1m]) at a 60 s step. A rollup drops the metric name, so series of different
   * metrics cannot share one query: one request per metric, sent together. VM's point at t
   * covers (t - 60 s, t]; `offset 1ms` shifts that to [t - 60 s, t) for integer-ms timestamps,
   * the bucket the other engines call t - 60 s, so that every engine averages the same points.
   */
  async queryRange1mAvgMany(series: number[], fromMs: number, toMs: number): Promise<MinuteAverages[]> {
    const groups = byMetric(series, seriesName)
    const replies = await Promise.all(
      [...groups].map(async ([metric, g]) => {
        const q = `avg_over_time(${metric}{device=~"${alternatives(g.devices)}"}[1m] offset 1ms)`
        const url =
          `${this.base}/api/v1/query_range?query=${encodeURIComponent(q)}` +
          `&start=${seconds(fromMs + 60_000)}&end=${seconds(toMs)}&step=60s`
        const body = JSON.parse(await requestOk(url)) as { data: { result: PromSeries[] } }
        return { metric, g, result: body.data.result }
      }),
    )
    const out: MinuteAverages[] = []
    for (const { g, result } of replies) {
      const byDevice = new Map(result.map((s) => [s.metric.device, s]))
      g.ids.forEach((id, i) => {
        const values = byDevice.get(g.devices[i] as string)?.values ?? []
        out.push({
          series: id,
          t: Float64Array.from(values, (v) => v[0] * 1000 - 60_000),
          avg: Float64Array.from(values, (v) => Number(v[1])),
        })
      })
    }
    return out
  }

  /**
   * An instant query of the raw selector keeps metric names, so one request answers every
   * series; VM's `step` on /api/v1/query is how far back it looks for the last sample: 10 min,
   * twice the longest gap in the data (a wider window only makes VM decode more points).
   */
  async latest(series: number[]): Promise<Float64Array> {
    const names = series.map(seriesName)
    const q = `{__name__=~"${alternatives(names.map((n) => n.metric))}",device=~"${alternatives(names.map((n) => n.device))}"}`
    const url =
      `${this.base}/api/v1/query?query=${encodeURIComponent(q)}` +
      `&time=${seconds(endMs(this.spec) + 1000)}&step=10m`
    const body = JSON.parse(await requestOk(url)) as { data: { result: PromSeries[] } }
    const got = new Map(body.data.result.map((s) => [`${s.metric.__name__}/${s.metric.device}`, s.value]))
    return Float64Array.from(names, (n) => {
      const v = got.get(`${n.metric}/${n.device}`)
      return v ? Number(v[1]) : Number.NaN
    })
  }

  async readBack(series: number): Promise<{ ts: Float64Array; values: Float64Array }> {
    const { metric, device } = seriesName(series)
    const match = encodeURIComponent(`${metric}{device="${device}"}`)
    const body = await requestOk(`${this.base}/api/v1/export?match[]=${match}`)
    const ts: number[] = []
    const values: number[] = []
    for (const line of body.split('\n')) {
      if (!line) continue
      const s = JSON.parse(line) as { values: number[]; timestamps: number[] }
      ts.push(...s.timestamps)
      values.push(...s.values)
    }
    // One series may come back as several lines (one per stored block): order by time.
    const order = ts.map((_, i) => i).sort((a, b) => (ts[a] as number) - (ts[b] as number))
    return {
      ts: Float64Array.from(order, (i) => ts[i] as number),
      values: Float64Array.from(order, (i) => values[i] as number),
    }
  }
}
