/**
 * A device's string events (`GET /api/devices/{id}/events`, the event log of ingest/event-log.ts)
 * and the answer to "where did my data go?" (`GET /api/telemetry/ledger`: the delivery ledger
 * per device type, the back-pressure queues, and the points flagged against the type profiles).
 * Served when the platform gives the API its telemetry pipeline.
 */
import { Type } from 'typebox'
import { LEDGER_STAGES } from '../../ingest/ledger.js'
import { FLAG_REASONS } from '../../ingest/profiles.js'
import { parseTime } from '../../query/params.js'
import { INGEST_STRATEGIES } from '../../registry/model.js'
import type { ApiInstance, ApiServices } from '../context.js'
import { IdParams, pageOf } from '../schemas.js'
import { Metric } from './telemetry-schemas.js'

const strict = { additionalProperties: false } as const

const Instant = Type.String({
  maxLength: 64,
  description: 'ms since the epoch, ISO 8601 with a zone (2024-05-01T12:00:00Z), or now-<duration> (now-15m)',
})

const EventsQuery = Type.Object(
  {
    metric: Type.Optional(Metric),
    from: Type.Optional(Instant),
    to: Type.Optional(Instant),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'page size, default 100' })),
    cursor: Type.Optional(Type.String({ maxLength: 1024, description: '`nextCursor` of the previous page' })),
  },
  strict,
)

const EventSchema = Type.Object({
  metric: Type.String(),
  ts: Type.Integer({ description: 'ms since the epoch' }),
  value: Type.String(),
})

const byStage = Type.Object(Object.fromEntries(LEDGER_STAGES.map((s) => [s, Type.Integer()])))
const LedgerCounts = Type.Object({ messages: byStage, points: byStage })

const FlagsSchema = Type.Object({
  points: Type.Object(Object.fromEntries(FLAG_REASONS.map((r) => [r, Type.Integer()])), {
    description: 'points flagged, by reason',
  }),
  recent: Type.Array(
    Type.Object({
      metric: Type.String(),
      reason: Type.Enum([...FLAG_REASONS]),
      points: Type.Integer(),
      lastDeviceId: Type.String(),
      lastAt: Type.String({ format: 'date-time' }),
    }),
    { description: 'the most recently flagged (metric, reason) pairs, newest first (at most 20)' },
  ),
})

const TypeReport = Type.Object({
  ledger: LedgerCounts,
  queuedPoints: Type.Integer({ description: 'points handed to storage, not durable yet' }),
  strategy: Type.Enum([...INGEST_STRATEGIES]),
  flagged: Type.Optional(FlagsSchema),
})

export const LedgerReportSchema = Type.Object({
  lagging: Type.Boolean({ description: 'storage lags: back-pressure applies' }),
  queuedPoints: Type.Integer(),
  heldMessages: Type.Integer({ description: 'acknowledgements waiting for storage to catch up' }),
  oldestWriteMs: Type.Integer(),
  highWaterPoints: Type.Integer(),
  lagLatencyMs: Type.Integer(),
  total: LedgerCounts,
  byType: Type.Record(Type.String(), TypeReport, {
    description: 'by device type id; `(none)` for devices without a type',
  }),
})

export function eventRoutes(app: ApiInstance, services: ApiServices): void {
  const { telemetry, registry } = services
  if (telemetry === undefined) return
  const tags = ['telemetry']

  app.get(
    '/api/devices/:id/events',
    {
      config: { scope: 'devices:read' },
      schema: {
        tags,
        summary: "A device's string telemetry (the event log), oldest first, a page at a time",
        params: IdParams,
        querystring: EventsQuery,
        response: { 200: pageOf(EventSchema) },
      },
    },
    async (request) => {
      const { id } = request.params
      const q = request.query
      await registry.getDevice(id) // 404 for an unknown device, rather than an empty page
      const now = Date.now()
      const from = q.from === undefined ? undefined : parseTime(q.from, now, 'from')
      const to = q.to === undefined ? undefined : parseTime(q.to, now, 'to')
      return telemetry.events.query({
        deviceId: id,
        limit: q.limit ?? 100,
        ...(q.metric === undefined ? {} : { metric: q.metric }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      })
    },
  )

  app.get(
    '/api/telemetry/ledger',
    {
      config: { scope: 'devices:read' },
      schema: {
        tags,
        summary:
          'Where telemetry went: the delivery ledger per device type, back-pressure queues, flagged points',
        response: { 200: LedgerReportSchema },
      },
    },
    async () => telemetry.report(),
  )
}
