/**
 * GET, PATCH and DELETE on `<path>/:id` for one kind of versioned record: the record's
 * version is its ETag, PATCH and DELETE honour If-Match (see ../etag.ts), and both are
 * audited as `<auditKind>.update` (with the fields set and the new version) and
 * `<auditKind>.delete`. Create and list stay with each kind: their shapes differ.
 */
import { type Static, type TSchema, Type } from 'typebox'
import type { Scope } from '../../access/model.js'
import { type ApiInstance, type ApiServices, audit, fieldsOf } from '../context.js'
import { conditionalDelete, conditionalUpdate, parseIfMatch, withEtag } from '../etag.js'
import { IdParams } from '../schemas.js'

export interface VersionedRecordSpec<
  Schema extends TSchema,
  Body extends TSchema,
  Rec extends Static<Schema> & { version: number },
> {
  /** The collection, e.g. '/api/groups'; the routes are `${path}/:id`. */
  path: string
  tags: string[]
  scopes: { read: Scope; write: Scope }
  /** The record's response schema (200 of GET and PATCH). */
  record: Schema
  /** The PATCH body; its static type is what `update` receives. */
  patchBody: Body
  summaries: { get: string; update: string; delete: string }
  /** Both the audit action prefix and the audit targetKind, e.g. 'device-type'. */
  auditKind: string
  get(id: string): Promise<Rec>
  update(id: string, patch: Static<Body>, expectedVersion: number): Promise<Rec>
  remove(id: string, expectedVersion?: number): Promise<void>
}

const Deleted = Type.Null({ description: 'deleted' })

export function versionedRecordRoutes<
  Schema extends TSchema,
  Body extends TSchema,
  Rec extends Static<Schema> & { version: number },
>(app: ApiInstance, services: ApiServices, spec: VersionedRecordSpec<Schema, Body, Rec>): void {
  const { tags, scopes, summaries, auditKind } = spec
  // Widened on purpose: `Rec extends Static<Schema>` already ties the service's record to the
  // schema at the call site, and a generic response schema would defer Fastify's reply type.
  const record: TSchema = spec.record
  const url = `${spec.path}/:id`

  app.get(
    url,
    {
      config: { scope: scopes.read },
      schema: { tags, summary: summaries.get, params: IdParams, response: { 200: record } },
    },
    async (request, reply) => withEtag(reply, await spec.get(request.params.id)),
  )

  app.patch(
    url,
    {
      config: { scope: scopes.write },
      schema: {
        tags,
        summary: summaries.update,
        params: IdParams,
        body: spec.patchBody,
        response: { 200: record },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      // Fastify has validated the body against spec.patchBody; TypeScript cannot see through
      // the type provider's conditional types while Body is still a type parameter.
      const patch = request.body as Static<Body>
      const updated = await conditionalUpdate(
        parseIfMatch(request),
        () => spec.get(id),
        (version) => spec.update(id, patch, version),
      )
      await audit(services, request, {
        action: `${auditKind}.update`,
        targetKind: auditKind,
        targetId: id,
        details: { fields: fieldsOf(patch), version: updated.version },
      })
      return withEtag(reply, updated)
    },
  )

  app.delete(
    url,
    {
      config: { scope: scopes.write },
      schema: { tags, summary: summaries.delete, params: IdParams, response: { 204: Deleted } },
    },
    async (request, reply) => {
      const { id } = request.params
      await conditionalDelete(
        parseIfMatch(request),
        () => spec.get(id),
        (version) => spec.remove(id, version),
      )
      await audit(services, request, { action: `${auditKind}.delete`, targetKind: auditKind, targetId: id })
      return reply.code(204).send(null)
    },
  )
}
