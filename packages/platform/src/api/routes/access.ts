/**
 * People and programs: first-start setup, login and logout, users, API keys.
 * Secrets (passwords, session tokens, API keys) are returned at most once and never audited.
 */
import { Type } from 'typebox'
import type { ApiKey, ApiPrincipal } from '../../access/model.js'
import { NotFoundError } from '../../registry/errors.js'
import { bearerOf, hasScope, principalOf, usernameOf } from '../auth.js'
import { type ApiInstance, type ApiServices, audit, fieldsOf } from '../context.js'
import { ApiError, forbidden } from '../errors.js'
import { conditionalDelete, conditionalUpdate, parseIfMatch, withEtag } from '../etag.js'
import {
  ApiKeyListQuery,
  ApiKeySchema,
  CreatedApiKeySchema,
  IdParams,
  LoginBody,
  LoginResultSchema,
  NewApiKeyBody,
  NewUserBody,
  PasswordChangeBody,
  PrincipalSchema,
  pageOf,
  SetupBody,
  UsernameParams,
  UserPatchBody,
  UserSchema,
} from '../schemas.js'

const Deleted = Type.Null({ description: 'done' })
const itemsOf = <T>(items: T[]) => ({ items, nextCursor: null })

export function accessRoutes(app: ApiInstance, services: ApiServices): void {
  authRoutes(app, services)
  userRoutes(app, services)
  apiKeyRoutes(app, services)
}

function authRoutes(app: ApiInstance, services: ApiServices): void {
  const { access } = services
  const tags = ['auth']

  app.post(
    '/api/setup',
    {
      config: { scope: 'public' },
      schema: {
        tags,
        summary: 'Create the first admin with the setup token printed at first start',
        body: SetupBody,
        response: { 201: UserSchema },
      },
    },
    async (request, reply) => {
      const { token, username, password } = request.body
      const user = await access.completeSetup(token, { username, password })
      await audit(services, request, {
        actor: 'system',
        action: 'user.create',
        targetKind: 'user',
        targetId: user.username,
        details: { role: user.role, via: 'setup' },
      })
      return withEtag(reply.code(201), user)
    },
  )

  app.post(
    '/api/auth/login',
    {
      config: { scope: 'public' },
      schema: {
        tags,
        summary: 'Exchange a username and password for a session token',
        body: LoginBody,
        response: { 200: LoginResultSchema },
      },
    },
    async (request) => {
      const result = await access.login(request.body.username, request.body.password, request.ip)
      await audit(services, request, {
        actor: `user:${result.user.username}`,
        action: 'user.login',
        targetKind: 'user',
        targetId: result.user.username,
        details: { expiresAt: result.expiresAt },
      })
      return result
    },
  )

  app.post(
    '/api/auth/logout',
    {
      config: { scope: 'authenticated' },
      schema: { tags, summary: 'End this session', response: { 204: Deleted } },
    },
    async (request, reply) => {
      const principal = principalOf(request)
      const bearer = bearerOf(request)
      if (principal.kind !== 'user' || bearer === undefined) {
        throw new ApiError(
          400,
          'STRATA_API_INVALID_REQUEST',
          'logout ends a session; revoke an API key with DELETE /api/api-keys/{id}',
        )
      }
      await access.logout(bearer)
      await audit(services, request, {
        action: 'user.logout',
        targetKind: 'user',
        targetId: principal.username,
      })
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/api/auth/password',
    {
      config: { scope: 'authenticated' },
      schema: {
        tags,
        summary: 'Change your own password; every session ends and a new one is returned',
        body: PasswordChangeBody,
        response: { 200: LoginResultSchema },
      },
    },
    async (request) => {
      const principal = principalOf(request)
      if (principal.kind !== 'user') {
        throw new ApiError(
          400,
          'STRATA_API_INVALID_REQUEST',
          'an API key has no password; log in as the user',
        )
      }
      const { currentPassword, newPassword } = request.body
      const result = await access.changePassword(principal.username, currentPassword, newPassword, request.ip)
      await audit(services, request, {
        action: 'user.update',
        targetKind: 'user',
        targetId: principal.username,
        details: { fields: ['password'], via: 'self' },
      })
      return result
    },
  )

  app.get(
    '/api/auth/me',
    {
      config: { scope: 'authenticated' },
      schema: { tags, summary: 'Who this token acts as, and its scopes', response: { 200: PrincipalSchema } },
    },
    async (request) => {
      const p = principalOf(request)
      return { ...p, scopes: [...p.scopes] }
    },
  )
}

function userRoutes(app: ApiInstance, services: ApiServices): void {
  const { access } = services
  const tags = ['users']

  app.get(
    '/api/users',
    {
      config: { scope: 'users:read' },
      schema: {
        tags,
        summary: 'List users',
        response: { 200: pageOf(UserSchema) },
      },
    },
    async () => itemsOf(await access.listUsers()),
  )

  app.post(
    '/api/users',
    {
      config: { scope: 'users:write' },
      schema: { tags, summary: 'Create a user', body: NewUserBody, response: { 201: UserSchema } },
    },
    async (request, reply) => {
      const user = await access.createUser(request.body)
      await audit(services, request, {
        action: 'user.create',
        targetKind: 'user',
        targetId: user.username,
        details: { role: user.role },
      })
      reply.header('location', `/api/users/${user.username}`)
      return withEtag(reply.code(201), user)
    },
  )

  app.get(
    '/api/users/:username',
    {
      config: { scope: 'users:read' },
      schema: { tags, summary: 'Get a user', params: UsernameParams, response: { 200: UserSchema } },
    },
    async (request, reply) => withEtag(reply, await access.getUser(request.params.username)),
  )

  app.patch(
    '/api/users/:username',
    {
      config: { scope: 'users:write' },
      schema: {
        tags,
        summary:
          "Change a user's password, role or enabled flag (ends their sessions when disabled or on a new password)",
        params: UsernameParams,
        body: UserPatchBody,
        response: { 200: UserSchema },
      },
    },
    async (request, reply) => {
      const { username } = request.params
      const user = await conditionalUpdate(
        parseIfMatch(request),
        () => access.getUser(username),
        (version) => access.updateUser(username, request.body, version),
      )
      const { role, enabled } = request.body
      await audit(services, request, {
        action: 'user.update',
        targetKind: 'user',
        targetId: username,
        // The password's new value is never recorded, only that it changed.
        details: {
          fields: fieldsOf(request.body),
          ...(role !== undefined ? { role } : {}),
          ...(enabled !== undefined ? { enabled } : {}),
        },
      })
      return withEtag(reply, user)
    },
  )

  app.delete(
    '/api/users/:username',
    {
      config: { scope: 'users:write' },
      schema: { tags, summary: 'Delete a user', params: UsernameParams, response: { 204: Deleted } },
    },
    async (request, reply) => {
      const { username } = request.params
      await conditionalDelete(
        parseIfMatch(request),
        () => access.getUser(username),
        (version) => access.deleteUser(username, version),
      )
      await audit(services, request, { action: 'user.delete', targetKind: 'user', targetId: username })
      return reply.code(204).send(null)
    },
  )
}

/**
 * A key acts for its owner with the scopes it was given. Whoever creates one cannot give it a
 * scope they lack themselves (so a read-only key cannot mint a writing key for its owner), and
 * keys of another user need users:write to create or revoke, users:read to see. Someone
 * else's key without that scope is a 404, like an unknown id, so key ids cannot be probed.
 */
function apiKeyRoutes(app: ApiInstance, services: ApiServices): void {
  const { access } = services
  const tags = ['api keys']
  const owns = (p: ApiPrincipal, key: ApiKey): boolean => key.owner === usernameOf(p)
  const visible = async (p: ApiPrincipal, id: string): Promise<ApiKey> => {
    const key = await access.getApiKey(id)
    if (!owns(p, key) && !hasScope(p, 'users:read')) throw new NotFoundError('API key', id)
    return key
  }

  app.post(
    '/api/api-keys',
    {
      config: { scope: 'authenticated' },
      schema: {
        tags,
        summary: 'Create an API key (for yourself, or for `owner` with users:write)',
        body: NewApiKeyBody,
        response: { 201: CreatedApiKeySchema },
      },
    },
    async (request, reply) => {
      const p = principalOf(request)
      const owner = request.body.owner ?? usernameOf(p)
      if (owner !== usernameOf(p) && !hasScope(p, 'users:write')) {
        throw forbidden("creating an API key for another user needs the scope 'users:write'")
      }
      const beyond = request.body.scopes.filter((s) => !p.scopes.includes(s))
      if (beyond.length > 0) {
        throw forbidden(`an API key cannot have scopes its creator lacks: ${beyond.join(', ')}`)
      }
      const created = await access.createApiKey({
        name: request.body.name,
        owner,
        scopes: request.body.scopes,
        expiresAt: request.body.expiresAt ?? null,
      })
      const { apiKey } = created
      await audit(services, request, {
        action: 'apikey.create',
        targetKind: 'apikey',
        targetId: apiKey.id,
        details: {
          name: apiKey.name,
          owner: apiKey.owner,
          scopes: apiKey.scopes,
          expiresAt: apiKey.expiresAt,
        },
      })
      reply.header('location', `/api/api-keys/${apiKey.id}`)
      return reply.code(201).send(created)
    },
  )

  app.get(
    '/api/api-keys',
    {
      config: { scope: 'authenticated' },
      schema: {
        tags,
        summary: "List your API keys; with users:read, everyone's (or `owner`'s)",
        querystring: ApiKeyListQuery,
        response: { 200: pageOf(ApiKeySchema) },
      },
    },
    async (request) => {
      const p = principalOf(request)
      const self = usernameOf(p)
      const owner = request.query.owner
      if (!hasScope(p, 'users:read')) {
        if (owner !== undefined && owner !== self) {
          throw forbidden("listing another user's API keys needs the scope 'users:read'")
        }
        return itemsOf(await access.listApiKeys(self))
      }
      return itemsOf(await access.listApiKeys(owner))
    },
  )

  app.get(
    '/api/api-keys/:id',
    {
      config: { scope: 'authenticated' },
      schema: {
        tags,
        summary: 'Get an API key (never its secret)',
        params: IdParams,
        response: { 200: ApiKeySchema },
      },
    },
    async (request) => visible(principalOf(request), request.params.id),
  )

  app.delete(
    '/api/api-keys/:id',
    {
      config: { scope: 'authenticated' },
      schema: {
        tags,
        summary: 'Revoke an API key; it stops working within seconds',
        params: IdParams,
        response: { 200: ApiKeySchema },
      },
    },
    async (request) => {
      const p = principalOf(request)
      const key = await visible(p, request.params.id)
      if (!owns(p, key) && !hasScope(p, 'users:write')) {
        throw forbidden("revoking another user's API key needs the scope 'users:write'")
      }
      const revoked = await access.revokeApiKey(key.id)
      await audit(services, request, {
        action: 'apikey.revoke',
        targetKind: 'apikey',
        targetId: key.id,
        details: { owner: key.owner },
      })
      return revoked
    },
  )
}
