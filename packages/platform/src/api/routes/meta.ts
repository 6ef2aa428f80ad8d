/** GET /metrics (Prometheus text) and GET /api/openapi.json (the API's own description). */
import { Type } from 'typebox'
import type { ApiInstance, ApiServices } from '../context.js'

export function metaRoutes(app: ApiInstance, services: ApiServices): void {
  app.get(
    '/metrics',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['meta'],
        summary: 'Prometheus metrics, text exposition format',
        response: {
          200: {
            description: 'metrics',
            content: { 'text/plain': { schema: Type.String() } },
          },
        },
      },
    },
    async (_request, reply) => {
      const text = await services.metrics.text()
      return reply.type(services.metrics.contentType).send(text)
    },
  )

  app.get(
    '/api/openapi.json',
    // Hidden: the document does not describe itself.
    { config: { scope: 'public' }, schema: { hide: true } },
    async () => app.swagger(),
  )
}
