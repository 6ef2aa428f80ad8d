/**
 * The identity service's contract: device credentials, certificate authorities, provisioning
 * templates and ACL grants. The HTTP API and the CLI depend only on this interface; the broker
 * side (authentication, provisioning and rotation over MQTT) is wired in by the platform.
 * Revocations, disabled and deleted devices take effect on connected clients within seconds.
 */
import type { CallOptions } from '../registry/repository.js'
import type {
  AclGrant,
  CertificateAuthority,
  DeviceCredential,
  GrantAccess,
  IssuedToken,
  ProvisioningTemplate,
} from './model.js'

export interface NewProvisioningTemplate {
  id: string
  name?: string
  typeId?: string | null
  groups?: string[]
  tags?: Record<string, string>
  /** Default: `<id>-`. */
  idPrefix?: string
  /** Default 'token'. */
  credentialKind?: 'token' | 'certificate'
  maxDevices?: number | null
  expiresAt?: string | null
}

export interface ProvisioningTemplatePatch {
  name?: string
  typeId?: string | null
  groups?: string[]
  tags?: Record<string, string>
  maxDevices?: number | null
  expiresAt?: string | null
  enabled?: boolean
}

/** The claim token is shown once; devices use it as their MQTT password while claiming. */
export interface CreatedTemplate {
  template: ProvisioningTemplate
  claimToken: string
}

export interface IdentityService {
  /** A new secret token for the device (NotFoundError if no such device). */
  issueToken(deviceId: string, input?: { label?: string }, options?: CallOptions): Promise<IssuedToken>
  /** Signs the device's CSR with the platform CA; the certificate's CN is the device id, whatever the CSR asked. */
  issueCertificate(
    deviceId: string,
    input: { csrPem: string; label?: string; validityDays?: number },
    options?: CallOptions,
  ): Promise<DeviceCredential>
  /** A certificate issued by a CA the operator registered, bound to this device. */
  registerCertificate(
    deviceId: string,
    input: { certificatePem: string; label?: string },
    options?: CallOptions,
  ): Promise<DeviceCredential>
  listCredentials(deviceId: string, options?: CallOptions): Promise<DeviceCredential[]>
  getCredential(id: string, options?: CallOptions): Promise<DeviceCredential>
  /** Connected clients using it are disconnected (0x87 Not authorized / close) at once. */
  revokeCredential(id: string, reason?: string, options?: CallOptions): Promise<DeviceCredential>

  listAuthorities(options?: CallOptions): Promise<CertificateAuthority[]>
  getAuthority(id: string, options?: CallOptions): Promise<CertificateAuthority>
  /** An operator's CA; must be a CA certificate (basicConstraints cA) that has not expired. */
  registerAuthority(
    input: { name: string; certificatePem: string },
    options?: CallOptions,
  ): Promise<CertificateAuthority>
  /** The platform CA cannot be removed (InUseError). */
  removeAuthority(id: string, options?: CallOptions): Promise<void>

  createTemplate(input: NewProvisioningTemplate, options?: CallOptions): Promise<CreatedTemplate>
  getTemplate(id: string, options?: CallOptions): Promise<ProvisioningTemplate>
  listTemplates(options?: CallOptions): Promise<ProvisioningTemplate[]>
  updateTemplate(
    id: string,
    patch: ProvisioningTemplatePatch,
    expectedVersion: number,
    options?: CallOptions,
  ): Promise<ProvisioningTemplate>
  deleteTemplate(id: string, expectedVersion?: number, options?: CallOptions): Promise<void>

  listGrants(deviceId: string, options?: CallOptions): Promise<AclGrant[]>
  /** ValidationError for a filter that is not a valid MQTT topic filter or starts with `$`. */
  addGrant(
    deviceId: string,
    input: { topicFilter: string; access: GrantAccess },
    options?: CallOptions,
  ): Promise<AclGrant>
  removeGrant(id: string, options?: CallOptions): Promise<void>
}
