/**
 * Device identity: credentials, certificate authorities, provisioning templates and topic
 * grants. Reads need devices:read; credential, CA and grant changes credentials:write;
 * templates provisioning:write. Device tokens and claim tokens are returned once, never audited.
 */
import { Type } from 'typebox'
import type { DeviceCredential, IssuedToken } from '../../identity/model.js'
import { type ApiInstance, type ApiServices, audit, fieldsOf } from '../context.js'
import {
  AuthoritySchema,
  CreatedTemplateSchema,
  CredentialSchema,
  GrantSchema,
  IdParams,
  IssuedTokenSchema,
  NewAuthorityBody,
  type NewCredential,
  NewCredentialBody,
  NewGrantBody,
  NewTemplateBody,
  pageOf,
  RevokeBody,
  TemplatePatchBody,
  TemplateSchema,
} from '../schemas.js'
import { versionedRecordRoutes } from './versioned.js'

const Deleted = Type.Null({ description: 'deleted' })
const itemsOf = <T>(items: T[]) => ({ items, nextCursor: null })

export function identityRoutes(app: ApiInstance, services: ApiServices): void {
  credentialRoutes(app, services)
  authorityRoutes(app, services)
  templateRoutes(app, services)
  grantRoutes(app, services)
}

function credentialRoutes(app: ApiInstance, services: ApiServices): void {
  const { identity } = services
  const tags = ['credentials']

  app.get(
    '/api/devices/:id/credentials',
    {
      config: { scope: 'devices:read' },
      schema: {
        tags,
        summary: "List a device's credentials",
        params: IdParams,
        response: { 200: pageOf(CredentialSchema) },
      },
    },
    async (request) => itemsOf(await identity.listCredentials(request.params.id)),
  )

  const issue = (deviceId: string, body: NewCredential): Promise<IssuedToken | DeviceCredential> => {
    if (body.kind === 'token') return identity.issueToken(deviceId, { label: body.label })
    if ('csrPem' in body) {
      return identity.issueCertificate(deviceId, {
        csrPem: body.csrPem,
        label: body.label,
        validityDays: body.validityDays,
      })
    }
    return identity.registerCertificate(deviceId, { certificatePem: body.certificatePem, label: body.label })
  }

  app.post(
    '/api/devices/:id/credentials',
    {
      config: { scope: 'credentials:write' },
      schema: {
        tags,
        summary:
          'Issue a token ({kind: token}), sign a CSR with the platform CA ({kind: certificate, csrPem}) ' +
          'or bind a certificate from a registered CA ({kind: certificate, certificatePem})',
        params: IdParams,
        body: NewCredentialBody,
        response: { 201: Type.Union([IssuedTokenSchema, CredentialSchema]) },
      },
    },
    async (request, reply) => {
      const deviceId = request.params.id
      const created = await issue(deviceId, request.body)
      const credential = 'credential' in created ? created.credential : created
      await audit(services, request, {
        // Issued by the platform (a token, a signed CSR) or registered (an operator CA's certificate).
        action: 'certificatePem' in request.body ? 'credential.register' : 'credential.issue',
        targetKind: 'credential',
        targetId: credential.id,
        details: {
          deviceId,
          kind: credential.kind,
          label: credential.label,
          ...(credential.certificate ? { fingerprint: credential.certificate.fingerprint } : {}),
        },
      })
      reply.header('location', `/api/credentials/${credential.id}`)
      return reply.code(201).send(created)
    },
  )

  app.get(
    '/api/credentials/:id',
    {
      config: { scope: 'devices:read' },
      schema: { tags, summary: 'Get a credential', params: IdParams, response: { 200: CredentialSchema } },
    },
    async (request) => identity.getCredential(request.params.id),
  )

  app.post(
    '/api/credentials/:id/revoke',
    {
      config: { scope: 'credentials:write' },
      schema: {
        tags,
        summary: 'Revoke a credential; clients using it are disconnected at once',
        params: IdParams,
        body: RevokeBody,
        response: { 200: CredentialSchema },
      },
      // The reason is optional, so the body may be left out entirely.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {}
      },
    },
    async (request) => {
      const credential = await identity.revokeCredential(request.params.id, request.body.reason)
      await audit(services, request, {
        action: 'credential.revoke',
        targetKind: 'credential',
        targetId: credential.id,
        details: {
          deviceId: credential.deviceId,
          ...(request.body.reason ? { reason: request.body.reason } : {}),
        },
      })
      return credential
    },
  )
}

function authorityRoutes(app: ApiInstance, services: ApiServices): void {
  const { identity } = services
  const tags = ['certificate authorities']

  app.get(
    '/api/certificate-authorities',
    {
      config: { scope: 'devices:read' },
      schema: { tags, summary: 'List certificate authorities', response: { 200: pageOf(AuthoritySchema) } },
    },
    async () => itemsOf(await identity.listAuthorities()),
  )

  app.post(
    '/api/certificate-authorities',
    {
      config: { scope: 'credentials:write' },
      schema: {
        tags,
        summary: 'Register an operator CA whose device certificates the platform accepts',
        body: NewAuthorityBody,
        response: { 201: AuthoritySchema },
      },
    },
    async (request, reply) => {
      const ca = await identity.registerAuthority(request.body)
      await audit(services, request, {
        action: 'authority.register',
        targetKind: 'authority',
        targetId: ca.id,
        details: { name: ca.name, subject: ca.subject, notAfter: ca.notAfter },
      })
      reply.header('location', `/api/certificate-authorities/${ca.id}`)
      return reply.code(201).send(ca)
    },
  )

  app.get(
    '/api/certificate-authorities/:id',
    {
      config: { scope: 'devices:read' },
      schema: {
        tags,
        summary: 'Get a certificate authority',
        params: IdParams,
        response: { 200: AuthoritySchema },
      },
    },
    async (request) => identity.getAuthority(request.params.id),
  )

  app.delete(
    '/api/certificate-authorities/:id',
    {
      config: { scope: 'credentials:write' },
      schema: {
        tags,
        summary: "Remove an operator CA (the platform's own cannot be removed)",
        params: IdParams,
        response: { 204: Deleted },
      },
    },
    async (request, reply) => {
      await identity.removeAuthority(request.params.id)
      await audit(services, request, {
        action: 'authority.remove',
        targetKind: 'authority',
        targetId: request.params.id,
      })
      return reply.code(204).send(null)
    },
  )
}

function templateRoutes(app: ApiInstance, services: ApiServices): void {
  const { identity } = services
  const tags = ['provisioning']

  app.post(
    '/api/provisioning-templates',
    {
      config: { scope: 'provisioning:write' },
      schema: {
        tags,
        summary: 'Create a provisioning template and its claim token',
        body: NewTemplateBody,
        response: { 201: CreatedTemplateSchema },
      },
    },
    async (request, reply) => {
      const created = await identity.createTemplate(request.body)
      await audit(services, request, {
        action: 'template.create',
        targetKind: 'template',
        targetId: created.template.id,
        details: { fields: fieldsOf(request.body) },
      })
      reply.header('location', `/api/provisioning-templates/${created.template.id}`)
      reply.header('etag', `"${created.template.version}"`)
      return reply.code(201).send(created)
    },
  )

  app.get(
    '/api/provisioning-templates',
    {
      config: { scope: 'devices:read' },
      schema: { tags, summary: 'List provisioning templates', response: { 200: pageOf(TemplateSchema) } },
    },
    async () => itemsOf(await identity.listTemplates()),
  )

  versionedRecordRoutes(app, services, {
    path: '/api/provisioning-templates',
    tags,
    scopes: { read: 'devices:read', write: 'provisioning:write' },
    record: TemplateSchema,
    patchBody: TemplatePatchBody,
    summaries: {
      get: 'Get a provisioning template',
      update: 'Update a provisioning template',
      delete: 'Delete a provisioning template; its claim token stops working',
    },
    auditKind: 'template',
    get: (id) => identity.getTemplate(id),
    update: (id, patch, version) => identity.updateTemplate(id, patch, version),
    remove: (id, version) => identity.deleteTemplate(id, version),
  })
}

function grantRoutes(app: ApiInstance, services: ApiServices): void {
  const { identity } = services
  const tags = ['grants']

  app.get(
    '/api/devices/:id/grants',
    {
      config: { scope: 'devices:read' },
      schema: {
        tags,
        summary: 'List the topic grants of a device',
        params: IdParams,
        response: { 200: pageOf(GrantSchema) },
      },
    },
    async (request) => itemsOf(await identity.listGrants(request.params.id)),
  )

  app.post(
    '/api/devices/:id/grants',
    {
      config: { scope: 'credentials:write' },
      schema: {
        tags,
        summary: 'Let a device use a topic filter outside its own devices/{id}/ namespace',
        params: IdParams,
        body: NewGrantBody,
        response: { 201: GrantSchema },
      },
    },
    async (request, reply) => {
      const grant = await identity.addGrant(request.params.id, request.body)
      await audit(services, request, {
        action: 'grant.add',
        targetKind: 'grant',
        targetId: grant.id,
        details: { deviceId: grant.deviceId, topicFilter: grant.topicFilter, access: grant.access },
      })
      return reply.code(201).send(grant)
    },
  )

  app.delete(
    '/api/grants/:id',
    {
      config: { scope: 'credentials:write' },
      schema: { tags, summary: 'Remove a topic grant', params: IdParams, response: { 204: Deleted } },
    },
    async (request, reply) => {
      await identity.removeGrant(request.params.id)
      await audit(services, request, {
        action: 'grant.remove',
        targetKind: 'grant',
        targetId: request.params.id,
      })
      return reply.code(204).send(null)
    },
  )
}
