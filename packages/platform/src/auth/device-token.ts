/**
 * Checking the secrets devices present (device tokens `sdt_<credential id>_<secret>`, claim
 * tokens), shared by MQTT CONNECT (mqtt-auth.ts) and HTTP ingest (api/routes/ingest.ts). One
 * instance serves both transports, so a guesser gets the same 10 tries a minute per device
 * whichever door it knocks on, and a token verified on one transport is cached for the other.
 */
import { randomBytes } from 'node:crypto'
import type { IdentityLookups } from '../identity/sqlite-identity.js'
import { parseDeviceToken } from '../identity/tokens.js'
import { FailureWindow } from './failure-window.js'
import { VerifiedCredentialCache } from './password-file.js'
import { hashGeneratedSecret, verifyPassword } from './password-hash.js'

/** Failed secrets per device or template before further attempts naming it are refused unchecked. */
export const MAX_SECRET_FAILURES = 10
export const SECRET_FAILURE_WINDOW_MS = 60_000

export interface DeviceSecretsOptions {
  maxFailures?: number
  windowMs?: number
  now?: () => number
}

/**
 * Checks a generated secret against its scrypt hash, at most once per (name, hash, secret) while
 * cached. The hash is part of the cache key, so a template re-created with a new claim token does
 * not accept the old one from the cache. Unknown names cost one scrypt too (a dummy hash), so
 * timing does not tell which ids exist; failures per name are limited before any scrypt runs, so
 * a known id cannot be used to make the server hash all day.
 */
export class DeviceSecrets {
  readonly #cache = new VerifiedCredentialCache()
  readonly #failures: FailureWindow
  readonly #now: () => number
  // A hash of nothing with the same cost as the real ones, made once on first need.
  #dummy: Promise<string> | undefined

  constructor(options: DeviceSecretsOptions = {}) {
    this.#failures = new FailureWindow(
      options.maxFailures ?? MAX_SECRET_FAILURES,
      options.windowMs ?? SECRET_FAILURE_WINDOW_MS,
    )
    this.#now = options.now ?? Date.now
  }

  async check(name: string, secret: Buffer, hash: string | undefined): Promise<boolean> {
    const key = `${name}\u0000${hash ?? ''}`
    if (hash !== undefined && this.#cache.has(key, secret)) return true
    const now = this.#now()
    if (this.#failures.retryAfter(name, now) > 0) return false
    this.#dummy ??= hashGeneratedSecret(randomBytes(32))
    const ok = await verifyPassword(secret, hash ?? (await this.#dummy))
    if (ok && hash !== undefined) {
      this.#cache.add(key, secret)
      return true
    }
    this.#failures.add(name, now)
    return false
  }
}

export type DeviceTokenResult =
  | { readonly ok: true; readonly deviceId: string; readonly credentialId: string }
  /**
   * `not-a-token`: not shaped like a device token (the caller may try other kinds);
   * `bad`: unknown credential, wrong secret, another device's token, or over the failure limit;
   * `revoked`: the right secret of a revoked credential. Only `bad` costs a failure.
   */
  | { readonly ok: false; readonly reason: 'not-a-token' | 'bad' | 'revoked' }

/**
 * Verifies a device token. `deviceId` is the device the client claims to be (the MQTT username,
 * an HTTP path's id); without one, the credential names the device. A token of another device
 * than the claimed one fails like an unknown one, after the same scrypt.
 */
export async function verifyDeviceToken(
  identity: Pick<IdentityLookups, 'tokenCredential'>,
  secrets: DeviceSecrets,
  token: Buffer,
  deviceId?: string,
): Promise<DeviceTokenResult> {
  const parsed = parseDeviceToken(token.toString('utf8'))
  if (!parsed) return { ok: false, reason: 'not-a-token' }
  const row = identity.tokenCredential(parsed.credentialId)
  const claimed = deviceId ?? row?.deviceId
  const known = row !== undefined && row.deviceId === claimed
  // Failures are counted per device, as at CONNECT; an unknown credential counts on its own id.
  const name = claimed === undefined ? `credential:${parsed.credentialId}` : `device:${claimed}`
  if (!(await secrets.check(name, token, known ? row.secretHash : undefined)) || !known)
    return { ok: false, reason: 'bad' }
  // Read again: a revocation may have landed while scrypt ran.
  if (identity.tokenCredential(parsed.credentialId)?.revoked !== false)
    return { ok: false, reason: 'revoked' }
  return { ok: true, deviceId: row.deviceId, credentialId: parsed.credentialId }
}

/** Device tokens for HTTP: the identity lookups and the secrets shared with MQTT, in one object. */
export class DeviceTokenAuth {
  constructor(
    readonly identity: Pick<IdentityLookups, 'tokenCredential' | 'deviceEnabled'>,
    readonly secrets: DeviceSecrets = new DeviceSecrets(),
  ) {}

  verify(token: Buffer, deviceId?: string): Promise<DeviceTokenResult> {
    return verifyDeviceToken(this.identity, this.secrets, token, deviceId)
  }

  /** Enabled flag of a device, undefined if there is no such device. */
  deviceEnabled(deviceId: string): boolean | undefined {
    return this.identity.deviceEnabled(deviceId)
  }
}
