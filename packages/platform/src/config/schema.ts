import { isIP } from 'node:net'
import type { BrokerLimits } from '@strata/broker'
import { ConfigError } from '../errors.js'
import { MAX_RETENTION_DAYS, RETENTION_FIELDS, type RetentionDays } from '../registry/model.js'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** A listener's port: 0 = any free port (the chosen one is logged), null = listener off. */
export type Port = number | null

export interface TlsConfig {
  /** PEM server certificate chain. mqtts and wss start only when cert and key are set. */
  cert?: string
  /** PEM private key. */
  key?: string
  /** PEM CA bundle that client certificates must chain to. Setting it enables client-certificate authentication. */
  ca?: string
  /** Refuse TLS clients without a valid certificate. Default false (they may log in with a password instead). */
  requireClientCert: boolean
}

/** The whole configuration, after defaults, file, environment and flags are merged; frozen at start. */
export interface StrataConfig {
  /** Where everything is stored. Default ./data, or $STRATA_DATA. */
  dataDir: string
  /** Address every listener binds. Default 0.0.0.0. */
  host: string
  /** Accept MQTT clients without credentials. Default false: for local experiments only. */
  allowAnonymous: boolean
  /** MQTT users with scrypt-hashed passwords (see `strata passwd`). Default <dataDir>/passwords. */
  passwordFile: string
  logLevel: LogLevel
  /** Journal broker state to disk. Default true; false keeps everything in memory. */
  persistence: boolean
  mqtt: { port: Port }
  mqtts: { port: Port }
  ws: { port: Port }
  wss: { port: Port }
  http: { port: Port }
  tls: TlsConfig
  /** $SYS statistics interval in seconds; 0 disables. Default 10. */
  sysInterval: number
  limits: Partial<BrokerLimits>
  telemetry: TelemetryConfig
}

/** Telemetry ingestion: back-pressure and the event log (docs/configuration.md, docs/topics.md). */
export interface TelemetryConfig {
  /** Points waiting for storage above which storage "lags". Default 500,000. */
  highWaterPoints: number
  /** Storage also lags while a write has waited longer than this (ms); 0 = points only. Default 2,000. */
  lagLatencyMs: number
  /** String events older than this many days are deleted. Default 30. */
  eventRetentionDays: number
  /** At most this many string events are kept (the oldest go first). Default 10,000,000. */
  maxEvents: number
  /**
   * Days each resolution of numeric telemetry is kept, for devices whose type sets no retention
   * of its own (and for the resolutions a type leaves out). Default `{}`: keep everything, so
   * an upgrade never deletes data nobody asked to delete (docs/configuration.md).
   */
  retention: RetentionDays
  /** Export raw days to Parquet under <dataDir>/tsdb/archive before retention drops them, and read them back. Default true. */
  archive: boolean
}

type TelemetryNumber = Exclude<keyof TelemetryConfig, 'retention' | 'archive'>

export function defaultConfig(env: NodeJS.ProcessEnv = process.env): StrataConfig {
  const dataDir = env.STRATA_DATA || './data'
  return {
    dataDir,
    host: '0.0.0.0',
    allowAnonymous: false,
    passwordFile: '',
    logLevel: 'info',
    persistence: true,
    mqtt: { port: 1883 },
    mqtts: { port: 8883 },
    ws: { port: 8083 },
    wss: { port: 8084 },
    http: { port: 8080 },
    tls: { requireClientCert: false },
    sysInterval: 10,
    limits: {},
    telemetry: { ...TELEMETRY_DEFAULTS, retention: {} },
  }
}

export const TELEMETRY_DEFAULTS: Readonly<TelemetryConfig> = Object.freeze({
  highWaterPoints: 500_000,
  lagLatencyMs: 2_000,
  eventRetentionDays: 30,
  maxEvents: 10_000_000,
  retention: Object.freeze({}),
  archive: true,
})

const TELEMETRY_RANGES: Record<TelemetryNumber, [min: number, max: number]> = {
  highWaterPoints: [100, 1_000_000_000],
  lagLatencyMs: [0, 3_600_000],
  eventRetentionDays: [1, 36_500],
  maxEvents: [1_000, 10_000_000_000],
}

/** Limits a config file may set, with the range each accepts. */
const LIMIT_RANGES: Record<keyof BrokerLimits, [min: number, max: number]> = {
  maxConnections: [1, 10_000_000],
  maxPacketSize: [64, 268_435_455],
  maxTopicLength: [1, 65_535],
  maxTopicLevels: [1, 1024],
  maxSubscriptionsPerClient: [1, 1_000_000],
  maxInflight: [1, 65_535],
  maxQueuedMessages: [0, 100_000_000],
  maxOutgoingBufferBytes: [1024, 2 ** 31],
  connectTimeoutMs: [100, 3_600_000],
  connectionRatePerAddress: [0, 1_000_000],
  connectionRateBurst: [1, 1_000_000],
  topicAliasMaximum: [0, 65_535],
  maxSessionExpiryInterval: [0, 0xffffffff],
  serverKeepAlive: [0, 65_535],
  maxRetainedMessages: [0, 100_000_000],
}

type Obj = Record<string, unknown>

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function integer(value: unknown, path: string, min: number, max: number): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${path} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`)
  }
  return n
}

export function parsePort(value: unknown, path: string): Port {
  if (value === null || value === 'off' || value === false) return null
  return integer(value, path, 0, 65_535)
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value === 'boolean') return value
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw new ConfigError(`${path} must be true or false, got ${JSON.stringify(value)}`)
}

function string(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigError(`${path} must be a non-empty string, got ${JSON.stringify(value)}`)
  }
  return value
}

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/** An IP address or a host name; whether this machine has it is known only when listening. */
function host(value: unknown, path: string): string {
  const text = string(value, path)
  if (isIP(text) === 0 && !HOST_NAME.test(text)) {
    throw new ConfigError(
      `${path} must be an IP address of this machine (0.0.0.0 = all, 127.0.0.1 = this machine only, :: for IPv6) or a host name, got ${JSON.stringify(value)}`,
    )
  }
  return text
}

function checkKeys(obj: Obj, allowed: readonly string[], path: string, source: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const where = path ? `${path}.${key}` : key
      throw new ConfigError(`${source}: unknown setting "${where}" (known: ${allowed.join(', ')})`)
    }
  }
}

/**
 * `telemetry.retention` merged onto what earlier layers set: a field given replaces that field,
 * and null removes it (keep that resolution for good), so a flag can undo a file's setting.
 */
function retention(base: RetentionDays, value: unknown, source: string): RetentionDays {
  const path = 'telemetry.retention'
  if (!isObject(value)) {
    throw new ConfigError(
      `${source}: ${path} must be an object like {"rawDays": 7, "minuteDays": 90, "hourDays": 1825}, got ${JSON.stringify(value)}`,
    )
  }
  checkKeys(value, RETENTION_FIELDS, path, source)
  const out: RetentionDays = { ...base }
  for (const [name, v] of Object.entries(value)) {
    const field = name as keyof RetentionDays
    if (v === null || v === 'off') delete out[field]
    else out[field] = integer(v, `${source}: ${path}.${name}`, 1, MAX_RETENTION_DAYS)
  }
  return out
}

/**
 * Applies a partial configuration (a parsed file, or values gathered from the
 * environment or flags) onto `base`, validating every value. Unknown keys are
 * errors: a misspelt setting silently ignored is how a broker ends up open.
 */
export function applyConfig(base: StrataConfig, input: unknown, source: string): StrataConfig {
  if (!isObject(input)) throw new ConfigError(`${source}: the configuration must be a JSON object`)
  const at = (key: string): string => `${source}: ${key}`
  const out: StrataConfig = structuredClone(base)
  const topKeys = Object.keys(defaultConfig()) as Array<keyof StrataConfig>
  checkKeys(input, topKeys, '', source)
  for (const [key, value] of Object.entries(input)) {
    switch (key as keyof StrataConfig) {
      case 'dataDir':
        out.dataDir = string(value, at(key))
        break
      case 'host':
        out.host = host(value, at(key))
        break
      case 'passwordFile':
        out.passwordFile = string(value, at(key))
        break
      case 'allowAnonymous':
        out.allowAnonymous = boolean(value, at(key))
        break
      case 'persistence':
        out.persistence = boolean(value, at(key))
        break
      case 'logLevel':
        if (!LOG_LEVELS.includes(value as LogLevel)) {
          throw new ConfigError(
            `${at(key)} must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`,
          )
        }
        out.logLevel = value as LogLevel
        break
      case 'sysInterval':
        out.sysInterval = integer(value, at(key), 0, 86_400)
        break
      case 'mqtt':
      case 'mqtts':
      case 'ws':
      case 'wss':
      case 'http': {
        if (!isObject(value)) throw new ConfigError(`${at(key)} must be an object like {"port": 1883}`)
        checkKeys(value, ['port'], key, source)
        if ('port' in value) out[key as 'mqtt'] = { port: parsePort(value.port, at(`${key}.port`)) }
        break
      }
      case 'tls': {
        if (!isObject(value)) throw new ConfigError(`${at(key)} must be an object`)
        checkKeys(value, ['cert', 'key', 'ca', 'requireClientCert'], key, source)
        for (const file of ['cert', 'key', 'ca'] as const) {
          if (value[file] !== undefined) out.tls[file] = string(value[file], at(`tls.${file}`))
        }
        if (value.requireClientCert !== undefined) {
          out.tls.requireClientCert = boolean(value.requireClientCert, at('tls.requireClientCert'))
        }
        break
      }
      case 'limits': {
        if (!isObject(value)) throw new ConfigError(`${at(key)} must be an object`)
        checkKeys(value, Object.keys(LIMIT_RANGES), key, source)
        for (const [name, v] of Object.entries(value)) {
          const [min, max] = LIMIT_RANGES[name as keyof BrokerLimits]
          out.limits[name as keyof BrokerLimits] = integer(v, at(`limits.${name}`), min, max)
        }
        break
      }
      case 'telemetry': {
        if (!isObject(value)) throw new ConfigError(`${at(key)} must be an object`)
        checkKeys(value, [...Object.keys(TELEMETRY_RANGES), 'retention', 'archive'], key, source)
        for (const [name, v] of Object.entries(value)) {
          if (name === 'archive') out.telemetry.archive = boolean(v, at('telemetry.archive'))
          else if (name === 'retention')
            out.telemetry.retention = retention(out.telemetry.retention, v, source)
          else {
            const [min, max] = TELEMETRY_RANGES[name as TelemetryNumber]
            out.telemetry[name as TelemetryNumber] = integer(v, at(`telemetry.${name}`), min, max)
          }
        }
        break
      }
    }
  }
  return out
}
