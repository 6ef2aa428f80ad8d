import { type Stats, unwatchFile, watchFile } from 'node:fs'
import type {
  AuthenticateRequest,
  AuthenticateResult,
  BrokerHooks,
  ClientIdentity,
  Logger,
} from '@strata/broker'
import { ReasonCode } from '@strata/protocol'
import { PasswordFile, VerifiedCredentialCache } from './password-file.js'

/** Who a connected client is, as the authorize hooks see it. */
export type MqttPrincipal =
  | { kind: 'user'; username: string }
  | { kind: 'certificate'; subject: string }
  | { kind: 'anonymous' }

export interface MqttAuthOptions {
  passwordFile: PasswordFile
  allowAnonymous: boolean
  logger: Logger
  /** Re-read the password file when it changes on disk (checked every second). Default true. */
  watch?: boolean
}

export interface MqttAuth {
  hooks: BrokerHooks
  close(): void
}

/**
 * Authentication until the device registry lands: a verified TLS client
 * certificate (its subject CN becomes the username, like Mosquitto's
 * use_identity_as_username), else a username and password from the password
 * file, else anonymous if, and only if, allowAnonymous is on.
 */
export function createMqttAuth(options: MqttAuthOptions): MqttAuth {
  let passwords = options.passwordFile
  const cache = new VerifiedCredentialCache()
  const { logger } = options

  const reload = (current: Stats, previous: Stats): void => {
    // watchFile also calls back when nothing changed (e.g. the file is still absent).
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino) return
    PasswordFile.load(passwords.path).then(
      (file) => {
        passwords = file
        cache.clear()
        logger.info({ users: file.size, file: file.path }, 'password file reloaded')
      },
      (err: Error) =>
        logger.error({ err: err.message }, 'password file not reloaded: keeping the previous users'),
    )
  }
  if (options.watch !== false) watchFile(passwords.path, { interval: 1000 }, reload)

  async function authenticate(request: AuthenticateRequest): Promise<AuthenticateResult> {
    const cert = request.connection.certificate
    if (cert?.subject) {
      const subject = typeof cert.subject.CN === 'string' ? cert.subject.CN : String(cert.subject.CN ?? '')
      return { ok: true, principal: { kind: 'certificate', subject } satisfies MqttPrincipal }
    }
    if (request.username !== undefined && request.password !== undefined) {
      const { username, password } = request
      if (cache.has(username, password) || (await passwords.verify(username, password))) {
        cache.add(username, password)
        return { ok: true, principal: { kind: 'user', username } satisfies MqttPrincipal }
      }
      return { ok: false, reasonCode: ReasonCode.BadUserNameOrPassword, reason: 'bad user name or password' }
    }
    if (options.allowAnonymous) return { ok: true, principal: { kind: 'anonymous' } satisfies MqttPrincipal }
    return {
      ok: false,
      reasonCode:
        request.username === undefined ? ReasonCode.NotAuthorized : ReasonCode.BadUserNameOrPassword,
      reason: 'anonymous access is disabled: connect with a username and password or a client certificate',
    }
  }

  // Until the registry brings per-device namespaces (issue 3), an
  // authenticated client may use every topic except the broker's own `$` ones.
  const authorizePublish = (_client: ClientIdentity, topic: string): boolean => !topic.startsWith('$')
  const authorizeSubscribe = (): boolean => true

  return {
    hooks: { authenticate, authorizePublish, authorizeSubscribe },
    close: () => unwatchFile(passwords.path),
  }
}
