import { join } from 'node:path'
import {
  type Broker,
  type BrokerStore,
  createBroker,
  ensureDir,
  type Logger,
  LogStore,
  MemoryStore,
} from '@strata/broker'
import { createMqttAuth, type MqttAuth } from './auth/mqtt-auth.js'
import { PasswordFile } from './auth/password-file.js'
import type { StrataConfig } from './config/schema.js'
import { StrataError } from './errors.js'
import { startHttpListener } from './http/health.js'
import type { Listener } from './transports/listener.js'
import { startTcpListener } from './transports/tcp.js'
import { loadTlsOptions, startTlsListener } from './transports/tls.js'
import { startWebSocketListener } from './transports/websocket.js'
import { VERSION } from './version.js'

export interface RunningPlatform {
  broker: Broker
  listeners: Listener[]
  /** Users in the password file at start. */
  users: number
  /**
   * Graceful shutdown: stop accepting, DISCONNECT 0x8B to MQTT 5 clients,
   * flush and close the store. Safe to call twice.
   */
  stop(): Promise<void>
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
export async function startPlatform(
  config: Readonly<StrataConfig>,
  logger: Logger,
): Promise<RunningPlatform> {
  await prepareDataDir(config)
  // Check the TLS files before anything listens, so a wrong one stops the start cleanly.
  const tls = config.tls.cert && config.tls.key ? await loadTlsOptions(config.tls) : undefined
  const store: BrokerStore = config.persistence
    ? new LogStore({ dir: join(config.dataDir, 'broker') })
    : new MemoryStore()
  const passwords = await PasswordFile.load(config.passwordFile)
  const auth: MqttAuth = createMqttAuth({
    passwordFile: passwords,
    allowAnonymous: config.allowAnonymous,
    logger,
  })
  let broker: Broker
  try {
    broker = await createBroker({
      store,
      hooks: auth.hooks,
      limits: config.limits,
      logger: logger.child({ component: 'broker' }),
      sysInterval: config.sysInterval,
      version: `strata ${VERSION}`,
    })
  } catch (err) {
    auth.close()
    throw err
  }

  const listeners: Listener[] = []
  let ready = false
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ready = false
      // Stop accepting first; the broker then ends the connections it holds.
      const closing = listeners.map((l) => l.close())
      await broker.close()
      await Promise.all(closing)
      auth.close()
    })()
    return stopping
  }

  try {
    const { host } = config
    if (config.mqtt.port !== null)
      listeners.push(await startTcpListener(broker, config.mqtt.port, host, logger))
    if (tls) {
      if (config.mqtts.port !== null)
        listeners.push(await startTlsListener(broker, config.mqtts.port, host, tls, logger))
      if (config.wss.port !== null)
        listeners.push(await startWebSocketListener(broker, config.wss.port, host, logger, tls))
    }
    if (config.ws.port !== null)
      listeners.push(await startWebSocketListener(broker, config.ws.port, host, logger))
    if (config.http.port !== null) {
      const health = { broker, ready: () => ready, version: VERSION }
      listeners.push(await startHttpListener(health, config.http.port, host, logger))
    }
  } catch (err) {
    await stop()
    throw err
  }
  ready = true
  return { broker, listeners, users: passwords.size, stop }
}
