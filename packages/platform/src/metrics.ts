/**
 * The platform's Prometheus metrics, served as text by GET /metrics. Its own registry, not
 * prom-client's global one, so that two platforms in one process (tests) do not collide.
 *
 * Broker figures are read lazily: each scrape takes one `stats()` snapshot through the
 * metrics' `collect()` callbacks, so nothing is copied on the message path.
 * Label values are always from small fixed sets (route patterns, never raw URLs; reason
 * codes, never client ids), so the number of series stays bounded whatever clients send.
 */
import type { BrokerStats } from '@strata/broker'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

export interface PlatformMetricsOptions {
  /**
   * The broker's counters. Called at most once per scrape; it may close over a broker created
   * after the metrics (the broker's auth hooks need the metrics first). Absent or returning
   * undefined: the broker metrics are left out.
   */
  brokerStats?: () => BrokerStats | undefined
  /** Process and Node.js runtime metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean
}

export type AuthTransport = 'mqtt' | 'mqtts' | 'ws' | 'wss' | 'http'
export type AclAction = 'publish' | 'subscribe'
export type AclPrincipal = 'device' | 'claim' | 'user'

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

type BrokerKey = keyof BrokerStats

/** What the telemetry pipeline reports at each scrape (ingest/pipeline.ts PipelineState, in part). */
export interface TelemetryGaugeSource {
  lagging: boolean
  queuedPoints: number
  queuedByType: Record<string, number>
  heldMessages: number
  oldestWriteMs: number
}

/** Broker counters (cumulative since start) and gauges (current values), by BrokerStats field. */
const BROKER_COUNTERS: ReadonlyArray<[name: string, help: string, key: BrokerKey]> = [
  ['strata_broker_connections_total', 'MQTT connections accepted since start', 'clientsTotal'],
  ['strata_broker_messages_received_total', 'PUBLISH packets received from clients', 'messagesReceived'],
  ['strata_broker_messages_sent_total', 'PUBLISH packets sent to clients', 'messagesSent'],
  ['strata_broker_bytes_received_total', 'Bytes received from MQTT clients', 'bytesReceived'],
  ['strata_broker_bytes_sent_total', 'Bytes sent to MQTT clients', 'bytesSent'],
  [
    'strata_broker_publish_dropped_total',
    'Messages dropped (queue full, QoS 0 to a slow client, expired)',
    'publishDropped',
  ],
]
const BROKER_GAUGES: ReadonlyArray<[name: string, help: string, key: BrokerKey]> = [
  ['strata_broker_clients_connected', 'MQTT clients connected now', 'clientsConnected'],
  ['strata_broker_retained_messages', 'Retained messages stored', 'retainedCount'],
  ['strata_broker_subscriptions', 'Subscriptions held', 'subscriptionsCount'],
  ['strata_broker_uptime_seconds', 'Seconds since the broker started', 'uptimeSeconds'],
]

export class PlatformMetrics {
  readonly registry = new Registry()
  /** Failed authentications; `reason` is a short fixed word such as `bad_password`, `revoked`, `unknown`. */
  readonly authFailures: Counter<'transport' | 'reason'>
  /** Publishes and subscriptions refused by the ACL. */
  readonly aclDenials: Counter<'action' | 'principal'>
  /** Devices created by fleet provisioning (claim tokens). */
  readonly provisioned: Counter
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>
  /** The delivery ledger (src/ingest/ledger.ts): telemetry messages and points per device type and stage. */
  readonly telemetryMessages: Counter<'device_type' | 'stage'>
  readonly telemetryPoints: Counter<'device_type' | 'stage'>
  /** Points that do not fit their device type's profile (stored anyway), by reason. */
  readonly telemetryFlagged: Counter<'device_type' | 'reason'>
  /** Flag events to devices, published or suppressed by the rate limit. */
  readonly telemetryFlagEvents: Counter<'outcome'>
  #telemetry: (() => TelemetryGaugeSource) | undefined
  readonly #brokerStats: (() => BrokerStats | undefined) | undefined
  /** One snapshot per scrape, shared by every broker metric's collect(). */
  #snapshot: BrokerStats | undefined | null = null

  constructor(options: PlatformMetricsOptions = {}) {
    this.#brokerStats = options.brokerStats
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry })
    const registers = [this.registry]
    this.authFailures = new Counter({
      name: 'strata_auth_failures_total',
      help: 'Failed client authentications, by transport and reason',
      labelNames: ['transport', 'reason'] as const,
      registers,
    })
    this.aclDenials = new Counter({
      name: 'strata_acl_denials_total',
      help: 'Publishes and subscriptions refused by the ACL, by action and kind of principal',
      labelNames: ['action', 'principal'] as const,
      registers,
    })
    this.provisioned = new Counter({
      name: 'strata_devices_provisioned_total',
      help: 'Devices created by fleet provisioning',
      registers,
    })
    this.httpDuration = new Histogram({
      name: 'strata_http_request_duration_seconds',
      help: 'HTTP API request duration, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    })
    this.telemetryMessages = new Counter({
      name: 'strata_telemetry_messages_total',
      help: 'Telemetry messages by device type and delivery stage (received, decoded, rejected, queued, sampled, shed, stored, acknowledged)',
      labelNames: ['device_type', 'stage'] as const,
      registers,
    })
    this.telemetryPoints = new Counter({
      name: 'strata_telemetry_points_total',
      help: 'Telemetry points by device type and delivery stage',
      labelNames: ['device_type', 'stage'] as const,
      registers,
    })
    this.telemetryFlagged = new Counter({
      name: 'strata_telemetry_flagged_total',
      help: "Telemetry points that do not fit their device type's profile (stored anyway), by reason: unknown_metric, wrong_type, out_of_range",
      labelNames: ['device_type', 'reason'] as const,
      registers,
    })
    this.telemetryFlagEvents = new Counter({
      name: 'strata_telemetry_flag_events_total',
      help: 'Flag events sent to devices on devices/{id}/errors, or suppressed by the rate limit',
      labelNames: ['outcome'] as const,
      registers,
    })
    this.#registerTelemetry()
    if (this.#brokerStats) this.#registerBroker()
  }

  /** The pipeline's queue and lag state, read at each scrape (set once the pipeline exists). */
  observeTelemetry(source: () => TelemetryGaugeSource): void {
    this.#telemetry = source
  }

  #registerTelemetry(): void {
    const state = (): TelemetryGaugeSource | undefined => this.#telemetry?.()
    const registers = [this.registry]
    new Gauge({
      name: 'strata_telemetry_queued_points',
      help: 'Telemetry points handed to storage and not durable yet, by device type',
      labelNames: ['device_type'] as const,
      registers,
      collect() {
        this.reset()
        const s = state()
        if (s) for (const [type, n] of Object.entries(s.queuedByType)) this.set({ device_type: type }, n)
      },
    })
    const scalar = (name: string, help: string, read: (s: TelemetryGaugeSource) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = state()
          this.set(s ? read(s) : 0)
        },
      })
    }
    scalar(
      'strata_telemetry_lagging',
      '1 while telemetry storage lags (queue over the high-water mark, or a slow write) and back-pressure applies',
      (s) => (s.lagging ? 1 : 0),
    )
    scalar(
      'strata_telemetry_held_acks',
      'Telemetry messages whose acknowledgement waits for storage to catch up (buffer strategy)',
      (s) => s.heldMessages,
    )
    scalar(
      'strata_telemetry_oldest_write_seconds',
      'Age of the oldest telemetry write not durable yet',
      (s) => s.oldestWriteMs / 1000,
    )
  }

  #stats(): BrokerStats | undefined {
    if (this.#snapshot === null) this.#snapshot = this.#brokerStats?.()
    return this.#snapshot
  }

  #registerBroker(): void {
    const stats = (): BrokerStats | undefined => this.#stats()
    for (const [name, help, key] of BROKER_COUNTERS) {
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = stats()
          this.reset()
          if (s) this.inc(s[key])
        },
      })
    }
    for (const [name, help, key] of BROKER_GAUGES) {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = stats()
          this.set(s ? s[key] : 0)
        },
      })
    }
  }

  /** Records one HTTP request; `route` must be the route pattern (`/api/devices/:id`), not the URL. */
  observeHttp(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe(
      {
        method: HTTP_METHODS.has(method) ? method : 'OTHER',
        route,
        status_code: String(statusCode),
      },
      seconds,
    )
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    this.#snapshot = null
    try {
      return await this.registry.metrics()
    } finally {
      this.#snapshot = null
    }
  }
}
