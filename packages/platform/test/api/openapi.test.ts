import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { pino } from 'pino'
import { SCOPES } from '../../src/access/model.js'
import { createApiServer } from '../../src/api/server.js'
import { createFixture, type Fixture } from './fixture.js'

/** Every operation the API serves; a route added without updating this list fails the test. */
const EXPECTED = [
  'GET /health',
  'GET /ready',
  'GET /metrics',
  'POST /api/setup',
  'POST /api/auth/login',
  'POST /api/auth/logout',
  'POST /api/auth/password',
  'GET /api/auth/me',
  'GET /api/users',
  'POST /api/users',
  'GET /api/users/{username}',
  'PATCH /api/users/{username}',
  'DELETE /api/users/{username}',
  'POST /api/api-keys',
  'GET /api/api-keys',
  'GET /api/api-keys/{id}',
  'DELETE /api/api-keys/{id}',
  'POST /api/devices',
  'GET /api/devices',
  'GET /api/devices/{id}',
  'PATCH /api/devices/{id}',
  'DELETE /api/devices/{id}',
  'GET /api/devices/{id}/status',
  'POST /api/device-types',
  'GET /api/device-types',
  'GET /api/device-types/{id}',
  'PATCH /api/device-types/{id}',
  'DELETE /api/device-types/{id}',
  'POST /api/groups',
  'GET /api/groups',
  'GET /api/groups/{id}',
  'PATCH /api/groups/{id}',
  'DELETE /api/groups/{id}',
  'GET /api/devices/{id}/credentials',
  'POST /api/devices/{id}/credentials',
  'GET /api/credentials/{id}',
  'POST /api/credentials/{id}/revoke',
  'GET /api/certificate-authorities',
  'POST /api/certificate-authorities',
  'GET /api/certificate-authorities/{id}',
  'DELETE /api/certificate-authorities/{id}',
  'POST /api/provisioning-templates',
  'GET /api/provisioning-templates',
  'GET /api/provisioning-templates/{id}',
  'PATCH /api/provisioning-templates/{id}',
  'DELETE /api/provisioning-templates/{id}',
  'GET /api/devices/{id}/grants',
  'POST /api/devices/{id}/grants',
  'DELETE /api/grants/{id}',
  'GET /api/audit',
  'POST /api/devices/{id}/telemetry',
  'GET /api/devices/{id}/telemetry',
  'GET /api/devices/{id}/telemetry/{metric}',
  'GET /api/telemetry/latest',
  'POST /api/telemetry/query',
  'GET /api/devices/{id}/events',
  'GET /api/telemetry/ledger',
]

const PUBLIC = new Set([
  'GET /health',
  'GET /ready',
  'GET /metrics',
  'POST /api/setup',
  'POST /api/auth/login',
])

type Json = Record<string, unknown>
interface Operation {
  security?: Record<string, string[]>[]
  requestBody?: { content: Record<string, { schema: Json }> }
  responses: Record<string, unknown>
  summary?: string
  tags?: string[]
}

describe('OpenAPI document', () => {
  let f: Fixture
  let doc: Json
  before(async () => {
    f = await createFixture({ users: false })
    const r = await f.send('GET', '/api/openapi.json')
    assert.equal(r.status, 200)
    doc = r.json
  })
  after(() => f.close())

  const operations = (): [string, Operation][] =>
    Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]),
    )

  test('is OpenAPI 3.1 with info and a bearer scheme', () => {
    assert.equal(doc.openapi, '3.1.0')
    const info = doc.info as Json
    assert.equal(info.title, 'Strata API')
    assert.equal(typeof info.version, 'string')
    const components = doc.components as { securitySchemes: Json; schemas: Json }
    assert.deepEqual(components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' })
    assert.ok(components.schemas.Error)
  })

  test('lists every route, and only those (no HEAD twins, no swagger-ui files)', () => {
    assert.deepEqual(
      operations()
        .map(([k]) => k)
        .sort(),
      [...EXPECTED].sort(),
    )
  })

  test('every operation: a summary, a tag, a success and an error response, its scope', () => {
    for (const [key, op] of operations()) {
      assert.ok(op.summary, `${key}: summary`)
      assert.ok(op.tags?.length, `${key}: tags`)
      const codes = Object.keys(op.responses)
      assert.ok(
        codes.some((c) => /^2/.test(c)),
        `${key}: a 2xx response`,
      )
      assert.ok(codes.includes('4XX') && codes.includes('5XX'), `${key}: error responses (${codes})`)
      if (PUBLIC.has(key)) {
        assert.equal(op.security, undefined, `${key} is public`)
        continue
      }
      const scopes = op.security?.[0]?.bearer
      assert.ok(scopes, `${key}: security`)
      for (const s of scopes) assert.ok((SCOPES as readonly string[]).includes(s), `${key}: scope ${s}`)
      assert.ok(scopes.length <= 1, `${key}: one scope at most`)
    }
  })

  test('request bodies are JSON objects that refuse unknown fields', () => {
    for (const [key, op] of operations()) {
      if (!op.requestBody) continue
      const schema = op.requestBody.content['application/json']?.schema
      assert.ok(schema, `${key}: JSON body`)
      const top = schema.anyOf ? (schema.anyOf as Json[]) : [schema]
      for (const s of top) assert.equal(s.additionalProperties, false, `${key}: additionalProperties`)
    }
  })

  test('swagger-ui is served, unauthenticated', async () => {
    const r = await f.send('GET', '/api/docs/')
    assert.equal(r.status, 200)
    assert.match(String(r.headers['content-type']), /text\/html/)
  })

  test('a route added without a scope is refused when it is registered', async () => {
    const app = await createApiServer({
      registry: f.registry,
      identity: f.identity,
      access: f.access,
      audit: f.audit,
      metrics: f.metrics,
      health: { ready: () => true, version: 'test' },
      logger: pino({ level: 'silent' }),
    })
    try {
      assert.throws(() => app.get('/api/forgotten', async () => 'open'), /declares no scope/)
      app.get('/api/remembered', { config: { scope: 'audit:read' } }, async () => 'closed')
      const r = await app.inject({ method: 'GET', url: '/api/remembered' })
      assert.equal(r.statusCode, 401)
    } finally {
      await app.close()
    }
  })
})
