/** /api/devices: the registry's devices, with paging and fleet selectors. */
import { Type } from 'typebox'
import { type ApiInstance, type ApiServices, audit, fieldsOf } from '../context.js'
import { conditionalDelete, conditionalUpdate, parseIfMatch, withEtag } from '../etag.js'
import {
  DeviceListQuery,
  DevicePatchBody,
  DeviceSchema,
  DeviceStatusSchema,
  IdParams,
  NewDeviceBody,
  pageOf,
} from '../schemas.js'

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

  app.get(
    '/api/devices/:id',
    {
      config: { scope: 'devices:read' },
      schema: { tags, summary: 'Get a device', params: IdParams, response: { 200: DeviceSchema } },
    },
    async (request, reply) => withEtag(reply, await registry.getDevice(request.params.id)),
  )

  app.patch(
    '/api/devices/:id',
    {
      config: { scope: 'devices:write' },
      schema: {
        tags,
        summary: 'Update a device (absent fields stay; groups, tags and metadata are replaced whole)',
        params: IdParams,
        body: DevicePatchBody,
        response: { 200: DeviceSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const device = await conditionalUpdate(
        parseIfMatch(request),
        () => registry.getDevice(id),
        (version) => registry.updateDevice(id, request.body, version),
      )
      await audit(services, request, {
        action: 'device.update',
        targetKind: 'device',
        targetId: id,
        details: { fields: fieldsOf(request.body), version: device.version },
      })
      return withEtag(reply, device)
    },
  )

  app.delete(
    '/api/devices/:id',
    {
      config: { scope: 'devices:write' },
      schema: {
        tags,
        summary: 'Delete a device',
        params: IdParams,
        response: { 204: Type.Null({ description: 'deleted' }) },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      await conditionalDelete(
        parseIfMatch(request),
        () => registry.getDevice(id),
        (version) => registry.deleteDevice(id, version),
      )
      await audit(services, request, { action: 'device.delete', targetKind: 'device', targetId: id })
      return reply.code(204).send(null)
    },
  )

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
