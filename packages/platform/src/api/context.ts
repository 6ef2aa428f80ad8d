/** What every route module receives: the typed Fastify instance and the services. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify'
import { actorOf } from '../access/model.js'
import type { AccessService } from '../access/service.js'
import type { AuditLog } from '../audit/model.js'
import type { DeviceTokenAuth } from '../auth/device-token.js'
import type { IdentityService } from '../identity/service.js'
import type { TelemetryPipeline } from '../ingest/pipeline.js'
import type { PlatformMetrics } from '../metrics.js'
import type { TelemetryQueries } from '../query/telemetry-queries.js'
import type { JsonObject } from '../registry/model.js'
import type { RegistryRepository } from '../registry/repository.js'

export type ApiInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

export interface ApiServices {
  registry: RegistryRepository
  identity: IdentityService
  access: AccessService
  audit: AuditLog
  metrics: PlatformMetrics
  /** Telemetry routes are served when these are given (the platform gives them; some tests do not). */
  telemetry?: TelemetryPipeline
  deviceTokens?: DeviceTokenAuth
  /** On the platform's time-series engine. */
  queries?: TelemetryQueries
}

export interface AuditFact {
  action: string
  targetKind: string
  targetId: string
  /** What changed: field names and non-secret values, never a token, password or key. */
  details?: JsonObject
  /** Default: the request's principal. */
  actor?: string
}

/**
 * Records a successful mutation. The change is already committed, so a failing audit write
 * is logged as an error rather than turned into a 500 that would make the client retry a
 * create that succeeded.
 */
export async function audit(services: ApiServices, request: FastifyRequest, fact: AuditFact): Promise<void> {
  const actor = fact.actor ?? (request.principal ? actorOf(request.principal) : 'system')
  try {
    await services.audit.record({
      actor,
      action: fact.action,
      targetKind: fact.targetKind,
      targetId: fact.targetId,
      details: fact.details ?? {},
    })
  } catch (err) {
    request.log.error({ err, action: fact.action, targetId: fact.targetId }, 'audit record failed')
  }
}

/** The names of the fields a create or patch body set, for audit details. */
export const fieldsOf = (body: object): string[] => Object.keys(body).sort()
