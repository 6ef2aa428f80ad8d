import { X509Certificate } from 'node:crypto'
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
import { isClaimToken, parseDeviceToken } from '../identity/tokens.js'
import { fingerprintOfDer } from '../identity/x509/index.js'
import { DeviceAcl, provisioningTopics } from './device-acl.js'
import { PasswordFile, VerifiedCredentialCache } from './password-file.js'
import { verifyPassword } from './password-hash.js'

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
  /** PEM of the platform CA: its certificates must match a credential, never a CN. */
  platformCaPem?: string
  /** PEM bundle of --tls-ca: its certificates may map by CN (to a device, else to a user). */
  operatorCaPem?: string
  observer?: AuthObserver
  /** Re-read the password file when it changes on disk (checked every second). Default true. */
  watch?: boolean
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
  const { logger, identity, observer } = options
  const platformCas = bundle(options.platformCaPem)
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
    return { ok: true, principal }
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
    // A platform-issued certificate without a credential row was revoked by deleting its
    // device: a new device with the same id must not inherit it through the CN.
    if (platformCas.some((ca) => x509.checkIssued(ca) && x509.verify(ca.publicKey)))
      return refuse(ReasonCode.NotAuthorized, 'certificate not registered to any device')
    const cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : ''
    if (identity?.deviceEnabled(cn) !== undefined) return device(request, cn, null)
    // Mosquitto's use_identity_as_username, for certificates of the operator's --tls-ca.
    if (cn !== '' && operatorCas.some((ca) => x509.checkIssued(ca) && x509.verify(ca.publicKey))) {
      if (takesDeviceId(request.clientId))
        return refuse(ReasonCode.ClientIdentifierNotValid, 'that client id belongs to a registered device')
      return { ok: true, principal: { kind: 'user', username: cn } satisfies MqttPrincipal }
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
      const token = parseDeviceToken(text)
      if (token && identity) {
        const row = identity.tokenCredential(token.credentialId)
        if (!row || row.deviceId !== username || !(await cachedVerify(username, password, row.secretHash)))
          return refuse(ReasonCode.BadUserNameOrPassword, 'bad device id or token')
        if (row.revoked) return refuse(ReasonCode.NotAuthorized, 'token revoked')
        return device(request, row.deviceId, token.credentialId)
      }
      if (isClaimToken(text) && identity) {
        const template = identity.claimTemplate(username)
        if (!template || !(await cachedVerify(`claim:${username}`, password, template.secretHash)))
          return refuse(ReasonCode.BadUserNameOrPassword, 'bad provisioning template or claim token')
        if (template.unusableReason !== null) return refuse(ReasonCode.NotAuthorized, template.unusableReason)
        if (!/^[^/+#]{1,128}$/.test(request.clientId) || takesDeviceId(request.clientId))
          return refuse(
            ReasonCode.ClientIdentifierNotValid,
            "a claiming client needs its own client id (1-128 characters, no '/', '+' or '#')",
          )
        const topics = provisioningTopics(request.clientId)
        const principal: MqttPrincipal = { kind: 'claim', templateId: username, ...topics }
        return { ok: true, principal }
      }
      if (cache.has(username, password) || (await passwords.verify(username, password))) {
        cache.add(username, password)
        if (takesDeviceId(request.clientId))
          return refuse(ReasonCode.ClientIdentifierNotValid, 'that client id belongs to a registered device')
        return { ok: true, principal: { kind: 'user', username } satisfies MqttPrincipal }
      }
      return refuse(ReasonCode.BadUserNameOrPassword, 'bad user name or password')
    }
    if (options.allowAnonymous) {
      if (takesDeviceId(request.clientId))
        return refuse(ReasonCode.ClientIdentifierNotValid, 'that client id belongs to a registered device')
      return { ok: true, principal: { kind: 'anonymous' } satisfies MqttPrincipal }
    }
    return refuse(
      request.username === undefined ? ReasonCode.NotAuthorized : ReasonCode.BadUserNameOrPassword,
      'anonymous access is disabled: connect with a username and password or a client certificate',
    )
  }

  /** scrypt once per (name, secret) pair; reconnects of the same device are then a hash lookup. */
  async function cachedVerify(name: string, password: Buffer, hash: string): Promise<boolean> {
    if (cache.has(name, password)) return true
    if (!(await verifyPassword(password, hash))) return false
    cache.add(name, password)
    return true
  }

  const principalOf = (client: ClientIdentity): MqttPrincipal =>
    (client.principal as MqttPrincipal | undefined) ?? { kind: 'anonymous' }

  function authorizePublish(client: ClientIdentity, topic: string): boolean {
    const p = principalOf(client)
    let ok: boolean
    switch (p.kind) {
      case 'device':
        ok = p.acl.canPublish(topic)
        break
      case 'claim':
        ok = topic === p.request
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
