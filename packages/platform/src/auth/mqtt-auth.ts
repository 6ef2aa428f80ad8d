import { randomBytes, X509Certificate } from 'node:crypto'
import { type Stats, unwatchFile, watchFile } from 'node:fs'
import type {
  AuthenticateRequest,
  AuthenticateResult,
  BrokerHooks,
  ClientIdentity,
  Logger,
} from '@strata/broker'
import { parseSharedSubscription, ReasonCode } from '@strata/protocol'
import type { IdentityLookups } from '../identity/sqlite-identity.js'
import { isClaimToken } from '../identity/tokens.js'
import { fingerprintOfDer } from '../identity/x509/index.js'
import { DeviceAcl, provisioningTopics } from './device-acl.js'
import { DeviceSecrets, verifyDeviceToken } from './device-token.js'
import { FailureWindow } from './failure-window.js'
import { PasswordFile, VerifiedCredentialCache } from './password-file.js'
import { hashPassword, verifyPassword } from './password-hash.js'

/**
 * Who a connected client is, as the authorize hooks see it.
 * - device: a registered device, by token or certificate; confined to its namespace and grants.
 * - claim: a factory-fresh device holding a provisioning template's claim token; it may only
 *   ask for its identity on its own provisioning topics.
 * - user: an account of the password file (a backend service, a bridge), or the CN of a
 *   certificate from the operator's --tls-ca that names no device; every topic outside `$`.
 * - anonymous: only with --allow-anonymous; as a user.
 */
export type MqttPrincipal =
  | { kind: 'device'; deviceId: string; credentialId: string | null; acl: DeviceAcl }
  | { kind: 'claim'; templateId: string; request: string; response: string }
  | { kind: 'user'; username: string }
  | { kind: 'anonymous' }

/** Counters the platform exports as metrics; each call is one event. */
export interface AuthObserver {
  /** `reasonCode` is the CONNACK reason code (0x86, 0x87, 0x85...): a bounded set, unlike the message. */
  authFailed(transport: string, reasonCode: number): void
  aclDenied(action: 'publish' | 'subscribe', principal: MqttPrincipal['kind']): void
}

export interface MqttAuthOptions {
  passwordFile: PasswordFile
  allowAnonymous: boolean
  logger: Logger
  /** The registry's identity lookups; without them only users (and anonymous) can connect. */
  identity?: IdentityLookups
  /** PEM bundle of --tls-ca: its certificates may map by CN (to a device, else to a user). */
  operatorCaPem?: string
  observer?: AuthObserver
  /** Re-read the password file when it changes on disk (checked every second). Default true. */
  watch?: boolean
  /** Device and claim token checks, shared with HTTP ingest (one failure window for both). */
  deviceSecrets?: DeviceSecrets
}

export interface MqttAuth {
  /** authenticate, authorizePublish, authorizeSubscribe; the platform adds the event hooks. */
  hooks: Pick<BrokerHooks, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>
  /** Re-reads a device's grants into the ACL of each of its connections. */
  refreshGrants(deviceId: string): void
  /** The broker's onConnect: remembers a device's connection for grant changes. */
  connected(client: ClientIdentity): void
  /** The broker's onDisconnect: forgets it. */
  released(client: ClientIdentity): void
  close(): void
}

/** Failed passwords per user before CONNECTs naming it are refused unchecked (devices: device-token.ts). */
const MAX_FAILURES = 10
const FAILURE_WINDOW_MS = 60_000

type Refusal = Extract<AuthenticateResult, { ok: false }>
const refuse = (reasonCode: number, reason: string): Refusal => ({ ok: false, reasonCode, reason })

/** The verified certificates of a PEM bundle (one or several blocks). */
function bundle(pem: string | undefined): X509Certificate[] {
  if (!pem) return []
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (block) => new X509Certificate(block),
  )
}

/**
 * Authentication and authorization of MQTT clients. Order at CONNECT:
 * a verified client certificate; then a password shaped like a device token (`sdt_...`)
 * or a claim token (`scl_...`); then the password file; then anonymous if allowed.
 * A device must use its id as client id, so no client can take over another's session.
 */
export function createMqttAuth(options: MqttAuthOptions): MqttAuth {
  let passwords = options.passwordFile
  const cache = new VerifiedCredentialCache()
  const failures = new FailureWindow(MAX_FAILURES, FAILURE_WINDOW_MS)
  const secrets = options.deviceSecrets ?? new DeviceSecrets()
  // A hash of nothing, with the same cost as the real ones, so unknown names take as long.
  let dummyPassword: Promise<string> | undefined
  const dummyUserHash = (): Promise<string> => {
    dummyPassword ??= hashPassword(randomBytes(32))
    return dummyPassword
  }
  const { logger, identity, observer } = options
  const operatorCas = bundle(options.operatorCaPem)
  // The connected devices' principals, so a grant change reaches every connection at once.
  const connectedDevices = new Map<string, Set<Extract<MqttPrincipal, { kind: 'device' }>>>()

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

  const aclFor = (deviceId: string): DeviceAcl => new DeviceAcl(deviceId, identity?.grantsOf(deviceId) ?? [])

  const device = (
    request: AuthenticateRequest,
    deviceId: string,
    credentialId: string | null,
  ): AuthenticateResult => {
    const enabled = identity?.deviceEnabled(deviceId)
    if (enabled === undefined)
      return refuse(ReasonCode.NotAuthorized, `device '${deviceId}' is not registered`)
    if (!enabled) return refuse(ReasonCode.NotAuthorized, `device '${deviceId}' is disabled`)
    if (request.clientId !== deviceId)
      return refuse(
        ReasonCode.ClientIdentifierNotValid,
        `device '${deviceId}' must connect with client id '${deviceId}'`,
      )
    const principal: MqttPrincipal = { kind: 'device', deviceId, credentialId, acl: aclFor(deviceId) }
    return { ok: true, principal, sessionOwner: `device:${deviceId}` }
  }

  /** A client id naming a registered device is that device's alone. */
  const takesDeviceId = (clientId: string): boolean => identity?.deviceEnabled(clientId) !== undefined

  function byCertificate(request: AuthenticateRequest): AuthenticateResult {
    const cert = request.connection.certificate
    if (!cert?.raw) return refuse(ReasonCode.NotAuthorized, 'client certificate unreadable')
    const fingerprint = fingerprintOfDer(cert.raw)
    const credential = identity?.certificateByFingerprint(fingerprint)
    if (credential) {
      if (credential.revoked) return refuse(ReasonCode.NotAuthorized, 'certificate revoked')
      return device(request, credential.deviceId, credential.credentialId)
    }
    const x509 = new X509Certificate(cert.raw)
    const cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : ''
    // Only certificates of the operator's --tls-ca map by their CN (to a device, else to a user,
    // like Mosquitto's use_identity_as_username). The platform CA's and registered CAs' must match
    // a credential by fingerprint: otherwise a registered vendor CA could mint any device's CN.
    if (cn !== '' && operatorCas.some((ca) => x509.checkIssued(ca) && x509.verify(ca.publicKey))) {
      if (identity?.deviceEnabled(cn) !== undefined) return device(request, cn, null)
      return user(request, cn)
    }
    return refuse(ReasonCode.NotAuthorized, 'certificate not registered to any device')
  }

  async function authenticate(request: AuthenticateRequest): Promise<AuthenticateResult> {
    const result = await decide(request)
    if (!result.ok) {
      observer?.authFailed(request.connection.transport, result.reasonCode)
      logger.info(
        {
          clientId: request.clientId,
          remoteAddress: request.connection.remoteAddress,
          reason: result.reason,
        },
        'MQTT client refused',
      )
    }
    return result
  }

  async function decide(request: AuthenticateRequest): Promise<AuthenticateResult> {
    if (request.connection.certificate?.subject) return byCertificate(request)
    const { username, password } = request
    if (username !== undefined && password !== undefined) {
      const text = password.toString('utf8')
      const token = identity ? await verifyDeviceToken(identity, secrets, password, username) : undefined
      if (token?.ok) return device(request, token.deviceId, token.credentialId)
      if (token?.reason === 'bad') return refuse(ReasonCode.BadUserNameOrPassword, 'bad device id or token')
      if (token?.reason === 'revoked') return refuse(ReasonCode.NotAuthorized, 'token revoked')
      if (isClaimToken(text) && identity) {
        const template = identity.claimTemplate(username)
        if (!(await secrets.check(`claim:${username}`, password, template?.secretHash)) || !template)
          return refuse(ReasonCode.BadUserNameOrPassword, 'bad provisioning template or claim token')
        if (template.unusableReason !== null) return refuse(ReasonCode.NotAuthorized, template.unusableReason)
        if (!/^[^/+#]{1,128}$/.test(request.clientId) || takesDeviceId(request.clientId))
          return refuse(
            ReasonCode.ClientIdentifierNotValid,
            "a claiming client needs its own client id (1-128 characters, no '/', '+' or '#')",
          )
        const topics = provisioningTopics(request.clientId)
        const principal: MqttPrincipal = { kind: 'claim', templateId: username, ...topics }
        // A claim session ends with its connection: its reply (a secret) is never queued for later.
        return { ok: true, principal, sessionOwner: `claim:${username}`, maxSessionExpiry: 0 }
      }
      if (!(await checkUser(username, password)))
        return refuse(ReasonCode.BadUserNameOrPassword, 'bad user name or password')
      return user(request, username)
    }
    if (options.allowAnonymous) {
      if (takesDeviceId(request.clientId))
        return refuse(ReasonCode.ClientIdentifierNotValid, 'that client id belongs to a registered device')
      return { ok: true, principal: { kind: 'anonymous' } satisfies MqttPrincipal, sessionOwner: 'anonymous' }
    }
    return refuse(
      request.username === undefined ? ReasonCode.NotAuthorized : ReasonCode.BadUserNameOrPassword,
      'anonymous access is disabled: connect with a username and password or a client certificate',
    )
  }

  function user(request: AuthenticateRequest, username: string): AuthenticateResult {
    if (takesDeviceId(request.clientId))
      return refuse(ReasonCode.ClientIdentifierNotValid, 'that client id belongs to a registered device')
    return {
      ok: true,
      principal: { kind: 'user', username } satisfies MqttPrincipal,
      sessionOwner: `user:${username}`,
    }
  }

  async function checkUser(username: string, password: Buffer): Promise<boolean> {
    if (cache.has(`user:${username}`, password)) return true
    const now = Date.now()
    if (failures.retryAfter(`user:${username}`, now) > 0) return false
    if (!passwords.has(username)) {
      await verifyPassword(password, await dummyUserHash())
      failures.add(`user:${username}`, now)
      return false
    }
    if (!(await passwords.verify(username, password))) {
      failures.add(`user:${username}`, now)
      return false
    }
    cache.add(`user:${username}`, password)
    return true
  }

  const principalOf = (client: ClientIdentity): MqttPrincipal =>
    (client.principal as MqttPrincipal | undefined) ?? { kind: 'anonymous' }

  function authorizePublish(client: ClientIdentity, topic: string, _qos: number, retain: boolean): boolean {
    const p = principalOf(client)
    let ok: boolean
    switch (p.kind) {
      case 'device':
        ok = p.acl.canPublish(topic)
        break
      case 'claim':
        // Not retained: a claim token must not be able to fill the retained store.
        ok = topic === p.request && !retain
        break
      default:
        ok = !topic.startsWith('$')
    }
    if (!ok) observer?.aclDenied('publish', p.kind)
    return ok
  }

  function authorizeSubscribe(client: ClientIdentity, filter: string): boolean {
    const p = principalOf(client)
    let ok: boolean
    switch (p.kind) {
      case 'device':
        ok = p.acl.canSubscribe(filter)
        break
      case 'claim':
        ok = filter === p.response
        break
      default:
        // Users may read everything, `$SYS` included, but `$strata/`: provisioning replies carry secrets.
        ok = !(parseSharedSubscription(filter)?.filter ?? filter).startsWith('$strata/')
    }
    if (!ok) observer?.aclDenied('subscribe', p.kind)
    return ok
  }

  return {
    hooks: { authenticate, authorizePublish, authorizeSubscribe },
    refreshGrants(deviceId) {
      const principals = connectedDevices.get(deviceId)
      if (!principals || !identity) return
      const grants = identity.grantsOf(deviceId)
      for (const p of principals) p.acl.setGrants(grants)
    },
    connected(client) {
      const p = principalOf(client)
      if (p.kind !== 'device') return
      const set = connectedDevices.get(p.deviceId)
      if (set) set.add(p)
      else connectedDevices.set(p.deviceId, new Set([p]))
    },
    released(client) {
      const p = principalOf(client)
      if (p.kind !== 'device') return
      const set = connectedDevices.get(p.deviceId)
      if (set?.delete(p) && set.size === 0) connectedDevices.delete(p.deviceId)
    },
    close: () => unwatchFile(passwords.path),
  }
}
