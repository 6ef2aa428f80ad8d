// The figures of one run and their Markdown tables (they go to docs/benchmarks.md as printed):
// one row per engine, per-kind sizes and bit-exact counts, then every figure as a ratio to each
// peer measured in the same run.
import { markdownTable, ratio } from '../auth/table.js'
import { fmt, median } from '../broker/report.js'
import { KINDS, type Kind } from './data.js'
import { type EngineName, STRATA_ENGINES } from './engine.js'

export interface EngineResult {
  name: EngineName
  version: string
  /** Set when the engine could not run at all (or failed on the way). */
  error?: string
  notes: string[]
  points: number
  sizeBytes: number
  ingestPps: number
  /** CPU used during the timed ingest, % of one core: the engine's process and the harness. */
  ingestCpu: { engine: number; harness: number }
  flushS: number
  /** Per measurement, every measured run (ms); NaN runs mean "not supported". */
  runs: { q1: number[]; qMany: number[]; latest: number[] }
  recoveryMs: number
  /** Acknowledged scratch points before the kill, and how many the restarted engine returned. */
  recoveryAcked?: { points: number; found: number }
  /** Bytes per point of the per-kind instances. */
  perKind: Partial<Record<Kind, number>>
  /** Values read back identical (timestamp and float64 bits), per kind, of `total`. */
  bitExact: Partial<Record<Kind, { identical: number; total: number }>>
}

export function emptyResult(name: EngineName, version: string): EngineResult {
  return {
    name,
    version,
    notes: [],
    points: 0,
    sizeBytes: Number.NaN,
    ingestPps: Number.NaN,
    ingestCpu: { engine: Number.NaN, harness: Number.NaN },
    flushS: Number.NaN,
    runs: { q1: [], qMany: [], latest: [] },
    recoveryMs: Number.NaN,
    perKind: {},
    bitExact: {},
  }
}

export interface Shape {
  manySeries: number
  latestSeries: number
}

/** Every figure of an engine by metric label (lower is better for all but ingest and bit-exact). */
export function figures(r: EngineResult, shape: Shape): [string, number][] {
  const exact = Object.values(r.bitExact)
  const identical = exact.reduce((a, b) => a + b.identical, 0)
  const total = exact.reduce((a, b) => a + b.total, 0)
  return [
    ['bytes/point', r.sizeBytes / r.points],
    ...KINDS.map((k): [string, number] => [`bytes/point ${k}`, r.perKind[k] ?? Number.NaN]),
    ['ingest points/s', r.ingestPps],
    ['1m avg, 1 series (ms)', median(r.runs.q1)],
    [`1m avg, ${shape.manySeries} series (ms)`, median(r.runs.qMany)],
    [`latest of ${shape.latestSeries} (ms)`, median(r.runs.latest)],
    ['recovery (ms)', r.recoveryMs],
    ['bit-exact %', total ? (100 * identical) / total : Number.NaN],
  ]
}

const count = (n: number) => n.toLocaleString('en-US')
const f = (v: number, digits = 2) =>
  !Number.isFinite(v) ? '-' : Math.abs(v) < 10 ? v.toFixed(digits) : fmt(v)

export function summaryTable(results: EngineResult[], shape: Shape): string {
  const ok = results.filter((r) => !r.error)
  const header = [
    'engine',
    'bytes/point',
    'ingest points/s',
    'CPU % engine/harness',
    'flush s',
    '1m avg 1 series ms',
    `1m avg ${shape.manySeries} series ms`,
    `latest of ${shape.latestSeries} ms`,
    'recovery ms',
    'acked kept',
    'bit-exact %',
  ]
  const body = ok.map((r) => {
    const fig = new Map(figures(r, shape))
    return [
      r.name,
      f(fig.get('bytes/point') as number),
      f(r.ingestPps) + (r.name === 'strata-codec' && Number.isFinite(r.ingestPps) ? ' (encode only)' : ''),
      `${f(r.ingestCpu.engine, 0)}/${f(r.ingestCpu.harness, 0)}`,
      f(r.flushS, 1),
      f(fig.get('1m avg, 1 series (ms)') as number),
      f(fig.get(`1m avg, ${shape.manySeries} series (ms)`) as number),
      f(fig.get(`latest of ${shape.latestSeries} (ms)`) as number),
      f(r.recoveryMs, 0),
      r.recoveryAcked ? `${count(r.recoveryAcked.found)}/${count(r.recoveryAcked.points)}` : '-',
      f(fig.get('bit-exact %') as number, 1),
    ]
  })
  return markdownTable(header, body)
}

export function perKindTable(results: EngineResult[]): string {
  const ok = results.filter((r) => !r.error)
  return markdownTable(
    ['bytes/point', ...ok.map((r) => r.name)],
    [
      ['all kinds', ...ok.map((r) => f(r.sizeBytes / r.points))],
      ...KINDS.map((k) => [k, ...ok.map((r) => f(r.perKind[k] ?? Number.NaN))]),
    ],
  )
}

export function bitExactTable(results: EngineResult[]): string {
  const ok = results.filter((r) => !r.error && Object.keys(r.bitExact).length > 0)
  const cell = (x?: { identical: number; total: number }) =>
    x
      ? `${fmt(x.identical)}/${fmt(x.total)} (${((100 * x.identical) / Math.max(1, x.total)).toFixed(1)}%)`
      : '-'
  return markdownTable(
    ['values read back identical', ...ok.map((r) => r.name)],
    KINDS.map((k) => [k, ...ok.map((r) => cell(r.bitExact[k]))]),
  )
}

/** Every figure of every engine divided by the same figure of each peer (non-Strata engine). */
export function ratioTable(results: EngineResult[], shape: Shape): string {
  const ok = results.filter((r) => !r.error)
  const peers = ok.filter((r) => !STRATA_ENGINES.includes(r.name))
  const figs = new Map(ok.map((r) => [r.name, figures(r, shape)]))
  const body: string[][] = []
  const labels = figures(ok[0] ?? results[0] ?? emptyResult('sqlite', ''), shape).map(([l]) => l)
  labels.forEach((label, i) => {
    let first = true
    for (const r of ok) {
      const v = (figs.get(r.name)?.[i]?.[1] ?? Number.NaN) as number
      if (!Number.isFinite(v)) continue
      body.push([
        first ? label : '',
        r.name,
        f(v),
        ...peers.map((p) => (p.name === r.name ? '' : ratio(v, figs.get(p.name)?.[i]?.[1] ?? Number.NaN))),
      ])
      first = false
    }
  })
  return markdownTable(['figure', 'engine', 'value', ...peers.map((p) => `vs ${p.name}`)], body)
}
