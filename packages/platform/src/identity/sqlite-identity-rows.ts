/**
 * Rows of the identity tables (migration 4) and their model records: the SQLite side of
 * sqlite-identity.ts, kept apart so the service reads as behaviour, not column mapping.
 */
import type { AclGrant, CertificateAuthority, DeviceCredential, ProvisioningTemplate } from './model.js'

export interface CredentialRow {
  id: string
  device_id: string
  kind: 'token' | 'certificate'
  secret_hash: string | null
  fingerprint: string | null
  serial: string | null
  issuer_id: string | null
  certificate_pem: string | null
  not_before: string | null
  not_after: string | null
  label: string
  created_at: string
  revoked_at: string | null
  revoked_reason: string | null
}

export interface AuthorityRow {
  id: string
  name: string
  certificate_pem: string
  subject: string
  not_after: string
  platform: number
  created_at: string
}

export interface TemplateRow {
  id: string
  name: string
  claim_secret_hash: string
  type_id: string | null
  groups: string
  tags: string
  id_prefix: string
  credential_kind: 'token' | 'certificate'
  max_devices: number | null
  provisioned: number
  expires_at: string | null
  enabled: number
  version: number
  created_at: string
  updated_at: string
}

export interface GrantRow {
  id: string
  device_id: string
  topic_filter: string
  access: AclGrant['access']
  created_at: string
}

export const toCredential = (r: CredentialRow): DeviceCredential => ({
  id: r.id,
  deviceId: r.device_id,
  kind: r.kind,
  label: r.label,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  revokedReason: r.revoked_reason,
  certificate:
    r.kind === 'certificate'
      ? {
          fingerprint: r.fingerprint ?? '',
          serial: r.serial ?? '',
          issuerId: r.issuer_id ?? '',
          notBefore: r.not_before ?? '',
          notAfter: r.not_after ?? '',
          pem: r.certificate_pem ?? '',
        }
      : null,
})

export const toAuthority = (r: AuthorityRow): CertificateAuthority => ({
  id: r.id,
  name: r.name,
  subject: r.subject,
  notAfter: r.not_after,
  platform: r.platform === 1,
  createdAt: r.created_at,
  certificatePem: r.certificate_pem,
})

export const toTemplate = (r: TemplateRow): ProvisioningTemplate => ({
  id: r.id,
  name: r.name,
  typeId: r.type_id,
  groups: JSON.parse(r.groups) as string[],
  tags: JSON.parse(r.tags) as Record<string, string>,
  idPrefix: r.id_prefix,
  credentialKind: r.credential_kind,
  maxDevices: r.max_devices,
  provisioned: r.provisioned,
  expiresAt: r.expires_at,
  enabled: r.enabled === 1,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

export const toGrant = (r: GrantRow): AclGrant => ({
  id: r.id,
  deviceId: r.device_id,
  topicFilter: r.topic_filter,
  access: r.access,
  createdAt: r.created_at,
})

/** Why a template cannot provision now, or null if it can. */
export function templateUnusable(
  row: Pick<TemplateRow, 'enabled' | 'expires_at' | 'max_devices' | 'provisioned'>,
  now: Date,
): string | null {
  if (row.enabled !== 1) return 'the provisioning template is disabled'
  if (row.expires_at !== null && Date.parse(row.expires_at) <= now.getTime())
    return 'the provisioning template has expired'
  if (row.max_devices !== null && row.provisioned >= row.max_devices)
    return `the provisioning template's limit of ${row.max_devices} devices is reached`
  return null
}
