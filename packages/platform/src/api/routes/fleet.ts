/**
 * /api/device-types and /api/groups: the same CRUD shape as devices. Lists are one page
 * (nextCursor null) in the paging envelope, so paging can come later without a new shape.
 */
import { Type } from 'typebox'
import { type ApiInstance, type ApiServices, audit, fieldsOf } from '../context.js'
import { conditionalDelete, conditionalUpdate, parseIfMatch, withEtag } from '../etag.js'
import {
  DeviceTypePatchBody,
  DeviceTypeSchema,
  GroupPatchBody,
  GroupSchema,
  IdParams,
  NewDeviceTypeBody,
  NewGroupBody,
  pageOf,
} from '../schemas.js'

const Deleted = Type.Null({ description: 'deleted' })

export function fleetRoutes(app: ApiInstance, services: ApiServices): void {
  deviceTypeRoutes(app, services)
  groupRoutes(app, services)
}

function deviceTypeRoutes(app: ApiInstance, services: ApiServices): void {
  const { registry } = services
  const tags = ['device types']

  app.post(
    '/api/device-types',
    {
      config: { scope: 'devices:write' },
      schema: {
        tags,
        summary: 'Create a device type',
        body: NewDeviceTypeBody,
        response: { 201: DeviceTypeSchema },
      },
    },
    async (request, reply) => {
      const type = await registry.createDeviceType(request.body)
      await audit(services, request, {
        action: 'device-type.create',
        targetKind: 'device-type',
        targetId: type.id,
        details: { fields: fieldsOf(request.body) },
      })
      reply.header('location', `/api/device-types/${type.id}`)
      return withEtag(reply.code(201), type)
    },
  )

  app.get(
    '/api/device-types',
    {
      config: { scope: 'devices:read' },
      schema: { tags, summary: 'List device types', response: { 200: pageOf(DeviceTypeSchema) } },
    },
    async () => ({ items: await registry.listDeviceTypes(), nextCursor: null }),
  )

  app.get(
    '/api/device-types/:id',
    {
      config: { scope: 'devices:read' },
      schema: { tags, summary: 'Get a device type', params: IdParams, response: { 200: DeviceTypeSchema } },
    },
    async (request, reply) => withEtag(reply, await registry.getDeviceType(request.params.id)),
  )

  app.patch(
    '/api/device-types/:id',
    {
      config: { scope: 'devices:write' },
      schema: {
        tags,
        summary: 'Update a device type',
        params: IdParams,
        body: DeviceTypePatchBody,
        response: { 200: DeviceTypeSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const type = await conditionalUpdate(
        parseIfMatch(request),
        () => registry.getDeviceType(id),
        (version) => registry.updateDeviceType(id, request.body, version),
      )
      await audit(services, request, {
        action: 'device-type.update',
        targetKind: 'device-type',
        targetId: id,
        details: { fields: fieldsOf(request.body), version: type.version },
      })
      return withEtag(reply, type)
    },
  )

  app.delete(
    '/api/device-types/:id',
    {
      config: { scope: 'devices:write' },
      schema: {
        tags,
        summary: 'Delete a device type (409 while devices use it)',
        params: IdParams,
        response: { 204: Deleted },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      await conditionalDelete(
        parseIfMatch(request),
        () => registry.getDeviceType(id),
        (version) => registry.deleteDeviceType(id, version),
      )
      await audit(services, request, {
        action: 'device-type.delete',
        targetKind: 'device-type',
        targetId: id,
      })
      return reply.code(204).send(null)
    },
  )
}

function groupRoutes(app: ApiInstance, services: ApiServices): void {
  const { registry } = services
  const tags = ['groups']

  app.post(
    '/api/groups',
    {
      config: { scope: 'devices:write' },
      schema: { tags, summary: 'Create a group', body: NewGroupBody, response: { 201: GroupSchema } },
    },
    async (request, reply) => {
      const group = await registry.createGroup(request.body)
      await audit(services, request, {
        action: 'group.create',
        targetKind: 'group',
        targetId: group.id,
        details: { fields: fieldsOf(request.body) },
      })
      reply.header('location', `/api/groups/${group.id}`)
      return withEtag(reply.code(201), group)
    },
  )

  app.get(
    '/api/groups',
    {
      config: { scope: 'devices:read' },
      schema: { tags, summary: 'List groups', response: { 200: pageOf(GroupSchema) } },
    },
    async () => ({ items: await registry.listGroups(), nextCursor: null }),
  )

  app.get(
    '/api/groups/:id',
    {
      config: { scope: 'devices:read' },
      schema: { tags, summary: 'Get a group', params: IdParams, response: { 200: GroupSchema } },
    },
    async (request, reply) => withEtag(reply, await registry.getGroup(request.params.id)),
  )

  app.patch(
    '/api/groups/:id',
    {
      config: { scope: 'devices:write' },
      schema: {
        tags,
        summary: 'Update a group',
        params: IdParams,
        body: GroupPatchBody,
        response: { 200: GroupSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const group = await conditionalUpdate(
        parseIfMatch(request),
        () => registry.getGroup(id),
        (version) => registry.updateGroup(id, request.body, version),
      )
      await audit(services, request, {
        action: 'group.update',
        targetKind: 'group',
        targetId: id,
        details: { fields: fieldsOf(request.body), version: group.version },
      })
      return withEtag(reply, group)
    },
  )

  app.delete(
    '/api/groups/:id',
    {
      config: { scope: 'devices:write' },
      schema: {
        tags,
        summary: 'Delete a group (its members leave it)',
        params: IdParams,
        response: { 204: Deleted },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      await conditionalDelete(
        parseIfMatch(request),
        () => registry.getGroup(id),
        (version) => registry.deleteGroup(id, version),
      )
      await audit(services, request, { action: 'group.delete', targetKind: 'group', targetId: id })
      return reply.code(204).send(null)
    },
  )
}
