/**
 * The options of a device, their defaults (in the JSDoc) and their validation. Resolved
 * options are frozen: nothing changes them after the device starts.
 */
import { DEFAULT_TELEMETRY_LIMITS } from '@strata/protocol/telemetry'
import type { BackoffOptions } from './backoff.js'
import { DeviceOptionsError } from './errors.js'

/** pino's shape (and the broker's Logger): an object first, then the message. */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** PEM text, or several (a chain, a CA bundle). Read files yourself: the core never touches a file system. */
export type Pem = string | string[]

/** A device token (`sdt_...`): MQTT username = device id, password = the token. */
export interface TokenAuth {
  token: string
}

/** A client certificate (the platform CA's, or one bound to the device) and its private key. */
export interface CertificateAuth {
  cert: Pem
  key: Pem
  /** CAs that verify the server (mqtts://, wss://); a shortcut for `tls.ca`. */
  ca?: Pem
}

export type DeviceAuth = TokenAuth | CertificateAuth

export interface TlsOptions {
  /** CAs that verify the server. Default: the platform's trust store (Node) or the browser's. */
  ca?: Pem
  /** Default true. Turning it off lets anybody in the middle read the token. */
  rejectUnauthorized?: boolean
  /** SNI and the name checked in the server certificate. Default: the URL's host. */
  servername?: string
}

export type WhenFull = 'drop-oldest' | 'reject'

export interface BufferOptions {
  /** Most points held (queued and in flight). Default 100,000. */
  maxPoints?: number
  /** Most bytes held, by the estimate of {@link estimatePointBytes}. Default 16 MiB. */
  maxBytes?: number
  /**
   * What `telemetry()` does when the points given do not fit. `'drop-oldest'` (default): the
   * oldest queued points that are not in flight make room and are counted in
   * `stats().droppedPoints` (and a `drop` event); `'reject'`: `telemetry()` throws
   * BufferFullError and keeps nothing of that call.
   */
  whenFull?: WhenFull
}

export interface TelemetryOptions {
  /**
   * `'batch'` (default): `application/vnd.strata.batch` on `devices/{id}/telemetry/batch`;
   * `'json'`: an array of `{"ts", metric: value}` objects on `devices/{id}/telemetry`.
   */
  format?: 'batch' | 'json'
  /** A batch is sent once this many points are queued. Default 100, at most 10,000. */
  batchPoints?: number
  /** ... or once the oldest queued point has waited this long, in ms. Default 1,000. */
  maxDelayMs?: number
  /** Most estimated bytes in one batch. Default 256 KiB, at most 1 MiB (the platform's limit). */
  maxBatchBytes?: number
  /** Batches sent and not yet acknowledged (PUBACK), at most. Default 4. */
  maxInflightBatches?: number
  buffer?: BufferOptions
}

export interface DeviceOptions {
  /** `mqtt://`, `mqtts://`, `ws://` or `wss://` (only the WebSocket ones in a browser). */
  url: string
  /** The device id: also the MQTT client id (the platform refuses any other), and the username with a token. */
  deviceId: string
  auth: DeviceAuth
  /** Default 5. With 4 (MQTT 3.1.1) there is no Content Type: telemetry goes by topic suffix. */
  protocolVersion?: 4 | 5
  /**
   * The device's lifetime: aborting it closes the device (as `close()`), like
   * `server.listen({ signal })`. To bound only the wait for the first connection, give
   * `connectDevice` its second argument.
   */
  signal?: AbortSignal
  logger?: Logger
  /** MQTT keep alive, in seconds. Default 60. */
  keepaliveSeconds?: number
  /** How long one attempt waits for CONNACK, in ms. Default 10,000. */
  connectTimeoutMs?: number
  /** Back-off between attempts: default 1 s doubling to 60 s, with jitter. */
  reconnect?: BackoffOptions
  tls?: TlsOptions
  telemetry?: TelemetryOptions
}

export interface ResolvedTelemetryOptions {
  format: 'batch' | 'json'
  batchPoints: number
  maxDelayMs: number
  maxBatchBytes: number
  maxInflightBatches: number
  maxPoints: number
  maxBytes: number
  whenFull: WhenFull
}

const SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:']

function integer(
  value: number | undefined,
  fallback: number,
  name: string,
  min: number,
  max: number,
): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < min || v > max)
    throw new DeviceOptionsError(`${name} must be an integer from ${min} to ${max}, got ${String(v)}`)
  return v
}

export function checkUrl(url: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new DeviceOptionsError(`url ${JSON.stringify(url)} is not a URL`)
  }
  if (!SCHEMES.includes(parsed.protocol))
    throw new DeviceOptionsError(`url must start with ${SCHEMES.map((s) => `${s}//`).join(', ')}: got ${url}`)
}

export function checkAuth(auth: DeviceAuth | undefined): void {
  if (typeof auth !== 'object' || auth === null) throw new DeviceOptionsError('auth is required')
  if ('token' in auth) {
    if (typeof auth.token !== 'string' || auth.token === '')
      throw new DeviceOptionsError('auth.token must be a non-empty string')
  } else if (!('cert' in auth && 'key' in auth)) {
    throw new DeviceOptionsError('auth must be { token } or { cert, key, ca? }')
  }
}

export function checkDeviceOptions(options: DeviceOptions): void {
  checkUrl(options.url)
  if (typeof options.deviceId !== 'string' || options.deviceId === '')
    throw new DeviceOptionsError('deviceId must be a non-empty string')
  if (/[+#/]/.test(options.deviceId))
    throw new DeviceOptionsError(
      `deviceId ${JSON.stringify(options.deviceId)} cannot contain '/', '+' or '#'`,
    )
  checkAuth(options.auth)
  if (options.protocolVersion !== undefined && options.protocolVersion !== 4 && options.protocolVersion !== 5)
    throw new DeviceOptionsError('protocolVersion must be 4 or 5')
  integer(options.keepaliveSeconds, 60, 'keepaliveSeconds', 0, 65_535)
  integer(options.connectTimeoutMs, 10_000, 'connectTimeoutMs', 1, 600_000)
}

export function resolveTelemetryOptions(options: TelemetryOptions = {}): Readonly<ResolvedTelemetryOptions> {
  const format = options.format ?? 'batch'
  if (format !== 'batch' && format !== 'json')
    throw new DeviceOptionsError(`telemetry.format must be 'batch' or 'json', got ${String(format)}`)
  const whenFull = options.buffer?.whenFull ?? 'drop-oldest'
  if (whenFull !== 'drop-oldest' && whenFull !== 'reject')
    throw new DeviceOptionsError(`telemetry.buffer.whenFull must be 'drop-oldest' or 'reject'`)
  const batchPoints = integer(
    options.batchPoints,
    100,
    'telemetry.batchPoints',
    1,
    DEFAULT_TELEMETRY_LIMITS.maxPoints,
  )
  const resolved: ResolvedTelemetryOptions = {
    format,
    batchPoints,
    maxDelayMs: integer(options.maxDelayMs, 1_000, 'telemetry.maxDelayMs', 0, 3_600_000),
    maxBatchBytes: integer(
      options.maxBatchBytes,
      256 * 1024,
      'telemetry.maxBatchBytes',
      1024,
      DEFAULT_TELEMETRY_LIMITS.maxBytes,
    ),
    maxInflightBatches: integer(options.maxInflightBatches, 4, 'telemetry.maxInflightBatches', 1, 1_000),
    maxPoints: integer(
      options.buffer?.maxPoints,
      100_000,
      'telemetry.buffer.maxPoints',
      batchPoints,
      2 ** 31,
    ),
    maxBytes: integer(options.buffer?.maxBytes, 16 * 1024 * 1024, 'telemetry.buffer.maxBytes', 1024, 2 ** 40),
    whenFull,
  }
  return Object.freeze(resolved)
}
