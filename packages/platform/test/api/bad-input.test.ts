import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import { AccessDeniedError, RateLimitedError } from '../../src/access/errors.js'
import { SCOPES, type Scope } from '../../src/access/model.js'
import { API_ERROR_CODES, ApiError, mapError } from '../../src/api/errors.js'
import { X509Error } from '../../src/identity/x509/index.js'
import {
  AlreadyExistsError,
  ConflictError,
  InUseError,
  NotFoundError,
  SchemaError,
  SelectorError,
  ValidationError,
} from '../../src/registry/errors.js'
import { createFixture, type Fixture, type Reply, type SendOptions } from './fixture.js'

// Walks EVERY operation of /api/openapi.json and sends it what a careless or hostile client
// would: malformed JSON, wrong types, an oversized body, unknown fields, a wrong content type,
// bad path and query values, no Authorization, a token without the route's scope. Each must
// be a 4xx in the API's error shape ({ statusCode, code, message }), never a 500.

type Json = Record<string, unknown>
interface Operation {
  security?: Record<string, string[]>[]
  requestBody?: { content: Record<string, { schema: Json }> }
  parameters?: { in: string; name: string; schema: Json }[]
}
interface Case {
  name: string
  options: SendOptions
  url?: string
  /** Expected status and code, when one is certain. */
  status?: number
  code?: string
}

const BODY_LIMIT = 64 * 1024
const SAMPLE_ID = 'bad-input-1'

/** A value of the wrong JSON type for a schema. */
function wrongValue(schema: Json): unknown {
  const type = schema.type ?? (schema.anyOf as Json[] | undefined)?.[0]?.type
  switch (type) {
    case 'string':
      return 12345
    case 'integer':
    case 'number':
      return 'not a number'
    case 'boolean':
      return 'yes'
    case 'array':
      return { not: 'an array' }
    case 'object':
      return ['not', 'an', 'object']
    default:
      return { unexpected: true }
  }
}

const hasRequired = (schema: Json): boolean =>
  Array.isArray(schema.required) ? schema.required.length > 0 : Array.isArray(schema.anyOf)

/** The object schema of a body (the first branch of a union). */
function objectSchema(schema: Json): Json {
  return (schema.anyOf as Json[] | undefined)?.[0] ?? schema
}

function casesFor(op: Operation, authToken: string, lackingToken: string | undefined): Case[] {
  const auth = authToken ? { token: authToken } : {}
  const cases: Case[] = []
  const body = op.requestBody?.content['application/json']?.schema
  const json = { 'content-type': 'application/json' }
  if (body) {
    cases.push(
      {
        name: 'malformed JSON',
        options: { ...auth, body: '{"id": "x",', headers: json },
        status: 400,
        code: 'STRATA_API_MALFORMED_JSON',
      },
      {
        name: 'prototype poisoning',
        options: { ...auth, body: '{"__proto__": {"admin": true}}', headers: json },
        status: 400,
        code: 'STRATA_API_MALFORMED_JSON',
      },
      { name: 'empty JSON body', options: { ...auth, body: '', headers: json }, status: 400 },
      // A body whose fields are all optional may be left out (POST /api/credentials/{id}/revoke).
      ...(hasRequired(body) ? [{ name: 'no body at all', options: { ...auth }, status: 400 }] : []),
      { name: 'a JSON array', options: { ...auth, body: [] }, status: 400 },
      { name: 'a JSON string', options: { ...auth, body: '"text"', headers: json }, status: 400 },
      { name: 'JSON null', options: { ...auth, body: 'null', headers: json }, status: 400 },
      {
        name: 'oversized body',
        options: { ...auth, body: JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT) }), headers: json },
        status: 413,
        code: 'STRATA_API_BODY_TOO_LARGE',
      },
      {
        name: 'unknown field',
        options: { ...auth, body: { zzUnknownField: 1 } },
        status: 400,
        code: 'STRATA_API_INVALID_REQUEST',
      },
      {
        name: 'text/plain content type',
        options: { ...auth, body: 'hello', headers: { 'content-type': 'text/plain' } },
        status: 415,
        code: 'STRATA_API_UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'form content type',
        options: { ...auth, body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        status: 415,
      },
    )
    const properties = (objectSchema(body).properties ?? {}) as Record<string, Json>
    for (const [prop, schema] of Object.entries(properties)) {
      cases.push({
        name: `wrong type for ${prop}`,
        options: { ...auth, body: { [prop]: wrongValue(schema) } },
        status: 400,
      })
    }
  }
  for (const p of op.parameters ?? []) {
    if (p.in === 'query') {
      // Every query value is text: only a non-string parameter can get the wrong type.
      if (p.schema.type !== 'string') {
        cases.push({
          name: `wrong type for query ${p.name}`,
          options: auth,
          url: `?${p.name}=${encodeURIComponent(String(wrongValue(p.schema)))}`,
          status: 400,
        })
      }
      cases.push({ name: `oversized query ${p.name}`, options: auth, url: `?${p.name}=${'q'.repeat(5000)}` })
    }
  }
  if (op.parameters?.some((p) => p.in === 'query')) {
    cases.push({ name: 'unknown query parameter', options: auth, url: '?zzUnknown=1', status: 400 })
  }
  const scopes = op.security?.[0]?.bearer
  if (scopes) {
    cases.push(
      { name: 'no Authorization', options: {}, status: 401, code: 'STRATA_API_UNAUTHENTICATED' },
      {
        name: 'unknown bearer',
        options: { token: `stk_${'f'.repeat(16)}_${'A'.repeat(43)}` },
        status: 401,
        code: 'STRATA_API_UNAUTHENTICATED',
      },
      {
        name: 'Basic instead of Bearer',
        options: { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } },
        status: 401,
      },
      { name: 'empty Bearer', options: { headers: { authorization: 'Bearer ' } }, status: 401 },
    )
    if (lackingToken) {
      cases.push({
        name: `token without ${scopes[0]}`,
        options: { token: lackingToken },
        status: 403,
        code: 'STRATA_API_FORBIDDEN',
      })
    }
  }
  return cases
}

describe('API: bad input on every operation', () => {
  let f: Fixture
  let doc: { paths: Record<string, Record<string, Operation>> }
  /** Per scope, an admin-owned API key with every scope but that one. */
  const lacking = new Map<Scope, string>()

  before(async () => {
    f = await createFixture({
      bodyLimit: BODY_LIMIT,
      rateLimit: { perKeyPerMinute: 100_000, perAddressPerMinute: 100_000 },
    })
    doc = (await f.send('GET', '/api/openapi.json')).json as typeof doc
    for (const scope of SCOPES) {
      const { key } = await f.access.createApiKey({
        name: `without ${scope}`,
        owner: 'admin',
        scopes: SCOPES.filter((s) => s !== scope),
      })
      lacking.set(scope, key)
    }
    await f.registry.createDevice({ id: SAMPLE_ID })
  })
  after(() => f.close())

  test('every operation answers every bad request with a 4xx error body, never a 500', async () => {
    let checked = 0
    const failures: string[] = []
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const scope = op.security?.[0]?.bearer?.[0] as Scope | undefined
        const token = op.security ? f.tokens.admin : ''
        const base = path.replace(/\{[^}]+\}/g, SAMPLE_ID)
        const bad = path.includes('{')
          ? [
              { url: path.replace(/\{[^}]+\}/g, 'has%20space'), label: 'id with a space' },
              { url: path.replace(/\{[^}]+\}/g, 'x'.repeat(300)), label: 'id too long' },
              { url: path.replace(/\{[^}]+\}/g, '%2e%2e'), label: 'dot-dot id' },
            ]
          : []
        const all: Case[] = [
          ...casesFor(op, token, scope ? lacking.get(scope) : undefined),
          ...bad.map((b) => ({ name: b.label, options: token ? { token } : {}, url: b.url })),
        ]
        for (const c of all) {
          const url = c.url?.startsWith('/') ? c.url : `${base}${c.url ?? ''}`
          const label = `${method.toUpperCase()} ${path} [${c.name}]`
          let reply: Reply
          try {
            reply = await f.send(method.toUpperCase(), url, c.options)
          } catch (err) {
            failures.push(`${label}: threw ${(err as Error).message}`)
            continue
          }
          checked++
          const problems: string[] = []
          // Public GETs (health, metrics) ignore what they do not use: a 2xx is fine there.
          const tolerated = !op.security && !op.requestBody && reply.status < 300
          if (!tolerated) {
            if (reply.status < 400 || reply.status >= 500) problems.push(`status ${reply.status}`)
            if (c.status !== undefined && reply.status !== c.status)
              problems.push(`status ${reply.status} ≠ ${c.status}`)
            if (typeof reply.json.code !== 'string' || !/^STRATA_[A-Z0-9_]+$/.test(reply.json.code)) {
              problems.push('no code')
            }
            if (c.code !== undefined && reply.json.code !== c.code)
              problems.push(`code ${reply.json.code} ≠ ${c.code}`)
            if (typeof reply.json.message !== 'string' || reply.json.message === '')
              problems.push('no message')
            if (reply.json.statusCode !== reply.status) problems.push('statusCode differs from the status')
            if (/\bat .+:\d+:\d+/.test(reply.body)) problems.push('a stack trace')
          }
          if (problems.length > 0)
            failures.push(`${label}: ${problems.join(', ')} — ${reply.body.slice(0, 200)}`)
        }
      }
    }
    assert.deepEqual(failures, [])
    assert.ok(checked > 400, `only ${checked} requests checked`)
  })

  test('validation errors name the field', async () => {
    const r = await f.send('POST', '/api/devices', {
      token: f.tokens.admin,
      body: { id: 'ok', enabled: 'yes' },
    })
    assert.equal(r.status, 400)
    assert.equal(r.json.field, 'body.enabled')
    assert.match(String(r.json.message), /body\.enabled/)
    const unknown = await f.send('PATCH', `/api/devices/${SAMPLE_ID}`, {
      token: f.tokens.admin,
      body: { nmae: 'typo' },
    })
    assert.equal(unknown.json.field, 'body.nmae')
    assert.match(String(unknown.json.message), /not a known field/)
    const nested = await f.send('POST', '/api/device-types', {
      token: f.tokens.admin,
      body: { id: 't', telemetry: [{ metric: 'x', valueType: 'complex' }] },
    })
    assert.equal(nested.status, 400)
    assert.equal(nested.json.field, 'body.telemetry.0.valueType')
    // A device type's retention: each resolution 1 to 36,500 whole days, no other field.
    const retention: Array<[unknown, string, RegExp]> = [
      [{ rawDays: 0 }, 'body.retention.rawDays', />= 1/],
      [{ minuteDays: 36_501 }, 'body.retention.minuteDays', /<= 36500/],
      [{ hourDays: 1.5 }, 'body.retention.hourDays', /integer/],
      [{ rawMs: 86_400_000 }, 'body.retention.rawMs', /not a known field/],
      ['7d', 'body.retention', /object/],
    ]
    for (const [value, field, message] of retention) {
      for (const [method, path] of [
        ['POST', '/api/device-types'],
        ['PATCH', '/api/device-types/kept'],
      ] as const) {
        const r = await f.send(method, path, {
          token: f.tokens.admin,
          body: method === 'POST' ? { id: 'kept', retention: value } : { retention: value },
        })
        assert.equal(r.status, 400, `${method} ${JSON.stringify(value)}`)
        assert.equal(r.json.field, field)
        assert.match(String(r.json.message), message)
      }
    }
  })

  test('still serves normally after all of that', async () => {
    const r = await f.send('GET', `/api/devices/${SAMPLE_ID}`, { token: f.tokens.viewer })
    assert.equal(r.status, 200)
  })
})

describe('API errors', () => {
  // Like the platform's catalogue test: the codes in code and in docs/api.md agree.
  test('every STRATA_API_* code is in the table of docs/api.md, and only those', async () => {
    const doc = await readFile(new URL('../../../../docs/api.md', import.meta.url), 'utf8')
    const documented = [...doc.matchAll(/^\| `(STRATA_API_[A-Z_]+)`\s*\|/gm)].map((m) => m[1])
    assert.deepEqual([...documented].sort(), [...API_ERROR_CODES].sort())
  })

  test('domain errors map to their status and keep their code', () => {
    const cases: [Error, number, string][] = [
      [new ValidationError('tags.floor', 'bad'), 400, 'STRATA_REGISTRY_INVALID'],
      [new SelectorError(3, 'a term', 'x'), 400, 'STRATA_REGISTRY_SELECTOR'],
      [new NotFoundError('device', 'd'), 404, 'STRATA_REGISTRY_NOT_FOUND'],
      [new AlreadyExistsError('device', 'd'), 409, 'STRATA_REGISTRY_EXISTS'],
      [new ConflictError('device', 'd', 1, 2), 412, 'STRATA_REGISTRY_CONFLICT'],
      [new InUseError('device type', 't', 2), 409, 'STRATA_REGISTRY_IN_USE'],
      [new AccessDeniedError(), 401, 'STRATA_ACCESS_DENIED'],
      [new RateLimitedError(7), 429, 'STRATA_ACCESS_RATE_LIMITED'],
      [new X509Error('STRATA_X509_INVALID', 'not a CSR'), 400, 'STRATA_X509_INVALID'],
    ]
    for (const [err, status, code] of cases) {
      const m = mapError(err)
      assert.equal(m.body.statusCode, status, code)
      assert.equal(m.body.code, code)
      assert.equal(m.body.message, err.message)
      assert.equal(m.serverFault, false)
    }
    assert.equal(mapError(new ValidationError('tags.floor', 'bad')).body.field, 'tags.floor')
    assert.equal(mapError(new RateLimitedError(7)).headers['retry-after'], '7')
    assert.equal(mapError(new AccessDeniedError()).headers['www-authenticate'], 'Bearer')
  })

  test('anything unexpected is a generic 500 that leaks nothing', () => {
    for (const err of [
      new Error('SQLITE_CORRUPT at /var/lib/strata/registry.db'),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      new SchemaError('database written by a newer Strata'),
      new X509Error('STRATA_X509_CA_UNUSABLE', 'ca-key.pem unreadable'),
      'a string',
      undefined,
      { code: 'STRATA_REGISTRY_NOT_FOUND' },
    ]) {
      const m = mapError(err)
      assert.deepEqual(m.body, { statusCode: 500, code: 'STRATA_API_INTERNAL', message: 'internal error' })
      assert.equal(m.serverFault, true)
    }
  })

  test('ApiError passes through with its field', () => {
    const m = mapError(new ApiError(400, 'STRATA_API_INVALID_REQUEST', 'If-Match bad', 'headers.if-match'))
    assert.deepEqual(m.body, {
      statusCode: 400,
      code: 'STRATA_API_INVALID_REQUEST',
      message: 'If-Match bad',
      field: 'headers.if-match',
    })
  })
})
