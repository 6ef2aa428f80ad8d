/**
 * A real API over real services on an in-memory SQLite database, driven with app.inject.
 * Users (scrypt-hashed, so slow) are created once per fixture: one admin through the setup
 * route, then an operator and a viewer, each logged in once.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TimeSeriesEngine } from '@strata/tsdb'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { pino } from 'pino'
import type { AccessService } from '../../src/access/service.js'
import { createAccessService } from '../../src/access/sqlite-access.js'
import { type ApiServerOptions, createApiServer } from '../../src/api/server.js'
import type { AuditLog } from '../../src/audit/model.js'
import { createAuditLog } from '../../src/audit/sqlite-audit.js'
import { DeviceTokenAuth } from '../../src/auth/device-token.js'
import type { IdentityService } from '../../src/identity/service.js'
import { createIdentityService } from '../../src/identity/sqlite-identity.js'
import { loadOrCreatePlatformCa } from '../../src/identity/x509/index.js'
import { SqliteEventStore } from '../../src/ingest/event-log.js'
import { DeliveryLedger } from '../../src/ingest/ledger.js'
import { TelemetryPipeline } from '../../src/ingest/pipeline.js'
import { PlatformMetrics } from '../../src/metrics.js'
import type { RegistryRepository } from '../../src/registry/repository.js'
import { SqliteDb } from '../../src/registry/sqlite-db.js'
import { sqliteRegistryOn } from '../../src/registry/sqlite-repository.js'

export const PASSWORDS = {
  admin: 'admin-password-123',
  operator: 'operator-password-123',
  viewer: 'viewer-password-123',
} as const

export interface FixtureOptions {
  rateLimit?: ApiServerOptions['rateLimit']
  bodyLimit?: number
  /** Create admin, operator and viewer and log them in. Default true. */
  users?: boolean
  ready?: () => boolean
}

export interface SendOptions {
  token?: string
  /** An object is sent as JSON; a string as is (set content-type yourself). */
  body?: unknown
  headers?: Record<string, string>
}

export interface Reply {
  status: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
  /** The body parsed as JSON (undefined if it is not JSON). */
  json: Record<string, unknown>
}

export interface Fixture {
  app: FastifyInstance
  db: SqliteDb
  registry: RegistryRepository
  access: AccessService
  identity: IdentityService
  audit: AuditLog
  metrics: PlatformMetrics
  /** Session tokens (empty when `users: false`). */
  tokens: { admin: string; operator: string; viewer: string }
  send(method: string, url: string, options?: SendOptions): Promise<Reply>
  close(): Promise<void>
}

function toReply(res: LightMyRequestResponse): Reply {
  let json: Record<string, unknown> = {}
  try {
    json = res.body === '' ? {} : (JSON.parse(res.body) as Record<string, unknown>)
  } catch {
    json = {}
  }
  return { status: res.statusCode, headers: res.headers, body: res.body, json }
}

export async function createFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-api-'))
  const db = new SqliteDb(':memory:', () => new Date())
  const registry = sqliteRegistryOn(db)
  // No token cache: a revocation must show in the next request of a test.
  const access = createAccessService({ db, cacheMs: 0 })
  const audit = createAuditLog(db)
  const identity = createIdentityService({ db, ca: await loadOrCreatePlatformCa(join(dir, 'ca')) })
  const metrics = new PlatformMetrics({ defaultMetrics: false })
  // Telemetry (ingest and queries) on a real engine, so every route is in the OpenAPI document.
  const engine = await TimeSeriesEngine.open(join(dir, 'tsdb'), { fsync: false, sealCheckMs: 0 })
  const events = new SqliteEventStore(join(dir, 'events.db'), { fsync: false, pruneEveryMs: 0 })
  const logger = pino({ level: 'silent' })
  const telemetry = new TelemetryPipeline({
    engine,
    events,
    ledger: new DeliveryLedger(),
    logger,
    typeOf: () => null,
    publishError: () => {},
  })
  const app = await createApiServer({
    registry,
    identity,
    access,
    audit,
    metrics,
    health: { ready: options.ready ?? (() => true), version: 'test' },
    logger,
    bodyLimit: options.bodyLimit,
    rateLimit: options.rateLimit,
    engine,
    telemetry,
    deviceTokens: new DeviceTokenAuth(identity),
  })

  const send = async (method: string, url: string, o: SendOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...o.headers }
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`
    const payload =
      o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body)
    if (payload !== undefined && typeof o.body !== 'string') headers['content-type'] ??= 'application/json'
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload === undefined ? {} : { payload }),
    })
    return toReply(res)
  }

  const tokens = { admin: '', operator: '', viewer: '' }
  if (options.users ?? true) {
    const setupToken = await access.createSetupToken(600_000)
    const setup = await send('POST', '/api/setup', {
      body: { token: setupToken, username: 'admin', password: PASSWORDS.admin },
    })
    if (setup.status !== 201) throw new Error(`setup failed: ${setup.body}`)
    for (const role of ['operator', 'viewer'] as const) {
      await access.createUser({ username: role, password: PASSWORDS[role], role })
    }
    for (const name of ['admin', 'operator', 'viewer'] as const) {
      tokens[name] = (await access.login(name, PASSWORDS[name], '127.0.0.1')).token
    }
  }

  return {
    app,
    db,
    registry,
    access,
    identity,
    audit,
    metrics,
    tokens,
    send,
    close: async () => {
      await app.close()
      telemetry.close()
      await events.close()
      await engine.close()
      await access.close()
      db.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
