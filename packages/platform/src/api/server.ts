/**
 * The platform's HTTP API on Fastify: TypeBox schemas (validation, types and the OpenAPI
 * document from one source), bearer authentication with one scope per route, rate limits,
 * ETags, audit, metrics, and one error shape for everything. Routes live in routes/*.ts;
 * this file wires the hooks in their order:
 *
 *   onRequest:  authenticate (resolve the bearer) → rate limit → enforce the route's scope
 *   onResponse: request duration into strata_http_request_duration_seconds
 */
import type { Duplex } from 'node:stream'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import type { Logger } from '@strata/broker'
import type { TimeSeriesEngine } from '@strata/tsdb'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RouteOptions,
} from 'fastify'
import type { AccessService } from '../access/service.js'
import type { AuditLog } from '../audit/model.js'
import type { DeviceTokenAuth } from '../auth/device-token.js'
import type { IdentityService } from '../identity/service.js'
import type { TelemetryPipeline } from '../ingest/pipeline.js'
import type { PlatformMetrics } from '../metrics.js'
import { TelemetryQueries, type TelemetryQueryLimits } from '../query/telemetry-queries.js'
import type { RegistryRepository } from '../registry/repository.js'
import { type Listener, listen, urlHost } from '../transports/listener.js'
import { VERSION } from '../version.js'
import { authenticateHook, DOCS_PREFIX, declareScope, enforceScope } from './auth.js'
import type { ApiInstance, ApiServices } from './context.js'
import { ApiError, mapError } from './errors.js'
import { accessRoutes } from './routes/access.js'
import { auditRoutes } from './routes/audit.js'
import { deviceRoutes } from './routes/devices.js'
import { eventRoutes } from './routes/events.js'
import { fleetRoutes } from './routes/fleet.js'
import { type HealthSource, healthRoutes } from './routes/health.js'
import { identityRoutes } from './routes/identity.js'
import { ingestRoutes } from './routes/ingest.js'
import { metaRoutes } from './routes/meta.js'
import { telemetryRoutes } from './routes/telemetry.js'
import { ErrorBodySchema } from './schemas.js'

export type { HealthSource }

export interface RateLimits {
  /** Requests per minute per API key or session. Default 6000. */
  perKeyPerMinute: number
  /** Requests per minute per source address, for requests without a valid token. Default 600. */
  perAddressPerMinute: number
}

export interface ApiServerOptions {
  registry: RegistryRepository
  identity: IdentityService
  access: AccessService
  audit: AuditLog
  metrics: PlatformMetrics
  /** /health and /ready; `broker` adds the broker's counters to their body. */
  health: HealthSource
  /** A pino logger (or anything Fastify accepts as `loggerInstance`); the API logs as component 'api'. */
  logger: FastifyBaseLogger
  /** Largest accepted request body in bytes. Default 1 MiB. */
  bodyLimit?: number
  rateLimit?: RateLimits
  /** Telemetry queries (scope telemetry:read) are served with an engine. */
  engine?: TimeSeriesEngine
  queryLimits?: Partial<TelemetryQueryLimits>
  /** HTTP ingest (device tokens) is served with both. */
  telemetry?: TelemetryPipeline
  deviceTokens?: DeviceTokenAuth
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024
export const DEFAULT_RATE_LIMITS: Readonly<RateLimits> = Object.freeze({
  perKeyPerMinute: 6000,
  perAddressPerMinute: 600,
})

/** Echo at most this much of a request path in an error: a URL may be up to Node's 16 KiB header limit. */
const MAX_ECHOED_PATH = 200
const UNMATCHED_ROUTE = '(unmatched)'
/** Probes of load balancers and orchestrators are not rate-limited. */
const EXEMPT_ROUTES = new Set(['/health', '/ready'])

/**
 * Answers a request Node's parser refused (oversized headers, malformed syntax) with a 4xx in
 * the API's error shape before closing, as Node's docs suggest for 'clientError', instead of
 * a bare reset the client cannot interpret.
 */
function refuseMalformed(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy()
  const [status, reason, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'the request headers (or URL) are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request took too long to arrive']
        : [400, 'Bad Request', 'the request is not valid HTTP']
  const body = JSON.stringify({ statusCode: status, code: 'STRATA_API_INVALID_REQUEST', message })
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
  // Not destroy() at once: closing with unread input sends a TCP reset, which can discard the
  // answer before the client reads it. Bounded for a peer that never closes its side.
  const timer = setTimeout(() => socket.destroy(), 2000)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
}

function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const mapped = mapError(err)
  if (mapped.serverFault) request.log.error({ err }, 'request failed')
  else request.log.debug({ code: mapped.body.code }, mapped.body.message)
  return reply.code(mapped.body.statusCode).headers(mapped.headers).send(mapped.body)
}

/** The error shape, shared: one component of the OpenAPI document instead of a copy per operation. */
const ERROR_SCHEMA_ID = 'Error'
const ERROR_REF = { $ref: `${ERROR_SCHEMA_ID}#` }

/** onRoute: scope check and OpenAPI security (auth.ts), and the error answers every route may give. */
function describeRoute(route: RouteOptions): void {
  declareScope(route)
  const schema = route.schema
  if (!schema || schema.hide || route.url.startsWith(DOCS_PREFIX)) return
  route.schema = {
    ...schema,
    response: { ...(schema.response as object), '4xx': ERROR_REF, '5xx': ERROR_REF },
  }
}

/**
 * Builds the API (not listening: see startApiListener; tests use app.inject). More routes may
 * be added before it starts; each must declare `config: { scope }` or registration throws.
 */
export async function createApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const limits = options.rateLimit ?? DEFAULT_RATE_LIMITS
  const services: ApiServices = {
    registry: options.registry,
    identity: options.identity,
    access: options.access,
    audit: options.audit,
    metrics: options.metrics,
    telemetry: options.telemetry,
    deviceTokens: options.deviceTokens,
    queries:
      options.engine &&
      new TelemetryQueries({
        engine: options.engine,
        registry: options.registry,
        limits: options.queryLimits,
      }),
  }
  const logger = options.logger.child({ component: 'api' })
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Requests are logged at debug in the onResponse hook, errors by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Ids are up to 128 characters; find-my-way's default of 100 would turn longer ones into a 404.
    routerOptions: { maxParamLength: 256 },
    // A malformed %-escape in the path fails before routing, so the error handler never sees it.
    frameworkErrors: (err, request, reply) => sendError(err, request, reply),
    clientErrorHandler(err, socket) {
      logger.debug({ err: err.message, code: (err as NodeJS.ErrnoException).code }, 'bad HTTP request')
      refuseMalformed(err as NodeJS.ErrnoException, socket)
    },
  }).setValidatorCompiler(TypeBoxValidatorCompiler)
  const api: ApiInstance = app.withTypeProvider()

  // JSON only: text/plain bodies would reach handlers as strings.
  app.removeContentTypeParser('text/plain')
  app.decorateRequest('principal', null)
  app.decorateRequest('rateKey', null)

  app.setErrorHandler(sendError)
  app.setNotFoundHandler((request) => {
    const path = request.url.split('?')[0] ?? '/'
    const shown = path.length > MAX_ECHOED_PATH ? `${path.slice(0, MAX_ECHOED_PATH)}...` : path
    throw new ApiError(404, 'STRATA_API_NO_ROUTE', `no route ${request.method} ${shown}`)
  })

  app.addSchema({ ...ErrorBodySchema, $id: ERROR_SCHEMA_ID })
  app.addHook('onRoute', describeRoute)
  await app.register(swagger, {
    // Shared schemas keep their $id as their name under components.schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Strata API',
        version: VERSION,
        description: 'Devices, credentials, provisioning, users and audit of a Strata platform.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  })
  await app.register(rateLimit, {
    global: false,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => request.rateKey ?? `address:${request.ip}`,
    max: async (_request: FastifyRequest, key: string) =>
      key.startsWith('address:') ? limits.perAddressPerMinute : limits.perKeyPerMinute,
    allowList: (request: FastifyRequest) => EXEMPT_ROUTES.has(request.routeOptions.url ?? ''),
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        429,
        'STRATA_API_RATE_LIMITED',
        `more than ${context.max} requests a minute; retry in ${context.after}`,
      ),
  })

  app.addHook('onRequest', authenticateHook(options.access))
  app.addHook('onRequest', app.rateLimit())
  app.addHook('onRequest', enforceScope)
  app.addHook('onResponse', async (request, reply) => {
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE)
    options.metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000)
    request.log.debug(
      { method: request.method, route, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    )
  })

  healthRoutes(api, options.health)
  metaRoutes(api, services)
  accessRoutes(api, services)
  deviceRoutes(api, services)
  fleetRoutes(api, services)
  identityRoutes(api, services)
  auditRoutes(api, services)
  eventRoutes(api, services)
  telemetryRoutes(api, services)
  await ingestRoutes(api, services)
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX })
  // Not ready() yet: the platform may register more routes (each must declare config.scope).
  return app
}

/**
 * Serves the API on `port` (0 picks a free one). Port in use, permission and host failures
 * are the same one-line errors as the MQTT listeners', naming --http-port.
 */
export async function startApiListener(
  app: FastifyInstance,
  port: number,
  host: string,
  logger: Logger,
): Promise<Listener> {
  await app.ready()
  const server = app.server
  server.on('error', (err) => {
    if (server.listening) logger.error({ err: err.message }, 'HTTP listener error')
  })
  const bound = await listen(server, port, host, 'HTTP', '--http-port')
  return {
    name: 'HTTP (API)',
    url: `http://${urlHost(host)}:${bound}`,
    port: bound,
    close: async () => {
      // Fastify's close() stops accepting and closes the server, but waits for keep-alive
      // connections it did not open itself (we listened on app.server directly).
      server.closeAllConnections()
      await app.close()
    },
  }
}
