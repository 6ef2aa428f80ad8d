import { join } from 'node:path'
import {
  type Broker,
  type BrokerStore,
  type ClientIdentity,
  createBroker,
  ensureDir,
  LogStore,
  MemoryStore,
} from '@strata/broker'
import { ReasonCode } from '@strata/protocol'
import { type EngineOptions, TimeSeriesEngine } from '@strata/tsdb'
import type { Logger } from 'pino'
import type { AccessService } from './access/service.js'
import { createAccessService } from './access/sqlite-access.js'
import { createApiServer, startApiListener } from './api/server.js'
import { createAuditLog } from './audit/sqlite-audit.js'
import { DeviceSecrets, DeviceTokenAuth } from './auth/device-token.js'
import { type AuthObserver, createMqttAuth, type MqttAuth, type MqttPrincipal } from './auth/mqtt-auth.js'
import { PasswordFile } from './auth/password-file.js'
import type { StrataConfig } from './config/schema.js'
import { StrataError } from './errors.js'
import { createDeviceRequests } from './identity/mqtt-requests.js'
import { createIdentityService, type IdentityBackend } from './identity/sqlite-identity.js'
import { loadOrCreatePlatformCa } from './identity/x509/index.js'
import { SqliteEventStore } from './ingest/event-log.js'
import { FlagTracker } from './ingest/flags.js'
import { DeliveryLedger } from './ingest/ledger.js'
import { createMqttIngest } from './ingest/mqtt-ingest.js'
import { type NumericStore, TelemetryPipeline } from './ingest/pipeline.js'
import { ProfileCache } from './ingest/profiles.js'
import { TypeRetention } from './ingest/retention.js'
import { type AuthTransport, PlatformMetrics } from './metrics.js'
import { observeRegistry } from './registry/observed.js'
import type { RegistryRepository } from './registry/repository.js'
import { SqliteDb } from './registry/sqlite-db.js'
import { sqliteRegistryOn } from './registry/sqlite-repository.js'
import { StatusTracker } from './registry/status-tracker.js'
import type { Listener } from './transports/listener.js'
import { startTcpListener } from './transports/tcp.js'
import { loadTlsOptions, startTlsListener } from './transports/tls.js'
import { startWebSocketListener } from './transports/websocket.js'
import { VERSION } from './version.js'

export interface RunningPlatform {
  broker: Broker
  registry: RegistryRepository
  identity: IdentityBackend
  access: AccessService
  /** The time-series engine (telemetry), under <dataDir>/tsdb. */
  engine: TimeSeriesEngine
  /** Telemetry from any transport: decode, store, count (ingest/pipeline.ts). */
  telemetry: TelemetryPipeline
  ledger: DeliveryLedger
  listeners: Listener[]
  /** A one-time token to create the first admin (POST /api/setup), while no user exists. */
  setupToken: string | null
  /** Users in the password file at start. */
  users: number
  /** String telemetry, under <dataDir>/events.db. */
  events: SqliteEventStore
  /**
   * Graceful shutdown: stop accepting, DISCONNECT 0x8B to MQTT 5 clients,
   * flush and close the store. Safe to call twice.
   */
  stop(): Promise<void>
}

const TRANSPORT_LABEL: Record<string, AuthTransport> = { tcp: 'mqtt', tls: 'mqtts', ws: 'ws', wss: 'wss' }

/** Metric label of a CONNACK refusal: a fixed word per reason code, so series stay bounded. */
function reasonLabel(reasonCode: number): string {
  switch (reasonCode) {
    case ReasonCode.BadUserNameOrPassword:
      return 'bad_credentials'
    case ReasonCode.NotAuthorized:
      return 'not_authorized'
    case ReasonCode.ClientIdentifierNotValid:
      return 'client_id_not_valid'
    default:
      return 'other'
  }
}

/**
 * Creates the data directory (and the journal's folder) up front, so that a
 * file in their place or a read-only disk is one line naming the path rather
 * than an EEXIST stack trace from deep inside the store.
 */
async function prepareDataDir(config: Readonly<StrataConfig>): Promise<void> {
  const dirs = config.persistence ? [config.dataDir, join(config.dataDir, 'broker')] : [config.dataDir]
  for (const dir of dirs) {
    try {
      await ensureDir(dir)
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code
      const why =
        code === 'EEXIST' || code === 'ENOTDIR'
          ? 'a file is in the way (it must be a directory)'
          : (cause as Error).message
      throw new StrataError(
        'STRATA_DATA_DIR_UNUSABLE',
        `cannot use ${dir} as the data directory: ${why}; choose another with --data-dir DIR`,
        { cause },
      )
    }
  }
}

/**
 * Starts the platform on one machine: broker (state journaled under
 * <dataDir>/broker), authentication, and every configured listener. If any
 * step fails, what was started is stopped again before the error is thrown.
 */
/** For tests: what startPlatform builds can be wrapped before use. */
export interface PlatformTestHooks {
  /** Where the pipeline writes numeric points (default: the engine itself), e.g. a slowed engine. */
  numericStore?: (engine: TimeSeriesEngine) => NumericStore
  /** The engine's clock and check interval: retention tested without waiting days. */
  engine?: Pick<EngineOptions, 'now' | 'sealCheckMs'>
}

export async function startPlatform(
  config: Readonly<StrataConfig>,
  logger: Logger,
  testHooks: PlatformTestHooks = {},
): Promise<RunningPlatform> {
  await prepareDataDir(config)
  // Check the TLS files before anything listens, so a wrong one stops the start cleanly.
  const tls = config.tls.cert && config.tls.key ? await loadTlsOptions(config.tls) : undefined
  const store: BrokerStore = config.persistence
    ? new LogStore({ dir: join(config.dataDir, 'broker') })
    : new MemoryStore()
  const passwords = await PasswordFile.load(config.passwordFile)
  const ca = await loadOrCreatePlatformCa(join(config.dataDir, 'ca'))
  // Registry, identity, access and audit share one SQLite file: one backup, one transaction scope.
  const db = new SqliteDb(join(config.dataDir, 'registry.db'), () => new Date())
  const closeDb = (): void => db.close()
  let broker: Broker | undefined
  const principalOf = (client: ClientIdentity): MqttPrincipal =>
    (client.principal as MqttPrincipal | undefined) ?? { kind: 'anonymous' }
  /** Cuts off the clients `match` picks, without their wills: a revoked identity speaks no more. */
  const kick = (match: (p: MqttPrincipal) => boolean, reason: string): void => {
    const n = broker?.disconnectWhere(
      (client) => match(principalOf(client)),
      ReasonCode.NotAuthorized,
      reason,
      {
        discardWill: true,
      },
    )
    if (n) logger.info({ clients: n, reason }, 'disconnected clients')
  }
  const baseRegistry = sqliteRegistryOn(db)
  // Device types compiled for the message path; kept current by the observer below.
  const profiles = new ProfileCache((id) => baseRegistry.getDeviceType(id).catch(() => null))
  // Which device types keep their telemetry for how long (the engine's retention classes).
  const retention = new TypeRetention(config.telemetry.retention)
  for (const type of await baseRegistry.listDeviceTypes()) {
    profiles.set(type)
    retention.set(type.id, type)
  }
  // A device's type, for the ledger's labels and its profile: read once, again at each connect
  // and whenever the device is updated.
  const typeCache = new Map<string, string | null>()
  const registry = observeRegistry(baseRegistry, {
    deviceUpdated: (device) => typeCache.delete(device.id),
    deviceTypeChanged: (id, type) => {
      if (type === null) profiles.delete(id)
      else profiles.set(type)
      retention.set(id, type)
    },
    deviceRevoked: (id, why) => {
      kick((p) => p.kind === 'device' && p.deviceId === id, `device ${why}`)
      // A deleted device's session goes too: a device later created with the same id starts afresh.
      if (why === 'deleted') broker?.endSession(id, ReasonCode.NotAuthorized, 'device deleted')
    },
  })
  const identity = createIdentityService({ db, ca })
  const access = createAccessService({ db })
  const audit = createAuditLog(db)
  const status = new StatusTracker({ registry: baseRegistry, logger: logger.child({ component: 'status' }) })
  await status.reset()
  /** A device's type, for the ledger's labels, its profile and its new series' retention class. */
  const typeOf = (deviceId: string): string | null => {
    let type = typeCache.get(deviceId)
    if (type === undefined) {
      type = identity.deviceTypeOf(deviceId) ?? null
      typeCache.set(deviceId, type)
    }
    return type
  }
  const engineLog = logger.child({ component: 'tsdb' })
  const engine = await TimeSeriesEngine.open(join(config.dataDir, 'tsdb'), {
    ...testHooks.engine,
    retention: retention.defaultRetention(),
    retentionClasses: retention.engineClasses(),
    // Asked synchronously by write() for a series it has not seen: the type comes from the cache.
    retentionClassOf: (_key, device) => retention.classOf(typeOf(device)),
    ...(config.telemetry.archive ? { archive: { query: true } } : {}),
    onError: (err: unknown) =>
      engineLog.error({ err: (err as Error).message }, 'background seal or retention failed; retrying'),
  })
  // Classes in storage whose type is gone or has no retention any more follow the defaults.
  retention.addKnown((await engine.partitions()).map((p) => p.retentionClass ?? 'default'))
  retention.applyTo((classes) => {
    try {
      engine.setRetentionClasses(classes)
    } catch (err) {
      // Only after stop() (a type changed while shutting down): the next start applies it.
      engineLog.warn({ err: (err as Error).message }, 'retention classes not updated')
    }
  })
  const ledger = new DeliveryLedger()
  const eventsLog = logger.child({ component: 'events' })
  const events = new SqliteEventStore(join(config.dataDir, 'events.db'), {
    retentionMs: config.telemetry.eventRetentionDays * 24 * 60 * 60 * 1000,
    maxEvents: config.telemetry.maxEvents,
    onError: (err: unknown) =>
      eventsLog.error({ err: (err as Error).message }, 'event retention failed; retrying'),
  })

  const operatorCaPem = tls?.ca === undefined ? undefined : String(tls.ca)
  const metrics = new PlatformMetrics({ brokerStats: () => broker?.stats() })
  const observer: AuthObserver = {
    authFailed: (transport, reasonCode) =>
      metrics.authFailures.inc({
        transport: TRANSPORT_LABEL[transport] ?? 'mqtt',
        reason: reasonLabel(reasonCode),
      }),
    aclDenied: (action, principal) =>
      metrics.aclDenials.inc({ action, principal: principal === 'anonymous' ? 'user' : principal }),
  }
  // One set of device token checks for MQTT and HTTP: one failure window per device for both.
  const deviceSecrets = new DeviceSecrets()
  const auth: MqttAuth = createMqttAuth({
    passwordFile: passwords,
    allowAnonymous: config.allowAnonymous,
    logger,
    identity,
    ...(operatorCaPem === undefined ? {} : { operatorCaPem }),
    observer,
    deviceSecrets,
  })
  identity.onRevoked((credential) =>
    kick((p) => p.kind === 'device' && p.credentialId === credential.id, 'credential revoked'),
  )
  identity.onGrantsChanged((deviceId) => {
    auth.refreshGrants(deviceId)
    // Subscriptions made under a grant that is gone end now, not at the next reconnect.
    broker?.reauthorizeSubscriptions((client) => {
      const p = principalOf(client)
      return p.kind === 'device' && p.deviceId === deviceId
    })
  })
  const deviceRequests = createDeviceRequests({
    identity,
    registry,
    audit,
    logger: logger.child({ component: 'device-requests' }),
    publish: (message) => (broker as Broker).publish(message),
    onProvisioned: () => metrics.provisioned.inc(),
  })
  ledger.onCount((deviceType, stage, messages, points) => {
    if (messages > 0) metrics.telemetryMessages.inc({ device_type: deviceType, stage }, messages)
    if (points > 0) metrics.telemetryPoints.inc({ device_type: deviceType, stage }, points)
  })
  const publishError = (deviceId: string, payload: Buffer): void => {
    ;(broker as Broker)
      .publish({ topic: `devices/${deviceId}/errors`, payload, qos: 0, retain: false })
      .catch(() => undefined)
  }
  const flags = new FlagTracker({
    publish: (deviceId, event) => publishError(deviceId, Buffer.from(JSON.stringify(event))),
    onFlag: (deviceType, reason, points) =>
      metrics.telemetryFlagged.inc({ device_type: deviceType, reason }, points),
    onEvent: (outcome) => metrics.telemetryFlagEvents.inc({ outcome }),
  })
  const telemetry = new TelemetryPipeline({
    engine: testHooks.numericStore?.(engine) ?? engine,
    events,
    ledger,
    profileOf: (typeId) => profiles.get(typeId),
    flags,
    backPressure: config.telemetry,
    logger: logger.child({ component: 'ingest' }),
    typeOf,
    publishError,
  })
  metrics.observeTelemetry(() => telemetry.state())
  const ingestTelemetry = createMqttIngest(telemetry)
  const deviceOf = (principal: unknown): string | undefined => {
    const p = principal as MqttPrincipal | undefined
    return p?.kind === 'device' ? p.deviceId : undefined
  }
  try {
    broker = await createBroker({
      store,
      hooks: {
        ...auth.hooks,
        onConnect(client) {
          auth.connected(client)
          const id = deviceOf(client.principal)
          if (id !== undefined) {
            status.connected(id)
            typeCache.delete(id)
          }
        },
        onDisconnect(client) {
          auth.released(client)
          const id = deviceOf(client.principal)
          if (id !== undefined) status.disconnected(id)
        },
        onPublish: deviceRequests,
        ingest: ingestTelemetry,
      },
      limits: config.limits,
      logger: logger.child({ component: 'broker' }),
      sysInterval: config.sysInterval,
      version: `strata ${VERSION}`,
    })
  } catch (err) {
    auth.close()
    await status.close()
    telemetry.close()
    await events.close()
    await engine.close()
    closeDb()
    throw err
  }
  const running: Broker = broker
  const setupToken = (await access.hasUsers()) ? null : await access.createSetupToken(24 * 60 * 60 * 1000)

  /** Client certificates verify against the operator's --tls-ca, the platform CA and every registered CA. */
  const trustedCas = async (): Promise<string[]> => [
    ...(operatorCaPem === undefined ? [] : [operatorCaPem]),
    ...(await identity.listAuthorities()).map((a) => a.certificatePem),
  ]
  if (tls) tls.ca = await trustedCas()
  identity.onAuthoritiesChanged(() => {
    trustedCas().then(
      (cas) => {
        for (const l of listeners) l.setTrustedCas?.(cas)
      },
      (err: Error) => logger.error({ err: err.message }, 'trusted CA list not updated'),
    )
  })

  const listeners: Listener[] = []
  let ready = false
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ready = false
      // Stop accepting first; the broker then ends the connections it holds.
      const closing = listeners.map((l) => l.close())
      await running.close()
      await Promise.all(closing)
      telemetry.close()
      await events.close()
      await engine.close()
      await status.close()
      auth.close()
      await access.close()
      closeDb()
    })()
    return stopping
  }

  try {
    const { host } = config
    if (config.mqtt.port !== null)
      listeners.push(await startTcpListener(running, config.mqtt.port, host, logger))
    if (tls) {
      if (config.mqtts.port !== null)
        listeners.push(await startTlsListener(running, config.mqtts.port, host, tls, logger))
      if (config.wss.port !== null)
        listeners.push(await startWebSocketListener(running, config.wss.port, host, logger, tls))
    }
    if (config.ws.port !== null)
      listeners.push(await startWebSocketListener(running, config.ws.port, host, logger))
    if (config.http.port !== null) {
      const api = await createApiServer({
        registry,
        identity,
        access,
        audit,
        metrics,
        health: { ready: () => ready, version: VERSION, broker: () => running.stats() },
        logger,
        engine,
        telemetry,
        deviceTokens: new DeviceTokenAuth(identity, deviceSecrets),
      })
      listeners.push(await startApiListener(api, config.http.port, host, logger))
    }
  } catch (err) {
    await stop()
    throw err
  }
  ready = true
  return {
    broker: running,
    registry,
    identity,
    access,
    engine,
    telemetry,
    ledger,
    listeners,
    setupToken,
    users: passwords.size,
    events,
    stop,
  }
}
