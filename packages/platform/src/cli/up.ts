import type { Command } from 'commander'
import { pino } from 'pino'
import { loadConfig } from '../config/load.js'
import { VERSION } from '../version.js'

interface UpFlags {
  config?: string
  dataDir?: string
  host?: string
  mqttPort?: string
  mqttsPort?: string
  wsPort?: string
  wssPort?: string
  httpPort?: string
  tlsCert?: string
  tlsKey?: string
  tlsCa?: string
  requireClientCert?: boolean
  allowAnonymous?: boolean
  persistence?: boolean
  logLevel?: string
  sysInterval?: string
}

/** Maps flags to dotted config paths; flags left unset do not override anything. */
function flagSettings(flags: UpFlags): Record<string, unknown> {
  return {
    dataDir: flags.dataDir,
    host: flags.host,
    'mqtt.port': flags.mqttPort,
    'mqtts.port': flags.mqttsPort,
    'ws.port': flags.wsPort,
    'wss.port': flags.wssPort,
    'http.port': flags.httpPort,
    'tls.cert': flags.tlsCert,
    'tls.key': flags.tlsKey,
    'tls.ca': flags.tlsCa,
    'tls.requireClientCert': flags.requireClientCert,
    allowAnonymous: flags.allowAnonymous,
    persistence: flags.persistence === false ? false : undefined,
    logLevel: flags.logLevel,
    sysInterval: flags.sysInterval,
  }
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('start the platform on one machine (broker, registry, HTTP API)')
    .option('-c, --config <file>', 'JSON config file (default: $STRATA_CONFIG)')
    .option('-d, --data-dir <dir>', 'where data is stored (default: ./data or $STRATA_DATA)')
    .option('--host <address>', 'address every listener binds (default: 0.0.0.0)')
    .option('--mqtt-port <n>', 'MQTT over TCP; 0 = any free port, off = disabled (default: 1883)')
    .option('--mqtts-port <n>', 'MQTT over TLS, needs --tls-cert and --tls-key (default: 8883)')
    .option('--ws-port <n>', 'MQTT over WebSocket (default: 8083)')
    .option('--wss-port <n>', 'MQTT over secure WebSocket, needs --tls-cert and --tls-key (default: 8084)')
    .option(
      '--http-port <n>',
      'HTTP: REST API /api (docs at /api/docs), /health, /ready, /metrics (default: 8080)',
    )
    .option('--tls-cert <file>', 'PEM server certificate chain for mqtts and wss')
    .option('--tls-key <file>', 'PEM private key for mqtts and wss')
    .option(
      '--tls-ca <file>',
      'PEM CA bundle of the operator: its client certificates authenticate by CN (the platform CA is always trusted)',
    )
    .option('--require-client-cert', 'refuse TLS clients without a valid client certificate')
    .option('--allow-anonymous', 'accept MQTT clients without credentials (local experiments only)')
    .option('--no-persistence', 'keep broker state in memory only (lost on restart)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent (default: info)')
    .option('--sys-interval <seconds>', '$SYS statistics interval, 0 = off (default: 10)')
    .addHelpText(
      'after',
      `
Settings come from defaults, then the config file, then STRATA_* environment
variables, then these flags (see docs/configuration.md).

Examples:
  $ strata up
  $ strata up --data-dir /var/lib/strata --mqtt-port 1884 --http-port 0
  $ strata up --allow-anonymous --ws-port off
  $ strata up --tls-cert server.pem --tls-key server.key --tls-ca devices-ca.pem`,
    )
    .action(async (flags: UpFlags) => {
      const config = await loadConfig({ configFile: flags.config, flags: flagSettings(flags) })
      const logger = pino({ level: config.logLevel, base: { pid: process.pid } })
      logger.info({ version: VERSION, dataDir: config.dataDir }, 'Strata starting')
      if (config.allowAnonymous) {
        logger.warn(
          'anonymous MQTT access is ON: any client can connect without credentials. Use for local experiments only.',
        )
      }
      // Loaded here, not at the top: every other command would pay for the whole platform's
      // modules (Fastify, the engine, Parquet...) at start-up, about 0.8 s.
      const { startPlatform } = await import('../platform.js')
      const platform = await startPlatform(config, logger)
      for (const l of platform.listeners)
        logger.info({ listener: l.name, url: l.url, port: l.port }, `${l.name} on ${l.url}`)
      if (platform.setupToken !== null) {
        const http = platform.listeners.find((l) => l.url.startsWith('http'))
        const base = http ? http.url.replace(/\/$/, '') : 'http://HOST:PORT'
        logger.warn(
          { setupToken: platform.setupToken, url: `${base}/api/setup` },
          `no admin user yet: create the first one within 24 h with POST ${base}/api/setup ` +
            '{"token": "<setupToken>", "username": "...", "password": "..."}, ' +
            `or run "npx strata admin create <username> --data-dir ${config.dataDir}"`,
        )
      }
      if (platform.users === 0 && !config.allowAnonymous) {
        logger.info(
          { passwordFile: config.passwordFile },
          'devices connect with their own credentials ("npx strata device token create <id>"); ' +
            `for a backend service that needs every topic, add an MQTT user with "npx strata passwd --data-dir ${config.dataDir} <username>"`,
        )
      }
      logger.info('Strata is up')

      let signals = 0
      const shutdown = (signal: NodeJS.Signals): void => {
        if (++signals > 1) {
          logger.warn({ signal }, 'second signal: exiting without waiting')
          process.exit(1)
        }
        logger.info({ signal }, 'shutting down')
        platform.stop().then(
          () => {
            logger.info('stopped')
            process.exit(0)
          },
          (err: Error) => {
            logger.error({ err: err.message }, 'shutdown failed')
            process.exit(1)
          },
        )
      }
      process.on('SIGINT', shutdown)
      process.on('SIGTERM', shutdown)
    })
}
