/**
 * Certificate rotation over MQTT (docs/topics.md, "Certificate rotation"): publish a CSR to
 * `devices/{id}/certificates/create`, get the certificate on `.../accepted` or the reason on
 * `.../rejected`. The current credential keeps working; connect with the new certificate
 * next time, then have the old credential revoked. The platform allows one rotation a
 * minute and ten live certificates per device.
 */
import type { Connection } from './connection.js'
import { BadReplyError, DeviceOptionsError } from './errors.js'
import { request } from './request.js'

export interface RotateCertificateOptions {
  /** A PKCS#10 CSR (PEM) for the new key; the certificate's CN will be the device id whatever it asks. */
  csrPem: string
  /** Default: the platform's (365 days). */
  validityDays?: number
  signal?: AbortSignal
}

export interface RotatedCertificate {
  credentialId: string
  certificatePem: string
  /** RFC 3339. */
  notAfter: string
  caCertificatePem: string
}

/**
 * Rejects with RequestRefusedError (the platform's code and message: a bad CSR, too soon
 * after the last rotation...), ConnectionLostError (the connection ended before the
 * reply: ask again; the platform may have issued one meanwhile), or the abort reason.
 */
export async function rotateCertificate(
  connection: Connection,
  deviceId: string,
  protocolVersion: 4 | 5,
  options: RotateCertificateOptions,
): Promise<RotatedCertificate> {
  if (typeof options.csrPem !== 'string' || options.csrPem === '')
    throw new DeviceOptionsError('csrPem must be a PEM CSR')
  const base = `devices/${deviceId}/certificates`
  const body: Record<string, unknown> = { csrPem: options.csrPem }
  if (options.validityDays !== undefined) body.validityDays = options.validityDays
  const reply = await request(connection, {
    requestTopic: `${base}/create`,
    replyTopics: [`${base}/accepted`, `${base}/rejected`],
    body,
    protocolVersion,
    ...(options.signal ? { signal: options.signal } : {}),
  })
  const out: Partial<RotatedCertificate> = {}
  for (const field of ['credentialId', 'certificatePem', 'notAfter', 'caCertificatePem'] as const) {
    const v = reply[field]
    if (typeof v !== 'string') throw new BadReplyError(`rotation reply field ${field} is missing`)
    out[field] = v
  }
  return out as RotatedCertificate
}
