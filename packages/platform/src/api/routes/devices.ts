/** /api/devices: the registry's devices, with paging and fleet selectors. */
import { type ApiInstance, type ApiServices, audit, fieldsOf } from '../context.js'
import { withEtag } from '../etag.js'
import {
  DeviceListQuery,
  DevicePatchBody,
  DeviceSchema,
  DeviceStatusSchema,
  IdParams,
  NewDeviceBody,
  pageOf,
} from '../schemas.js'
import { versionedRecordRoutes } from './versioned.js'

const tags = ['devices']

export function deviceRoutes(app: ApiInstance, services: ApiServices): void {
  const { registry } = services

  app.post(
    '/api/devices',
    {
      config: { scope: 'devices:write' },
      schema: {
        tags,
        summary: 'Create a device',
        body: NewDeviceBody,
        response: { 201: DeviceSchema },
      },
    },
    async (request, reply) => {
      const device = await registry.createDevice(request.body)
      await audit(services, request, {
        action: 'device.create',
        targetKind: 'device',
        targetId: device.id,
        details: { fields: fieldsOf(request.body) },
      })
      reply.code(201).header('location', `/api/devices/${encodeURIComponent(device.id)}`)
      return withEtag(reply, device)
    },
  )

  app.get(
    '/api/devices',
    {
      config: { scope: 'devices:read' },
      schema: {
        tags,
        summary: 'List devices, optionally those a fleet selector picks, a page at a time',
        querystring: DeviceListQuery,
        response: { 200: pageOf(DeviceSchema) },
      },
    },
    async (request) => {
      const { selector, limit, cursor } = request.query
      return registry.listDevices({ selector, limit, cursor })
    },
  )

  versionedRecordRoutes(app, services, {
    path: '/api/devices',
    tags,
    scopes: { read: 'devices:read', write: 'devices:write' },
    record: DeviceSchema,
    patchBody: DevicePatchBody,
    summaries: {
      get: 'Get a device',
      update: 'Update a device (absent fields stay; groups, tags and metadata are replaced whole)',
      delete: 'Delete a device',
    },
    auditKind: 'device',
    get: (id) => registry.getDevice(id),
    update: (id, patch, version) => registry.updateDevice(id, patch, version),
    remove: (id, version) => registry.deleteDevice(id, version),
  })

  app.get(
    '/api/devices/:id/status',
    {
      config: { scope: 'devices:read' },
      schema: {
        tags,
        summary: "A device's connection status",
        params: IdParams,
        response: { 200: DeviceStatusSchema },
      },
    },
    async (request) => registry.getStatus(request.params.id),
  )
}
