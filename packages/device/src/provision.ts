/**
 * Provisioning by claim (docs/topics.md, "Provisioning by claim"): a factory-fresh device
 * connects with its template's claim token, asks for an identity on
 * `$strata/provision/{clientId}/request` and gets it on `.../response`. It then connects
 * again as itself (`connectDevice` with the returned id and token or certificate).
 */
import { withTimeout } from './abort.js'
import { Backoff, type BackoffOptions } from './backoff.js'
import { Connection } from './connection.js'
import { BadReplyError, DeviceOptionsError } from './errors.js'
import { checkUrl, type Logger, type TlsOptions } from './options.js'
import { request } from './request.js'

export interface ProvisionOptions {
  /** The broker: `mqtt://`, `mqtts://`, `ws://` or `wss://`. */
  url: string
  /** The provisioning template's id: the MQTT username while claiming. */
  templateId: string
  /** The template's claim token (`scl_...`): the MQTT password while claiming. */
  claimToken: string
  /** The MQTT client id while claiming: the device's own (its serial number, say); not a device id. */
  clientId: string
  /** Becomes the device id's suffix (the template's `idPrefix` + serial); default a random one. */
  serialNumber?: string
  /** The device's display name. Default: its id. */
  name?: string
  /** A PKCS#10 CSR (PEM): required by a certificate template, which answers with `certificatePem`. */
  csrPem?: string
  /** Default 5. */
  protocolVersion?: 4 | 5
  /** Bounds the whole round trip (connect included) together with `timeoutMs`. */
  signal?: AbortSignal
  /** Default 30,000 ms. */
  timeoutMs?: number
  tls?: TlsOptions
  reconnect?: BackoffOptions
  logger?: Logger
}

export interface ProvisionResult {
  deviceId: string
  /** The device token (`sdt_...`), shown once: store it. For a token template. */
  token?: string
  /** The signed certificate, for a certificate template. */
  certificatePem?: string
  /** The platform CA: verifies certificates it issued. */
  caCertificatePem: string
}

function str(reply: Record<string, unknown>, field: string): string | undefined {
  const v = reply[field]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw new BadReplyError(`provisioning reply field ${field} is not a string`)
  return v
}

/**
 * Claims an identity. Rejects with ConnectionRefusedError (a wrong, expired, disabled or
 * full template at CONNECT), RequestRefusedError (the platform's `code` and `message`, e.g.
 * STRATA_REGISTRY_EXISTS for a serial already provisioned), or the abort reason.
 */
export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  checkUrl(options.url)
  for (const field of ['templateId', 'claimToken', 'clientId'] as const)
    if (typeof options[field] !== 'string' || options[field] === '')
      throw new DeviceOptionsError(`${field} must be a non-empty string`)
  if (/[+#/]/.test(options.clientId))
    throw new DeviceOptionsError(
      `clientId ${JSON.stringify(options.clientId)} cannot contain '/', '+' or '#'`,
    )
  const protocolVersion = options.protocolVersion ?? 5
  const signal = withTimeout(options.signal, options.timeoutMs ?? 30_000)
  const connection = new Connection({
    url: options.url,
    clientId: options.clientId,
    username: options.templateId,
    password: options.claimToken,
    protocolVersion,
    keepaliveSeconds: 60,
    connectTimeoutMs: 10_000,
    tls: options.tls ?? {},
    backoff: new Backoff(options.reconnect),
    ...(options.logger ? { logger: options.logger } : {}),
  })
  connection.start()
  try {
    const body: Record<string, unknown> = {}
    if (options.serialNumber !== undefined) body.serialNumber = options.serialNumber
    if (options.name !== undefined) body.name = options.name
    if (options.csrPem !== undefined) body.csrPem = options.csrPem
    const base = `$strata/provision/${options.clientId}`
    const reply = await request(connection, {
      requestTopic: `${base}/request`,
      replyTopics: [`${base}/response`],
      body,
      protocolVersion,
      signal,
    })
    const deviceId = str(reply, 'deviceId')
    const caCertificatePem = str(reply, 'caCertificatePem')
    if (deviceId === undefined || caCertificatePem === undefined)
      throw new BadReplyError('provisioning reply lacks deviceId or caCertificatePem')
    const result: ProvisionResult = { deviceId, caCertificatePem }
    const token = str(reply, 'token')
    const certificatePem = str(reply, 'certificatePem')
    if (token !== undefined) result.token = token
    if (certificatePem !== undefined) result.certificatePem = certificatePem
    return result
  } finally {
    await connection.close()
  }
}
