/** GET /api/audit: who changed what, newest first, filtered and paged. */
import type { ApiInstance, ApiServices } from '../context.js'
import { AuditEntrySchema, AuditQuerySchema, pageOf } from '../schemas.js'

export function auditRoutes(app: ApiInstance, services: ApiServices): void {
  app.get(
    '/api/audit',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Read the audit log, newest first',
        querystring: AuditQuerySchema,
        response: { 200: pageOf(AuditEntrySchema) },
      },
    },
    async (request) => services.audit.list(request.query),
  )
}
