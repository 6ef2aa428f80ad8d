// InfluxDB 1.6 (Debian's influxdb) over its HTTP API: line protocol at ms precision into one
// database (measurement = metric, tag device, field value, always a float), InfluxQL queries.
// Its size is the .tsm files only: the _series index preallocates 32 MiB of sparse files, the
// WAL is empty once the cache is snapshotted. Docs: https://docs.influxdata.com/influxdb/v1.6/
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, sleep } from '../../broker/proc.js'
import { type Batch, type BatchSource, BatchStream, seriesName } from '../data.js'
import { byMetric, type Engine, type IngestStats, type MinuteAverages, pipelinedIngest } from '../engine.js'
import { filesSize, requestOk, ServerEngine, type ServerProc, spawnServer, waitHttp } from './common.js'

export const INFLUXD_BIN = '/usr/bin/influxd'
const DB = 'bench'

export const influxUnavailable = (): string | null =>
  existsSync(INFLUXD_BIN) ? null : `${INFLUXD_BIN} not found (apt-get install -y influxdb)`

interface InfluxSeries {
  name: string
  tags?: Record<string, string>
  values: [number, number | null][]
}
interface InfluxReply {
  results: { series?: InfluxSeries[]; error?: string }[]
}

const quoteList = (xs: string[]) => [...new Set(xs)].map((m) => `"${m}"`).join(',')
const deviceRegex = (xs: string[]) => `/^(${[...new Set(xs)].join('|')})$/`

export class InfluxDB extends ServerEngine implements Engine {
  readonly name = 'influxdb' as const
  private base = ''
  private dir = ''

  async start(dir: string): Promise<void> {
    this.dir = join(dir, 'influx')
    mkdirSync(this.dir, { recursive: true })
    const proc = await this.spawn()
    await waitHttp(`${this.base}/ping`, proc, 60_000)
    await requestOk(`${this.base}/query?q=${encodeURIComponent(`CREATE DATABASE ${DB}`)}`, 'POST')
  }

  /** A fresh process on new free ports, on the same data (used again by the recovery test). */
  protected async spawn(): Promise<ServerProc> {
    const port = await freePort()
    const rpcPort = await freePort()
    this.base = `http://127.0.0.1:${port}`
    const conf = join(this.dir, 'influxdb.conf')
    writeFileSync(
      conf,
      [
        'reporting-disabled = true',
        `bind-address = "127.0.0.1:${rpcPort}"`,
        '[meta]',
        `  dir = "${this.dir}/meta"`,
        '  logging-enabled = false',
        '[data]',
        `  dir = "${this.dir}/data"`,
        `  wal-dir = "${this.dir}/wal"`,
        '  query-log-enabled = false',
        // Only when writes stop: snapshot the cache after 1 s and compact fully after 2 s (the
        // defaults, 10 min and 4 h, would leave the size unsettled). Steady ingest is unaffected.
        '  cache-snapshot-write-cold-duration = "1s"',
        '  compact-full-write-cold-duration = "2s"',
        '[retention]',
        '  enabled = false',
        '[shard-precreation]',
        '  enabled = false',
        '[monitor]',
        '  store-enabled = false',
        '[http]',
        `  bind-address = "127.0.0.1:${port}"`,
        '  log-enabled = false',
        '  max-row-limit = 0',
        '[logging]',
        '  level = "error"',
        '[continuous_queries]',
        '  enabled = false',
        '',
      ].join('\n'),
    )
    this.proc = spawnServer(INFLUXD_BIN, ['run', '-config', conf])
    return this.proc
  }

  async write(batch: Batch): Promise<void> {
    await this.send(this.format(batch))
  }

  private send(body: string): Promise<void> {
    return requestOk(`${this.base}/write?db=${DB}&precision=ms`, 'POST', body).then(() => {})
  }

  private format(batch: Batch): string {
    let body = ''
    for (let r = 0; r < batch.series.length; r++) {
      const { metric, device } = seriesName(batch.series[r] as number)
      const prefix = `${metric},device=${device} value=`
      const to = batch.offsets[r + 1] as number
      // String(number) is the shortest decimal that reads back as the same double; no `i`
      // suffix, so counters are floats too (every engine here stores float64).
      for (let i = batch.offsets[r] as number; i < to; i++) {
        body += `${prefix}${batch.values[i]} ${batch.ts[i]}\n`
      }
    }
    return body
  }

  ingest(source: BatchSource): Promise<IngestStats> {
    return pipelinedIngest(
      (b) => this.format(b),
      (body) => this.send(body),
      new BatchStream(source),
    )
  }

  private async engineStats(): Promise<{ active: number; cached: number }> {
    const vars = JSON.parse(await requestOk(`${this.base}/debug/vars`)) as Record<
      string,
      { name?: string; values?: Record<string, number> }
    >
    let active = 0
    let cached = 0
    for (const v of Object.values(vars)) {
      if (v?.name === 'tsm1_engine') {
        for (const [k, n] of Object.entries(v.values ?? {})) if (k.endsWith('CompactionsActive')) active += n
      } else if (v?.name === 'tsm1_cache') cached += v.values?.memBytes ?? 0
    }
    return { active, cached }
  }

  /**
   * Waits until the cache is snapshotted, no compaction runs and the .tsm files have not changed
   * for 5 s in a row (the full compaction starts 2 s after the last write; see the config).
   */
  async flushForSize(): Promise<void> {
    const deadline = performance.now() + 900_000
    let last = -1
    let stable = 0
    await sleep(2500)
    while (performance.now() < deadline) {
      const { active, cached } = await this.engineStats()
      const size = this.tsmSize()
      stable = active === 0 && cached === 0 && size === last ? stable + 1 : 0
      last = size
      if (stable >= 5) return
      await sleep(1000)
    }
    throw new Error('InfluxDB did not settle (snapshot and compactions) within 900 s')
  }

  private tsmSize(): number {
    return filesSize(join(this.dir, 'data'), (rel) => rel.endsWith('.tsm'))
  }

  async sizeOnDisk(): Promise<number> {
    return this.tsmSize()
  }

  private async query(q: string): Promise<InfluxSeries[]> {
    const url = `${this.base}/query?db=${DB}&epoch=ms&q=${encodeURIComponent(q)}`
    const reply = JSON.parse(await requestOk(url)) as InfluxReply
    const out: InfluxSeries[] = []
    for (const r of reply.results) {
      if (r.error) throw new Error(`InfluxQL: ${r.error}`)
      out.push(...(r.series ?? []))
    }
    return out
  }

  async queryRange1mAvg(series: number, fromMs: number, toMs: number): Promise<MinuteAverages> {
    const [one] = await this.queryRange1mAvgMany([series], fromMs, toMs)
    return one ?? { series, t: new Float64Array(0), avg: new Float64Array(0) }
  }

  /** One request: every metric in FROM, devices by regex, GROUP BY time(1m), device. */
  async queryRange1mAvgMany(series: number[], fromMs: number, toMs: number): Promise<MinuteAverages[]> {
    const groups = byMetric(series, seriesName)
    const devices = [...groups.values()].flatMap((g) => g.devices)
    const result = await this.query(
      `SELECT mean(value) FROM ${quoteList([...groups.keys()])} WHERE device =~ ${deviceRegex(devices)} ` +
        `AND time >= ${fromMs}ms AND time < ${toMs}ms GROUP BY time(1m), device fill(none)`,
    )
    const got = new Map(result.map((s) => [`${s.name}/${s.tags?.device}`, s.values]))
    return series.map((id) => {
      const { metric, device } = seriesName(id)
      const values = got.get(`${metric}/${device}`) ?? []
      return {
        series: id,
        t: Float64Array.from(values, (v) => v[0]),
        avg: Float64Array.from(values, (v) => v[1] ?? Number.NaN),
      }
    })
  }

  async latest(series: number[]): Promise<Float64Array> {
    const names = series.map(seriesName)
    const result = await this.query(
      `SELECT last(value) FROM ${quoteList(names.map((n) => n.metric))} ` +
        `WHERE device =~ ${deviceRegex(names.map((n) => n.device))} GROUP BY device`,
    )
    const got = new Map(result.map((s) => [`${s.name}/${s.tags?.device}`, s.values[0]?.[1]]))
    return Float64Array.from(names, (n) => got.get(`${n.metric}/${n.device}`) ?? Number.NaN)
  }

  async readBack(series: number): Promise<{ ts: Float64Array; values: Float64Array }> {
    const { metric, device } = seriesName(series)
    const [s] = await this.query(`SELECT value FROM "${metric}" WHERE device = '${device}'`)
    const values = s?.values ?? []
    return {
      ts: Float64Array.from(values, (v) => v[0]),
      values: Float64Array.from(values, (v) => v[1] ?? Number.NaN),
    }
  }
}
