/**
 * Telemetry formats micro benchmark (issue 4): decode points/s of each format, and bytes
 * per point, on one batch of 100 readings x 10 metrics (numbers with 0-3 decimals, an
 * integer counter, a boolean), as a device would send it in each format.
 * Run: npx tsx packages/protocol/bench/telemetry.bench.ts   (env ROUNDS=n, MS=ms per measurement)
 */
import { encode } from 'cbor-x'
import { decodeTelemetry, encodeBatch, type TelemetryFormat, type TelemetryPoint } from '../src/index.js'
import { NOW, typicalBatch } from '../test/telemetry/helpers.js'

const ROUNDS = Number(process.env.ROUNDS ?? 5)
const MS = Number(process.env.MS ?? 200)

const points = typicalBatch()

/** JSON: one object per time, `ts` in ms. */
function asJson(ps: TelemetryPoint[]): Uint8Array {
  const rows = new Map<number, Record<string, unknown>>()
  for (const p of ps) {
    const row = rows.get(p.ts) ?? { ts: p.ts }
    row[p.metric] = p.value
    rows.set(p.ts, row)
  }
  return new TextEncoder().encode(JSON.stringify([...rows.values()]))
}

/** SenML as a device writes it: bn and bt once, then n, t (seconds from bt) and a value per record. */
function senmlRecords(ps: TelemetryPoint[]): Record<string, unknown>[] {
  const bt = (ps[0] as TelemetryPoint).ts / 1000
  return ps.map((p, i) => {
    const rec: Record<string, unknown> = i === 0 ? { bn: 'dev42:', bt } : {}
    rec.n = p.metric
    const t = p.ts / 1000 - bt
    if (t !== 0) rec.t = t
    rec[typeof p.value === 'boolean' ? 'vb' : typeof p.value === 'string' ? 'vs' : 'v'] = p.value
    return rec
  })
}
const LABEL: Record<string, number> = { bn: -2, bt: -3, n: 0, v: 2, vs: 3, vb: 4, t: 6 }

const payloads: Record<TelemetryFormat, Uint8Array> = {
  json: asJson(points),
  'senml+json': new TextEncoder().encode(JSON.stringify(senmlRecords(points))),
  'senml+cbor': encode(
    senmlRecords(points).map((r) => new Map(Object.entries(r).map(([k, v]) => [LABEL[k] as number, v]))),
  ),
  batch: encodeBatch(points),
}

let sink = 0

/** Runs fn (which handles `per` points) repeatedly for ~MS ms; returns points/s. */
function measure(fn: () => number, per: number): number {
  for (let i = 0; i < 20; i++) sink += fn()
  let n = 0
  const start = process.hrtime.bigint()
  const budget = BigInt(MS) * 1_000_000n
  let elapsed = 0n
  do {
    sink += fn()
    n += per
    elapsed = process.hrtime.bigint() - start
  } while (elapsed < budget)
  return n / (Number(elapsed) / 1e9)
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

function run(): void {
  console.log(
    `node ${process.version}, ${points.length} points (100 x 10 metrics), ${ROUNDS} rounds x ${MS} ms`,
  )
  const formats = Object.keys(payloads) as TelemetryFormat[]
  const rates = new Map<string, number[]>()
  for (let r = 0; r < ROUNDS; r++) {
    for (const f of formats) {
      const bytes = payloads[f]
      const rate = measure(() => decodeTelemetry(f, bytes, NOW).length, points.length)
      rates.set(f, [...(rates.get(f) ?? []), rate])
    }
    const rate = measure(() => encodeBatch(points).length, points.length)
    rates.set('batch (encode)', [...(rates.get('batch (encode)') ?? []), rate])
  }
  const rows = [['format', 'bytes', 'bytes/point', 'decode points/s (median)']]
  for (const f of formats) {
    const size = payloads[f].length
    rows.push([
      f,
      String(size),
      (size / points.length).toFixed(2),
      `${(median(rates.get(f) ?? []) / 1e6).toFixed(2)} M`,
    ])
  }
  rows.push(['batch (encode)', '', '', `${(median(rates.get('batch (encode)') ?? []) / 1e6).toFixed(2)} M`])
  const widths = (rows[0] as string[]).map((_, i) =>
    Math.max(...rows.map((row) => (row[i] as string).length)),
  )
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i] as number)).join('  '))
  if (sink === 0) console.log('')
}

run()
