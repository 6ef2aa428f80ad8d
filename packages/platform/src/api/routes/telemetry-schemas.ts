/** TypeBox schemas of the telemetry routes (ingest.ts, telemetry.ts). */
import { METRIC_PATTERN } from '@strata/protocol'
import { AGGREGATE_FUNCTIONS } from '@strata/tsdb'
import { Type } from 'typebox'
import { Id } from '../schemas.js'

const strict = { additionalProperties: false } as const

export const Metric = Type.String({
  pattern: METRIC_PATTERN.source,
  maxLength: 128,
  description: "a metric name: a letter or '_', then up to 127 of a-z A-Z 0-9 _ .",
})

export const MetricParams = Type.Object({ id: Id, metric: Metric }, strict)

const Instant = Type.String({
  maxLength: 64,
  description: 'ms since the epoch, ISO 8601 with a zone (2024-05-01T12:00:00Z), or now-<duration> (now-15m)',
})
const Bucket = Type.String({
  maxLength: 32,
  description: 'bucket width: ms, or a number with ms, s, m, h, d or w (1m, 5m, 1h)',
})
const Fn = Type.Enum([...AGGREGATE_FUNCTIONS], { description: 'aggregate of each bucket; default avg' })
const MetricList = Type.String({
  maxLength: 4200,
  description: 'comma-separated metric names; default every metric',
})

export const SeriesQuery = Type.Object(
  {
    from: Type.Optional(Instant),
    to: Type.Optional(Instant),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, description: 'raw reads: most points (default 10,000, at most 1,000,000)' }),
    ),
    bucket: Type.Optional(Bucket),
    fn: Type.Optional(Fn),
    points: Type.Optional(
      Type.Integer({
        minimum: 2,
        description: 'at most this many points of the whole range, chosen by LTTB',
      }),
    ),
  },
  strict,
)

export const LatestQuery = Type.Object({ metrics: Type.Optional(MetricList) }, strict)

export const FleetLatestQuery = Type.Object(
  {
    selector: Type.Optional(
      Type.String({ maxLength: 4096, description: 'fleet selector; default every device' }),
    ),
    metrics: Type.Optional(MetricList),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'devices per page, default 100' }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 1024, description: '`nextCursor` of the previous page' })),
  },
  strict,
)

const JsonValue = Type.Union([Type.Number(), Type.Enum(['NaN', 'Infinity', '-Infinity'])], {
  description: 'the value, exact (-0 is written -0); NaN and the infinities as strings',
})

export const LatestValueSchema = Type.Object({
  metric: Type.String(),
  ts: Type.Integer({ description: 'ms since the epoch' }),
  time: Type.String({ description: 'ts as ISO 8601' }),
  value: JsonValue,
})

export const DeviceLatestSchema = Type.Object({
  deviceId: Type.String(),
  values: Type.Array(LatestValueSchema),
})

export const FleetLatestSchema = Type.Object({
  items: Type.Array(DeviceLatestSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
})

export const FleetQueryBody = Type.Object(
  {
    selector: Type.Optional(
      Type.String({ maxLength: 4096, description: 'fleet selector; default every device' }),
    ),
    metrics: Type.Array(Metric, { minItems: 1, maxItems: 1000 }),
    from: Type.Optional(Type.Union([Instant, Type.Integer()])),
    to: Type.Optional(Type.Union([Instant, Type.Integer()])),
    bucket: Type.Union([Bucket, Type.Integer({ minimum: 1 })]),
    fn: Type.Optional(Fn),
    groupBy: Type.Optional(
      Type.Union([
        Type.Literal('device'),
        Type.Object({ tag: Type.String({ maxLength: 64, description: 'a tag key' }) }, strict),
      ]),
    ),
  },
  strict,
)

export const IngestResultSchema = Type.Object({
  points: Type.Integer({ description: 'numeric points stored (durable when this answer is sent)' }),
})

/** The 200 of a streamed route: documented, never used to serialize (the payload is a stream). */
export const ndjsonResponse = (description: string) => ({
  description,
  content: { 'application/x-ndjson': { schema: Type.String({ description }) } },
})
