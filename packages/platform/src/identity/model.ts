/**
 * Device identity: credentials (secret tokens, X.509 certificates), the certificate
 * authorities devices' certificates chain to, fleet-provisioning templates, and the topic
 * grants an operator adds to a device's own namespace. Pure types; storage in
 * sqlite-identity.ts, behaviour in service.ts.
 */

export const CREDENTIAL_KINDS = ['token', 'certificate'] as const
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number]

export interface CertificateInfo {
  /** SHA-256 of the DER, lowercase hex: how a TLS peer certificate is matched to its device. */
  fingerprint: string
  serial: string
  /** Id of the CA that issued it (its fingerprint). */
  issuerId: string
  notBefore: string
  notAfter: string
  pem: string
}

export interface DeviceCredential {
  /** `tok_` or `crt_` and 16 hex digits. */
  id: string
  deviceId: string
  kind: CredentialKind
  label: string
  createdAt: string
  revokedAt: string | null
  revokedReason: string | null
  /** Certificates only. */
  certificate: CertificateInfo | null
}

/** A new token credential; `token` is shown once (only its scrypt hash is stored). */
export interface IssuedToken {
  credential: DeviceCredential
  token: string
}

export interface CertificateAuthority {
  /** SHA-256 fingerprint of the CA certificate. */
  id: string
  name: string
  subject: string
  notAfter: string
  /** true for the platform's own CA, created on first start. */
  platform: boolean
  createdAt: string
  certificatePem: string
}

export interface ProvisioningTemplate {
  id: string
  name: string
  /** Device type, groups and tags every device provisioned with this template gets. */
  typeId: string | null
  groups: string[]
  tags: Record<string, string>
  /** Provisioned devices are named `<idPrefix><serial or random>`. */
  idPrefix: string
  /** What a provisioned device receives: a token, or a certificate for its CSR. */
  credentialKind: CredentialKind
  /** null: no limit. */
  maxDevices: number | null
  provisioned: number
  expiresAt: string | null
  enabled: boolean
  version: number
  createdAt: string
  updatedAt: string
}

export const GRANT_ACCESS = ['publish', 'subscribe', 'all'] as const
export type GrantAccess = (typeof GRANT_ACCESS)[number]

/** A topic filter outside `devices/{id}/` that an operator lets one device use. */
export interface AclGrant {
  id: string
  deviceId: string
  topicFilter: string
  access: GrantAccess
  createdAt: string
}
