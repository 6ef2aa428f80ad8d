/**
 * GET /health (liveness: the process answers) and GET /ready (readiness: every listener up,
 * not shutting down), with HEAD for both; other methods are 405 with an Allow header.
 * Unauthenticated and not rate-limited, for load balancers and orchestrators.
 */
import type { BrokerStats } from '@strata/broker'
import type { ApiInstance } from '../context.js'
import { ApiError } from '../errors.js'
import { HealthSchema } from '../schemas.js'

export interface HealthSource {
  /** Set once every listener is up; /ready answers 503 before, and while shutting down. */
  ready(): boolean
  version: string
  /** The broker's counters, included in the answer when given. */
  broker?: () => BrokerStats
}

const OTHER_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

export function healthRoutes(app: ApiInstance, source: HealthSource): void {
  const body = (status: 'ok' | 'unavailable', ready: boolean) => ({
    status,
    ready,
    version: source.version,
    ...(source.broker ? { broker: { ...source.broker() } } : {}),
  })

  app.get(
    '/health',
    {
      config: { scope: 'public' },
      schema: { tags: ['health'], summary: 'Liveness', response: { 200: HealthSchema } },
    },
    async () => body('ok', source.ready()),
  )

  app.get(
    '/ready',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Readiness: 200 once every listener is up, 503 before and while shutting down',
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_request, reply) => {
      const ready = source.ready()
      return reply.code(ready ? 200 : 503).send(body(ready ? 'ok' : 'unavailable', ready))
    },
  )

  for (const url of ['/health', '/ready']) {
    app.route({
      method: [...OTHER_METHODS],
      url,
      config: { scope: 'public' },
      schema: { hide: true },
      handler: async (request, reply) => {
        reply.header('allow', 'GET, HEAD')
        throw new ApiError(
          405,
          'STRATA_API_METHOD_NOT_ALLOWED',
          `${request.method} is not allowed here: use GET or HEAD`,
        )
      },
    })
  }
}
