import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { StrataError } from '../errors.js'
import { applyConfig, defaultConfig, type StrataConfig } from './schema.js'

/** Environment variables and the setting each overrides (documented in docs/configuration.md). */
export const ENV_SETTINGS: ReadonlyArray<[variable: string, path: string]> = [
  ['STRATA_DATA', 'dataDir'],
  ['STRATA_HOST', 'host'],
  ['STRATA_ALLOW_ANONYMOUS', 'allowAnonymous'],
  ['STRATA_PASSWORD_FILE', 'passwordFile'],
  ['STRATA_LOG_LEVEL', 'logLevel'],
  ['STRATA_PERSISTENCE', 'persistence'],
  ['STRATA_MQTT_PORT', 'mqtt.port'],
  ['STRATA_MQTTS_PORT', 'mqtts.port'],
  ['STRATA_WS_PORT', 'ws.port'],
  ['STRATA_WSS_PORT', 'wss.port'],
  ['STRATA_HTTP_PORT', 'http.port'],
  ['STRATA_TLS_CERT', 'tls.cert'],
  ['STRATA_TLS_KEY', 'tls.key'],
  ['STRATA_TLS_CA', 'tls.ca'],
  ['STRATA_TLS_REQUIRE_CLIENT_CERT', 'tls.requireClientCert'],
]

/** Turns `{'mqtt.port': 1}` into `{mqtt: {port: 1}}`. */
export function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [path, value] of Object.entries(flat)) {
    if (value === undefined) continue
    const keys = path.split('.')
    let node = out
    for (const key of keys.slice(0, -1)) {
      node[key] ??= {}
      node = node[key] as Record<string, unknown>
    }
    node[keys[keys.length - 1] as string] = value
  }
  return out
}

export interface LoadOptions {
  /** A JSON config file; default $STRATA_CONFIG, else none. */
  configFile?: string
  /** Settings from command-line flags, dotted paths (`mqtt.port`), highest precedence. */
  flags?: Record<string, unknown>
  env?: NodeJS.ProcessEnv
}

/**
 * Builds the configuration: defaults, then the config file, then STRATA_*
 * environment variables, then command-line flags. Every layer is validated
 * with the name of its source in the error. The result is frozen.
 */
export async function loadConfig(options: LoadOptions = {}): Promise<Readonly<StrataConfig>> {
  const env = options.env ?? process.env
  let config = defaultConfig(env)
  const file = options.configFile ?? env.STRATA_CONFIG
  if (file) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (cause) {
      throw new StrataError(
        'STRATA_CONFIG_UNREADABLE',
        `cannot read config file ${file}: ${(cause as Error).message}`,
        {
          cause,
        },
      )
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (cause) {
      throw new StrataError(
        'STRATA_CONFIG_INVALID',
        `${file} is not valid JSON: ${(cause as Error).message}`,
        { cause },
      )
    }
    config = applyConfig(config, parsed, file)
  }
  const fromEnv: Record<string, unknown> = {}
  for (const [variable, path] of ENV_SETTINGS) {
    if (env[variable] !== undefined && env[variable] !== '') fromEnv[path] = env[variable]
  }
  config = applyConfig(config, nest(fromEnv), 'environment')
  if (options.flags) config = applyConfig(config, nest(options.flags), 'command line')

  config.dataDir = resolve(config.dataDir)
  config.passwordFile = resolve(config.passwordFile || join(config.dataDir, 'passwords'))
  for (const file of ['cert', 'key', 'ca'] as const) {
    const path = config.tls[file]
    if (path) config.tls[file] = resolve(path)
  }
  return deepFreeze(config)
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child)
  }
  return Object.freeze(value)
}
