// Medians, ratios and the final table.
import type { BrokerName } from './brokers.js'
import type { Metrics } from './scenarios/common.js'

export interface TrialRecord {
  scenario: string
  broker: BrokerName
  repeat: number
  metrics: Metrics
  notes: string[]
  error?: string
}

export interface SummaryRow {
  scenario: string
  metric: string
  broker: BrokerName
  median: number
  runs: number[]
  vsMosquitto: number | null
  vsAedes: number | null
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const mid = s.length >> 1
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

export function summarize(
  records: TrialRecord[],
  scenarios: { name: string; metrics: string[] }[],
  brokers: BrokerName[],
): SummaryRow[] {
  const rows: SummaryRow[] = []
  for (const sc of scenarios) {
    for (const metric of sc.metrics) {
      const med = new Map<BrokerName, { median: number; runs: number[] }>()
      for (const b of brokers) {
        const runs = records
          .filter((r) => r.scenario === sc.name && r.broker === b && !r.error)
          .map((r) => r.metrics[metric] ?? Number.NaN)
        if (runs.length) med.set(b, { median: median(runs), runs })
      }
      const ratio = (v: number, ref: BrokerName) => {
        const r = med.get(ref)?.median
        return r === undefined || !Number.isFinite(r) || r === 0 || !Number.isFinite(v) ? null : v / r
      }
      for (const [broker, m] of med) {
        rows.push({
          scenario: sc.name,
          metric,
          broker,
          median: m.median,
          runs: m.runs,
          vsMosquitto: ratio(m.median, 'mosquitto'),
          vsAedes: ratio(m.median, 'aedes'),
        })
      }
    }
  }
  return rows
}

export function fmt(v: number, metric = ''): string {
  if (!Number.isFinite(v)) return '-'
  if (metric === 'delivered') return v.toFixed(3)
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US')
  if (Math.abs(v) >= 100) return v.toFixed(0)
  return v.toFixed(Math.abs(v) >= 10 ? 1 : 2)
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) =>
    r
      .map((c, i) => (i < 3 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}

/** Long form: one row per scenario, metric and broker; ratios are this broker's median / the peer's. */
export function renderTable(rows: SummaryRow[]): string {
  const ratio = (r: number | null) => (r === null ? '' : `${r.toFixed(2)}x`)
  let previous = ''
  const body = rows.map((r) => {
    const first = `${r.scenario} ${r.metric}` === previous ? ['', ''] : [r.scenario, r.metric]
    previous = `${r.scenario} ${r.metric}`
    return [
      ...first,
      r.broker,
      fmt(r.median, r.metric),
      r.runs.map((x) => fmt(x, r.metric)).join(' / '),
      ratio(r.vsMosquitto),
      ratio(r.vsAedes),
    ]
  })
  return table(['scenario', 'metric', 'broker', 'median', 'runs', 'vs mosquitto', 'vs aedes'], body)
}
