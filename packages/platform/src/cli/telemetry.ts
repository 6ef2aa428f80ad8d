/**
 * `strata telemetry latest|read`: a device's stored telemetry from the command line, through the
 * query API (docs/api.md, "Telemetry"), so that a newcomer can see live data without writing a
 * request by hand: start the platform, start `strata simulate`, then `strata telemetry latest`.
 */
import type { Command } from 'commander'
import { seg } from './api-client.js'
import { handled } from './exit.js'
import { positiveInt } from './input.js'
import { note, printJson, printTable } from './output.js'
import { clientOf, examples, type RemoteFlags, remote } from './remote.js'

interface LatestValue {
  metric: string
  ts: number
  time: string
  value: number | string
}

interface ReadFlags extends RemoteFlags {
  from?: string
  to?: string
  bucket?: string
  fn?: string
  points?: number
  limit?: number
}

/** A data line of the NDJSON stream: one batch of one series. */
interface SeriesLine {
  metric: string
  ts: number[]
  values: (number | string)[]
}

const isSeriesLine = (line: unknown): line is SeriesLine =>
  typeof line === 'object' && line !== null && Array.isArray((line as SeriesLine).ts)

export function telemetryCommand(program: Command): void {
  const telemetry = program
    .command('telemetry')
    .description("a device's stored telemetry: latest values, raw points, time buckets")

  examples(
    remote(
      telemetry
        .command('latest <device>')
        .description('the latest value of each metric of a device')
        .option('--metrics <list>', 'only these metrics, comma-separated'),
    ),
    [
      'strata telemetry latest sim-building-0001',
      'strata telemetry latest th-1 --metrics temp,humidity --json',
    ],
  ).action(
    handled(async (device: string, flags: RemoteFlags & { metrics?: string }) => {
      const answer = await clientOf(flags).get<{ values: LatestValue[] }>(
        `/api/devices/${seg(device)}/telemetry`,
        { query: { metrics: flags.metrics } },
      )
      if (flags.json) return printJson(answer)
      printTable(
        answer.values,
        [
          ['METRIC', (v) => v.metric],
          ['TIME', (v) => v.time],
          ['VALUE', (v) => String(v.value)],
        ],
        `no telemetry stored for ${device}`,
      )
    }),
  )

  examples(
    remote(
      telemetry
        .command('read <device> <metric>')
        .description('points of one metric over a time range (default: the last hour)')
        .option('--from <time>', 'start: ms, ISO 8601 or now-15m')
        .option('--to <time>', 'end (exclusive): ms, ISO 8601 or now')
        .option('--bucket <size>', 'aggregate into time buckets: 1m, 5m, 1h, or ms')
        .option('--fn <fn>', 'with --bucket: avg, min, max, sum, count, first or last (default avg)')
        .option('--points <n>', 'a chart-faithful downsample (LTTB) of at most n points', positiveInt(3))
        .option('--limit <n>', 'at most n raw points', positiveInt()),
    ),
    [
      'strata telemetry read sim-building-0001 temperature --from now-15m',
      'strata telemetry read th-1 temp --from 2026-11-24T00:00:00Z --bucket 1h --fn max',
      'strata telemetry read th-1 temp --from now-7d --points 500 --json',
    ],
  ).action(
    handled(async (device: string, metric: string, flags: ReadFlags) => {
      const lines = await clientOf(flags).lines(
        'GET',
        `/api/devices/${seg(device)}/telemetry/${seg(metric)}`,
        undefined,
        {
          query: {
            from: flags.from,
            to: flags.to,
            bucket: flags.bucket,
            fn: flags.bucket === undefined ? flags.fn : (flags.fn ?? 'avg'),
            points: flags.points,
            limit: flags.limit,
          },
        },
      )
      if (flags.json) return printJson(lines)
      const rows: { ts: number; value: number | string }[] = []
      for (const line of lines) {
        if (!isSeriesLine(line)) continue
        line.ts.forEach((ts, i) => {
          rows.push({ ts, value: line.values[i] as number | string })
        })
      }
      printTable(
        rows,
        [
          ['TIME', (r) => new Date(r.ts).toISOString()],
          ['VALUE', (r) => String(r.value)],
        ],
        `no points of ${device}/${metric} in that range`,
      )
      const done = lines.at(-1) as { next?: unknown; error?: { message?: string } } | undefined
      if (done?.error) note(`the answer stopped early: ${done.error.message ?? 'error'}`)
      else if (done?.next) note(`more points: add --from ${String(done.next)}`)
    }),
  )
}
