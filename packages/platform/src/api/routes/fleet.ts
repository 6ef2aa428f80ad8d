/**
 * /api/device-types and /api/groups: the same CRUD shape as devices. Lists are one page
 * (nextCursor null) in the paging envelope, so paging can come later without a new shape.
 */
import { type ApiInstance, type ApiServices, audit, fieldsOf } from '../context.js'
import { withEtag } from '../etag.js'
import {
  DeviceTypePatchBody,
  DeviceTypeSchema,
  GroupPatchBody,
  GroupSchema,
  NewDeviceTypeBody,
  NewGroupBody,
  pageOf,
} from '../schemas.js'
import { versionedRecordRoutes } from './versioned.js'

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

  versionedRecordRoutes(app, services, {
    path: '/api/device-types',
    tags,
    scopes: { read: 'devices:read', write: 'devices:write' },
    record: DeviceTypeSchema,
    patchBody: DeviceTypePatchBody,
    summaries: {
      get: 'Get a device type',
      update: 'Update a device type',
      delete: 'Delete a device type (409 while devices use it)',
    },
    auditKind: 'device-type',
    get: (id) => registry.getDeviceType(id),
    update: (id, patch, version) => registry.updateDeviceType(id, patch, version),
    remove: (id, version) => registry.deleteDeviceType(id, version),
  })
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

  versionedRecordRoutes(app, services, {
    path: '/api/groups',
    tags,
    scopes: { read: 'devices:read', write: 'devices:write' },
    record: GroupSchema,
    patchBody: GroupPatchBody,
    summaries: {
      get: 'Get a group',
      update: 'Update a group',
      delete: 'Delete a group (its members leave it)',
    },
    auditKind: 'group',
    get: (id) => registry.getGroup(id),
    update: (id, patch, version) => registry.updateGroup(id, patch, version),
    remove: (id, version) => registry.deleteGroup(id, version),
  })
}
