// Markdown tables (they go to docs/benchmarks.md as printed) and the shared trial plumbing.
import { readdirSync, readFileSync } from 'node:fs'
import { cpuSeconds } from '../broker/proc.js'
import { fmt, median } from '../broker/report.js'

/** A Markdown table: the first column left-aligned, the others right-aligned. */
export function markdownTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...body.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`
  return [line(header), rule, ...body.map(line)].join('\n')
}

/** Median of the finite values, formatted; '-' when there are none. */
export const med = (xs: number[]): string => fmt(median(xs))

/** a / b as `1.23x`, or '-' when either is missing. */
export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-'
  const r = a / b
  return `${r < 0.1 ? r.toPrecision(2) : r.toFixed(2)}x`
}

/**
 * CPU seconds of a process, all its threads, in nanoseconds' resolution from
 * /proc/PID/task/TID/schedstat (bench/broker's cpuSeconds counts 10 ms ticks, too coarse for a
 * round of a few hundred connects). Falls back to the ticks when schedstat is missing.
 */
export function preciseCpuSeconds(pid: number): number {
  try {
    let ns = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    }
    return ns / 1e9
  } catch {
    return cpuSeconds(pid)
  }
}
