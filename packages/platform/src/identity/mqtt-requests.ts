/**
 * Requests devices make over MQTT, answered by the platform (docs/topics.md):
 *
 * - provisioning by claim: a client holding a template's claim token publishes to
 *   `$strata/provision/{clientId}/request` and hears back on `.../response` with its new
 *   device id and credential (a token, or a certificate for the CSR it sent);
 * - certificate rotation: a device publishes a CSR to `devices/{id}/certificates/create` and
 *   gets a new certificate on `devices/{id}/certificates/accepted` (or the reason on
 *   `.../rejected`); its current credential keeps working until revoked or expired.
 *
 * Payloads are JSON; a bad one gets a rejection with a code and a message, never silence.
 */
import type { ClientIdentity, Logger, PublishedMessage } from '@strata/broker'
import type { AuditLog } from '../audit/model.js'
import type { MqttPrincipal } from '../auth/mqtt-auth.js'
import { RegistryError, ValidationError } from '../registry/errors.js'
import { ID_PATTERN } from '../registry/model.js'
import type { RegistryRepository } from '../registry/repository.js'
import type { IdentityBackend } from './sqlite-identity.js'
import { X509Error } from './x509/index.js'

export interface DeviceRequestsOptions {
  identity: IdentityBackend
  registry: RegistryRepository
  audit: AuditLog
  logger: Logger
  /** Publishes a reply as the platform (QoS 1). */
  publish(message: PublishedMessage): Promise<void>
  /** Called once per provisioned device (metrics). */
  onProvisioned?(deviceId: string): void
}

/** Codes of replies that are not a registry or X.509 error (documented in docs/errors.md). */
export const DEVICE_REQUEST_ERROR_CODES = ['STRATA_REQUEST_BUSY', 'STRATA_REQUEST_FAILED'] as const

/** Replies are JSON objects with `ok`, and `code` + `message` when not ok. */
type Reply = { ok: true; [key: string]: unknown } | { ok: false; code: string; message: string }

const MAX_REQUEST_BYTES = 64 * 1024
const ROTATION_INTERVAL_MS = 60_000
const ROTATION_SUFFIX = '/certificates/create'
const MAX_LIVE_CERTIFICATES = 10

function parseRequest(payload: Buffer): Record<string, unknown> {
  if (payload.length > MAX_REQUEST_BYTES)
    throw new ValidationError('payload', `is larger than ${MAX_REQUEST_BYTES} bytes`)
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch {
    throw new ValidationError('payload', 'is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError('payload', 'must be a JSON object')
  return value as Record<string, unknown>
}

function failure(err: unknown, logger: Logger): Reply {
  if (err instanceof RegistryError || err instanceof X509Error)
    return { ok: false, code: err.code, message: err.message }
  logger.error({ err: (err as Error).message }, 'device request failed')
  return {
    ok: false,
    code: 'STRATA_REQUEST_FAILED',
    message: 'the request could not be completed; try again',
  }
}

const optionalString = (body: Record<string, unknown>, field: string): string | undefined => {
  const v = body[field]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw new ValidationError(field, 'must be a string')
  return v
}

/** Returns the broker's onPublish tap for device requests; other messages pass untouched. */
export function createDeviceRequests(
  options: DeviceRequestsOptions,
): (client: ClientIdentity | undefined, message: PublishedMessage) => void {
  const { identity, registry, audit, logger } = options
  /** One request at a time per client: signing is CPU work a client must not be able to queue up. */
  const busy = new Set<string>()
  /** Last rotation per device (bounded by the number of devices that rotate). */
  const lastRotation = new Map<string, number>()

  const reply = (topic: string, body: Reply, request: PublishedMessage): void => {
    const correlationData = request.properties?.correlationData
    options
      .publish({
        topic,
        payload: Buffer.from(JSON.stringify(body)),
        qos: 1,
        retain: false,
        properties: { contentType: 'application/json', ...(correlationData ? { correlationData } : {}) },
      })
      .catch((err: Error) => logger.error({ err: err.message, topic }, 'device request reply not published'))
  }

  async function provision(
    p: Extract<MqttPrincipal, { kind: 'claim' }>,
    message: PublishedMessage,
  ): Promise<Reply> {
    const body = parseRequest(message.payload)
    const serial = optionalString(body, 'serialNumber')
    const csrPem = optionalString(body, 'csrPem')
    const name = optionalString(body, 'name')
    const template = await identity.getTemplate(p.templateId)
    const deviceId = `${template.idPrefix}${serial ?? crypto.randomUUID().slice(0, 12)}`
    if (!ID_PATTERN.test(deviceId))
      throw new ValidationError('serialNumber', `gives the device id '${deviceId}', which is not a valid id`)
    if (template.credentialKind === 'certificate' && csrPem === undefined)
      throw new ValidationError('csrPem', 'this template issues certificates: send a CSR')
    if (!identity.reserveProvisioningSlot(template.id))
      throw new ValidationError('template', 'the provisioning template is disabled, expired or full')
    let created = false
    try {
      await registry.createDevice({
        id: deviceId,
        name: name ?? deviceId,
        typeId: template.typeId,
        groups: template.groups,
        tags: template.tags,
        metadata:
          serial === undefined
            ? { provisionedBy: template.id }
            : { provisionedBy: template.id, serialNumber: serial },
      })
      created = true
      const credential =
        template.credentialKind === 'certificate'
          ? {
              certificatePem: (
                await identity.issueCertificate(deviceId, { csrPem: csrPem as string, label: 'provisioned' })
              ).certificate?.pem,
            }
          : { token: (await identity.issueToken(deviceId, { label: 'provisioned' })).token }
      await audit.record({
        actor: `claim:${template.id}`,
        action: 'device.provision',
        targetKind: 'device',
        targetId: deviceId,
        details: {
          template: template.id,
          credentialKind: template.credentialKind,
          ...(serial ? { serialNumber: serial } : {}),
        },
      })
      options.onProvisioned?.(deviceId)
      return { ok: true, deviceId, ...credential, caCertificatePem: identity.ca.certificatePem }
    } catch (err) {
      if (created) await registry.deleteDevice(deviceId).catch(() => undefined)
      identity.releaseProvisioningSlot(template.id)
      throw err
    }
  }

  async function rotate(deviceId: string, message: PublishedMessage): Promise<Reply> {
    // A stolen credential must not mint certificates by the hundred (each one outlives the
    // credential that asked for it): one rotation a minute, and a cap on live certificates.
    const now = Date.now()
    const last = lastRotation.get(deviceId)
    if (last !== undefined && now - last < ROTATION_INTERVAL_MS)
      throw new ValidationError(
        'csrPem',
        `one certificate a minute: retry in ${Math.ceil((last + ROTATION_INTERVAL_MS - now) / 1000)} s`,
      )
    const live = (await identity.listCredentials(deviceId)).filter(
      (c) =>
        c.kind === 'certificate' && c.revokedAt === null && Date.parse(c.certificate?.notAfter ?? '') > now,
    )
    if (live.length >= MAX_LIVE_CERTIFICATES)
      throw new ValidationError(
        'csrPem',
        `the device already has ${live.length} valid certificates: revoke old ones first (strata device cert revoke)`,
      )
    const body = parseRequest(message.payload)
    const csrPem = optionalString(body, 'csrPem')
    if (csrPem === undefined) throw new ValidationError('csrPem', 'is required')
    const validityDays = body.validityDays
    const credential = await identity.issueCertificate(deviceId, {
      csrPem,
      label: 'rotated over MQTT',
      ...(validityDays === undefined ? {} : { validityDays: validityDays as number }),
    })
    // Only an issued certificate counts: a malformed request can be corrected and sent again at once.
    lastRotation.set(deviceId, now)
    await audit.record({
      actor: `device:${deviceId}`,
      action: 'credential.create',
      targetKind: 'credential',
      targetId: credential.id,
      details: { deviceId, kind: 'certificate', via: 'mqtt' },
    })
    return {
      ok: true,
      credentialId: credential.id,
      certificatePem: credential.certificate?.pem,
      notAfter: credential.certificate?.notAfter,
      caCertificatePem: identity.ca.certificatePem,
    }
  }

  function serve(key: string, work: () => Promise<Reply>, onReply: (r: Reply) => void): void {
    if (busy.has(key)) {
      onReply({
        ok: false,
        code: 'STRATA_REQUEST_BUSY',
        message: 'a request from this client is still being served',
      })
      return
    }
    busy.add(key)
    work()
      .catch((err: unknown) => failure(err, logger))
      .then(onReply)
      .finally(() => busy.delete(key))
  }

  return (client, message) => {
    const p = client?.principal as MqttPrincipal | undefined
    if (p?.kind === 'claim' && message.topic === p.request) {
      serve(
        client?.clientId ?? p.request,
        () => provision(p, message),
        (r) => reply(p.response, r, message),
      )
    } else if (
      p?.kind === 'device' &&
      // This runs for every device message: the cheap test first, the string built only on a hit.
      message.topic.endsWith(ROTATION_SUFFIX) &&
      message.topic === `${p.acl.namespace}certificates/create`
    ) {
      const base = `${p.acl.namespace}certificates/`
      serve(
        `device:${p.deviceId}`,
        () => rotate(p.deviceId, message),
        (r) => reply(r.ok ? `${base}accepted` : `${base}rejected`, r, message),
      )
    }
  }
}
