/**
 * Reading telemetry (scope telemetry:read), on the TypeScript query API (query/):
 *
 *   GET  /api/devices/{id}/telemetry            latest point of each metric of a device (JSON)
 *   GET  /api/devices/{id}/telemetry/{metric}   raw points, or buckets with ?bucket= (NDJSON stream)
 *   GET  /api/telemetry/latest                  latest points of a fleet, a page of devices (JSON)
 *   POST /api/telemetry/query                   buckets of many devices, by device or by tag (NDJSON)
 *
 * The latest values are not under `/telemetry/latest`: `latest` is a valid metric name, and a
 * device sending it would have no raw route. Values are written exactly (query/json.ts), so the
 * JSON answers are serialized here rather than by the response schema (which documents them).
 */
import type { FastifyReply } from 'fastify'
import { jsonNumber } from '../../query/json.js'
import type { LatestValue, TelemetryQueries } from '../../query/telemetry-queries.js'
import type { ApiInstance, ApiServices } from '../context.js'
import { ApiError } from '../errors.js'
import { IdParams } from '../schemas.js'
import { disconnectSignal, sendNdjson } from './ndjson.js'
import {
  DeviceLatestSchema,
  FleetLatestQuery,
  FleetLatestSchema,
  FleetQueryBody,
  LatestQuery,
  MetricParams,
  ndjsonResponse,
  SeriesQuery,
} from './telemetry-schemas.js'

const tags = ['telemetry']

const metricList = (text: string | undefined): string[] | undefined =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== '')

function valuesJson(values: readonly LatestValue[]): string {
  return `[${values
    .map(
      (v) =>
        `{"metric":${JSON.stringify(v.metric)},"ts":${v.ts},"time":"${new Date(v.ts).toISOString()}","value":${jsonNumber(v.value)}}`,
    )
    .join(',')}]`
}

/** JSON text sent as is: the response schema documents it, jsonNumber keeps every value exact. */
const sendJson = (reply: FastifyReply, text: string): FastifyReply =>
  reply.header('content-type', 'application/json; charset=utf-8').send(text)

export function telemetryRoutes(app: ApiInstance, services: ApiServices): void {
  const queries: TelemetryQueries | undefined = services.queries
  if (queries === undefined) return

  app.get(
    '/api/devices/:id/telemetry',
    {
      config: { scope: 'telemetry:read' },
      schema: {
        tags,
        summary: 'The latest point of each metric of a device',
        querystring: LatestQuery,
        params: IdParams,
        response: { 200: DeviceLatestSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const values = await queries.latest(id, { metrics: metricList(request.query.metrics) })
      return sendJson(reply, `{"deviceId":${JSON.stringify(id)},"values":${valuesJson(values)}}`)
    },
  )

  app.get(
    '/api/devices/:id/telemetry/:metric',
    {
      config: { scope: 'telemetry:read' },
      exposeHeadRoute: false,
      schema: {
        tags,
        summary: 'A metric of a device over a time range: raw points, or buckets with ?bucket= (streamed)',
        description:
          'NDJSON (application/x-ndjson), streamed. First line: the query as resolved, `{"from", "to", ' +
          '"limit"}` (raw) or `{"from", "to", "bucket", "fn"}` (buckets). Then data lines ' +
          '`{"device", "metric", "ts": [...], "values": [...]}` in time order, at most 2048 points each ' +
          '(for buckets, `ts` is the bucket start; empty buckets are left out). Last line: `{"done": true, ' +
          '"points", "next"}`; `next` is the `from` of the next page when `limit` cut the range, else ' +
          'null. An error after the first line comes as a last line `{"error": {"code", "message"}}`. ' +
          'from/to default to the last hour. `points=N` instead of `limit`: at most N points of the whole ' +
          'range chosen by LTTB (real points, first and last kept; header `{"from", "to", "points"}`).',
        params: MetricParams,
        querystring: SeriesQuery,
        response: { 200: ndjsonResponse('NDJSON lines: a header, data lines, a done line') },
      },
    },
    async (request, reply) => {
      const { id, metric } = request.params
      const { from, to, limit, bucket, fn, points } = request.query
      const signal = disconnectSignal(reply)
      if (bucket === undefined) {
        if (fn !== undefined)
          throw new ApiError(400, 'STRATA_API_INVALID_REQUEST', 'fn needs bucket', 'querystring.fn')
        const raw = await queries.raw({ deviceId: id, metric, from, to, limit, points }, { signal })
        const header = {
          from: raw.range.from,
          to: raw.range.to,
          [raw.downsampled ? 'points' : 'limit']: raw.limit,
        }
        return sendNdjson(request, reply, signal, header, raw, () => ({ points: raw.points, next: raw.next }))
      }
      if (limit !== undefined || points !== undefined) {
        const field = limit !== undefined ? 'limit' : 'points'
        throw new ApiError(
          400,
          'STRATA_API_INVALID_REQUEST',
          `${field} is for raw reads; a bucketed read is bounded by its number of buckets`,
          `querystring.${field}`,
        )
      }
      const agg = await queries.aggregate({ deviceId: id, metric, from, to, bucket, fn }, { signal })
      const header = { from: agg.range.from, to: agg.range.to, bucket: agg.bucketMs, fn: agg.fn }
      let buckets = 0
      const counted = (async function* () {
        for await (const b of agg) {
          buckets += b.timestamps.length
          yield b
        }
      })()
      return sendNdjson(request, reply, signal, header, counted, () => ({ points: buckets, next: null }))
    },
  )

  app.get(
    '/api/telemetry/latest',
    {
      config: { scope: 'telemetry:read' },
      schema: {
        tags,
        summary: 'The latest points of the devices a fleet selector picks, a page of devices at a time',
        querystring: FleetLatestQuery,
        response: { 200: FleetLatestSchema },
      },
    },
    async (request, reply) => {
      const { selector, metrics, limit, cursor } = request.query
      const page = await queries.fleetLatest({ selector, metrics: metricList(metrics), limit, cursor })
      const items = page.items
        .map((d) => `{"deviceId":${JSON.stringify(d.deviceId)},"values":${valuesJson(d.values)}}`)
        .join(',')
      return sendJson(reply, `{"items":[${items}],"nextCursor":${JSON.stringify(page.nextCursor)}}`)
    },
  )

  app.post(
    '/api/telemetry/query',
    {
      config: { scope: 'telemetry:read' },
      schema: {
        tags,
        summary:
          'Bucketed metrics of the devices a fleet selector picks, per device or combined per tag value (streamed)',
        description:
          'NDJSON (application/x-ndjson), streamed. First line: `{"from", "to", "bucket", "fn", "groupBy", ' +
          '"devices", "groups"?}`. Data lines: `{"device", "metric", "ts", "values"}` (groupBy device) or ' +
          '`{"group": {"<tag>": value or null}, "metric", "ts", "values"}` (groupBy {tag}); devices ' +
          'without the tag form the group null. Combined buckets are exact: sums and counts add, avg is ' +
          'the combined sum over the combined count; first and last are refused for groupBy tag. Last ' +
          'line `{"done": true, "points"}`, or `{"error": {...}}`. At most 1000 devices and 100,000 ' +
          'buckets per series.',
        body: FleetQueryBody,
        response: { 200: ndjsonResponse('NDJSON lines: a header, data lines, a done line') },
      },
    },
    async (request, reply) => {
      const body = request.body
      const signal = disconnectSignal(reply)
      const fleet = await queries.fleet(body, { signal })
      const header = {
        from: fleet.range.from,
        to: fleet.range.to,
        bucket: fleet.bucketMs,
        fn: fleet.fn,
        groupBy: fleet.groupBy,
        devices: fleet.devices,
        ...(fleet.groupBy === 'device' ? {} : { groups: fleet.groups }),
      }
      let buckets = 0
      const counted = (async function* () {
        for await (const b of fleet) {
          buckets += b.timestamps.length
          yield b
        }
      })()
      return sendNdjson(request, reply, signal, header, counted, () => ({ points: buckets }))
    },
  )
}
