/**
 * Who a request acts as, and what it may do. Every route declares, in `config.scope`, the one
 * scope it needs ('authenticated' for any valid token, 'public' for none); a route without
 * one is refused when it is registered, so forgetting it cannot open a route by accident.
 *
 * The bearer is verified in the first onRequest hook, before the rate limiter, so that the
 * limiter keys on an API key or session that exists: a made-up `stk_<id>_...` cannot buy a
 * fresh bucket per request, it falls back to the address's bucket.
 */
import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import type { ApiPrincipal, Scope } from '../access/model.js'
import type { AccessService } from '../access/service.js'
import { forbidden, unauthenticated } from './errors.js'

export type RouteScope = Scope | 'authenticated' | 'public'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The one scope the route needs. Required on every route except swagger-ui's own. */
    scope?: RouteScope
  }
  interface FastifyRequest {
    /** Set by the authentication hook when a valid bearer came with the request. */
    principal: ApiPrincipal | null
    /** Rate-limit key: `key:<api key id>` or `session:<sha256>`; null falls back to the address. */
    rateKey: string | null
  }
}

/** Routes under this prefix are swagger-ui's static files and need no scope. */
export const DOCS_PREFIX = '/api/docs'

/** The token of `Authorization: Bearer <token>`, or undefined (absent, other scheme, malformed). */
export function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (typeof header !== 'string') return undefined
  const m = /^Bearer[ ]+([\x21-\x7e]{1,1024})[ ]*$/i.exec(header)
  return m?.[1]
}

function rateKeyOf(principal: ApiPrincipal, bearer: string): string {
  return principal.kind === 'apikey'
    ? `key:${principal.keyId}`
    : `session:${createHash('sha256').update(bearer).digest('hex')}`
}

/** onRequest: resolves the principal if a bearer came; refusing is left to `enforceScope`. */
export function authenticateHook(access: AccessService) {
  return async (request: FastifyRequest): Promise<void> => {
    const bearer = bearerOf(request)
    if (bearer === undefined) return
    const principal = await access.authenticate(bearer)
    if (principal) {
      request.principal = principal
      request.rateKey = rateKeyOf(principal, bearer)
    }
  }
}

/** onRequest, after the rate limiter: 401 without a valid token, 403 without the route's scope. */
export async function enforceScope(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (request.is404) return
  const scope = request.routeOptions.config.scope
  if (scope === undefined || scope === 'public') return
  const principal = request.principal
  if (!principal) {
    throw unauthenticated(
      request.headers.authorization === undefined
        ? 'this route needs a bearer token: Authorization: Bearer <token>'
        : 'the bearer token is unknown, expired or revoked',
    )
  }
  if (scope !== 'authenticated' && !principal.scopes.includes(scope)) {
    throw forbidden(`this route needs the scope '${scope}'`)
  }
}

/** The principal of a route that is not public (enforceScope has run). */
export function principalOf(request: FastifyRequest): ApiPrincipal {
  if (!request.principal) throw unauthenticated()
  return request.principal
}

export const hasScope = (principal: ApiPrincipal, scope: Scope): boolean => principal.scopes.includes(scope)

/** The username a principal acts for: the user, or the owner of the API key. */
export const usernameOf = (principal: ApiPrincipal): string =>
  principal.kind === 'user' ? principal.username : principal.owner

/**
 * onRoute: checks that the route declares a scope, and writes it into the OpenAPI document as
 * the operation's security requirement (OpenAPI 3.1 allows scopes for any scheme).
 */
export function declareScope(route: RouteOptions): void {
  if (route.url.startsWith(DOCS_PREFIX)) return
  const scope = route.config?.scope
  if (scope === undefined) {
    throw new Error(`route ${route.method} ${route.url} declares no scope (config.scope)`)
  }
  if (scope === 'public' || !route.schema) return
  route.schema = {
    ...route.schema,
    security: [{ bearer: scope === 'authenticated' ? [] : [scope] }],
  }
}
