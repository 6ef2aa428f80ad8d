/**
 * The identity service on the embedded SQLite database it shares with the registry. Besides
 * the IdentityService contract it gives the broker's authentication what it looks up at
 * CONNECT (IdentityLookups) and tells the platform about revocations and grant changes, so
 * connected clients are cut off or re-authorized at once, not at their next connect.
 */
import { hashGeneratedSecret } from '../auth/password-hash.js'
import { AlreadyExistsError, InUseError, NotFoundError, ValidationError } from '../registry/errors.js'
import { checkId } from '../registry/model.js'
import type { CallOptions } from '../registry/repository.js'
import type { SqliteDb } from '../registry/sqlite-db.js'
import {
  checkCredentialKind,
  checkGrantAccess,
  checkGrantFilter,
  checkIdPrefix,
  checkLabel,
  checkMaxDevices,
  checkOptionalIso,
  checkPem,
  checkStringList,
  checkTags,
  checkValidityDays,
} from './input.js'
import type { AclGrant, DeviceCredential, IssuedToken } from './model.js'
import type {
  CreatedTemplate,
  IdentityService,
  NewProvisioningTemplate,
  ProvisioningTemplatePatch,
} from './service.js'
import {
  type AuthorityRow,
  type CredentialRow,
  type GrantRow,
  type TemplateRow,
  templateUnusable,
  toAuthority,
  toCredential,
  toGrant,
  toTemplate,
} from './sqlite-identity-rows.js'
import { newClaimToken, newDeviceToken, newId } from './tokens.js'
import { checkCaCertificate, type PlatformCa, parseCertificate, verifyIssuedBy } from './x509/index.js'

export const DEFAULT_CERT_VALIDITY_DAYS = 365

/** What the broker's authentication reads at CONNECT. Synchronous: SQLite answers in microseconds. */
export interface IdentityLookups {
  tokenCredential(
    credentialId: string,
  ): { deviceId: string; secretHash: string; revoked: boolean } | undefined
  certificateByFingerprint(
    fingerprint: string,
  ): { credentialId: string; deviceId: string; revoked: boolean } | undefined
  /** Enabled flag of a device, undefined if there is no such device. */
  deviceEnabled(deviceId: string): boolean | undefined
  /** A device's type id (null: none), undefined if there is no such device. */
  deviceTypeOf(deviceId: string): string | null | undefined
  claimTemplate(templateId: string): { secretHash: string; unusableReason: string | null } | undefined
  grantsOf(deviceId: string): AclGrant[]
  /** Ids of the registered (operator) CAs, to tell a CN-mapped certificate's issuer. */
  authorityPems(): string[]
}

export interface IdentityEvents {
  /** A credential was revoked: disconnect whoever uses it. */
  onRevoked(listener: (credential: DeviceCredential) => void): void
  /** A device's grants changed: re-read them for its connections. */
  onGrantsChanged(listener: (deviceId: string) => void): void
  /** A CA was registered or removed: the TLS listeners trust a new list. */
  onAuthoritiesChanged(listener: () => void): void
}

export interface IdentityBackend extends IdentityService, IdentityLookups, IdentityEvents {
  readonly ca: PlatformCa
  /** One provisioning slot of a template, taken atomically: false when the template is full, disabled or expired. */
  reserveProvisioningSlot(templateId: string): boolean
  releaseProvisioningSlot(templateId: string): void
}

export interface IdentityServiceOptions {
  db: SqliteDb
  ca: PlatformCa
  now?: () => Date
}

/** Opens the identity service on `db` and makes sure the platform CA is registered in it. */
export function createIdentityService(options: IdentityServiceOptions): IdentityBackend {
  const { db: s, ca } = options
  const now = options.now ?? (() => new Date())
  const stamp = (): string => now().toISOString()
  const revokedListeners: Array<(c: DeviceCredential) => void> = []
  const grantListeners: Array<(deviceId: string) => void> = []
  const authorityListeners: Array<() => void> = []
  const emit = <T extends unknown[]>(listeners: Array<(...a: T) => void>, ...args: T): void => {
    for (const l of listeners) l(...args)
  }

  // The platform CA is a row like any other CA, so certificates name their issuer uniformly.
  const platformId = ca.certificate.fingerprint
  s.db
    .prepare(
      `INSERT INTO certificate_authorities (id, name, certificate_pem, subject, not_after, platform, created_at)
       VALUES (?, 'Strata platform CA', ?, ?, ?, 1, ?) ON CONFLICT(id) DO NOTHING`,
    )
    .run(platformId, ca.certificatePem, ca.certificate.subject, ca.certificate.notAfter, stamp())

  const credentialRow = (id: string): CredentialRow => {
    const row = s.stmt('SELECT * FROM device_credentials WHERE id = ?').get(id) as CredentialRow | undefined
    if (!row) throw new NotFoundError('credential', id)
    return row
  }
  const requireDevice = (deviceId: string): void => {
    if (!s.stmt('SELECT 1 FROM devices WHERE id = ?').get(checkId(deviceId, 'deviceId')))
      throw new NotFoundError('device', deviceId)
  }
  const templateRow = (id: string): TemplateRow => {
    const row = s.stmt('SELECT * FROM provisioning_templates WHERE id = ?').get(id) as TemplateRow | undefined
    if (!row) throw new NotFoundError('provisioning template', id)
    return row
  }
  const insertCertificate = (
    deviceId: string,
    label: string,
    cert: ReturnType<typeof parseCertificate>,
    issuerId: string,
  ): DeviceCredential => {
    const id = newId('crt')
    try {
      s.stmt(
        `INSERT INTO device_credentials (id, device_id, kind, fingerprint, serial, issuer_id, certificate_pem, not_before, not_after, label, created_at)
         VALUES (?, ?, 'certificate', ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        id,
        deviceId,
        cert.fingerprint,
        cert.serial,
        issuerId,
        cert.pem,
        cert.notBefore,
        cert.notAfter,
        label,
        stamp(),
      )
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new AlreadyExistsError('credential', cert.fingerprint, { cause: err })
      throw err
    }
    return toCredential(credentialRow(id))
  }

  const service: IdentityBackend = {
    ca,

    async issueToken(deviceId, input, opts?: CallOptions): Promise<IssuedToken> {
      opts?.signal?.throwIfAborted()
      const label = checkLabel(input?.label)
      requireDevice(deviceId)
      const id = newId('tok')
      const token = newDeviceToken(id)
      const hash = await hashGeneratedSecret(token)
      return s.run(
        opts,
        () => {
          requireDevice(deviceId)
          s.stmt(
            `INSERT INTO device_credentials (id, device_id, kind, secret_hash, label, created_at) VALUES (?, ?, 'token', ?, ?, ?)`,
          ).run(id, deviceId, hash, label, stamp())
          return { credential: toCredential(credentialRow(id)), token }
        },
        true,
      )
    },

    async issueCertificate(deviceId, input, opts) {
      opts?.signal?.throwIfAborted()
      const label = checkLabel(input.label)
      const csrPem = checkPem(input.csrPem, 'csrPem', 'certificate signing request')
      const validityDays = checkValidityDays(input.validityDays, DEFAULT_CERT_VALIDITY_DAYS)
      requireDevice(deviceId)
      const cert = await ca.signCsr(csrPem, { commonName: deviceId, validityDays, now: now() })
      return s.run(
        opts,
        () => {
          requireDevice(deviceId)
          return insertCertificate(deviceId, label, cert, platformId)
        },
        true,
      )
    },

    async registerCertificate(deviceId, input, opts) {
      const label = checkLabel(input.label)
      const pem = checkPem(input.certificatePem, 'certificatePem', 'X.509 certificate')
      const cert = parseCertificate(pem)
      if (cert.isCa)
        throw new ValidationError('certificatePem', 'is a CA certificate, not a device certificate')
      if (Date.parse(cert.notAfter) <= now().getTime())
        throw new ValidationError('certificatePem', `expired on ${cert.notAfter}`)
      const issuer = (s.stmt('SELECT * FROM certificate_authorities').all() as AuthorityRow[]).find((a) =>
        verifyIssuedBy(cert.pem, a.certificate_pem),
      )
      if (!issuer)
        throw new ValidationError(
          'certificatePem',
          'is not issued by a registered certificate authority: register its CA first (POST /api/certificate-authorities)',
        )
      return s.run(
        opts,
        () => {
          requireDevice(deviceId)
          return insertCertificate(deviceId, label, cert, issuer.id)
        },
        true,
      )
    },

    listCredentials: (deviceId, opts) =>
      s.run(opts, () => {
        requireDevice(deviceId)
        return (
          s
            .stmt('SELECT * FROM device_credentials WHERE device_id = ? ORDER BY created_at, id')
            .all(deviceId) as CredentialRow[]
        ).map(toCredential)
      }),

    getCredential: (id, opts) => s.run(opts, () => toCredential(credentialRow(id))),

    async revokeCredential(id, reason, opts) {
      const why = checkLabel(reason, 'reason')
      const credential = await s.run(
        opts,
        () => {
          const row = credentialRow(id)
          if (row.revoked_at === null)
            s.stmt('UPDATE device_credentials SET revoked_at = ?, revoked_reason = ? WHERE id = ?').run(
              stamp(),
              why,
              id,
            )
          return toCredential(credentialRow(id))
        },
        true,
      )
      emit(revokedListeners, credential)
      return credential
    },

    listAuthorities: (opts) =>
      s.run(opts, () =>
        (
          s
            .stmt('SELECT * FROM certificate_authorities ORDER BY platform DESC, created_at, id')
            .all() as AuthorityRow[]
        ).map(toAuthority),
      ),

    getAuthority: (id, opts) =>
      s.run(opts, () => {
        const row = s.stmt('SELECT * FROM certificate_authorities WHERE id = ?').get(id) as
          | AuthorityRow
          | undefined
        if (!row) throw new NotFoundError('certificate authority', id)
        return toAuthority(row)
      }),

    async registerAuthority(input, opts) {
      const name = checkLabel(input.name, 'name')
      if (name === '') throw new ValidationError('name', 'must not be empty')
      const cert = checkCaCertificate(
        checkPem(input.certificatePem, 'certificatePem', 'CA certificate'),
        now(),
      )
      const authority = await s.run(
        opts,
        () => {
          if (s.stmt('SELECT 1 FROM certificate_authorities WHERE id = ?').get(cert.fingerprint))
            throw new AlreadyExistsError('certificate authority', cert.fingerprint)
          s.stmt(
            `INSERT INTO certificate_authorities (id, name, certificate_pem, subject, not_after, platform, created_at)
             VALUES (?, ?, ?, ?, ?, 0, ?)`,
          ).run(cert.fingerprint, name, cert.pem, cert.subject, cert.notAfter, stamp())
          return toAuthority(
            s
              .stmt('SELECT * FROM certificate_authorities WHERE id = ?')
              .get(cert.fingerprint) as AuthorityRow,
          )
        },
        true,
      )
      emit(authorityListeners)
      return authority
    },

    async removeAuthority(id, opts) {
      await s.run(
        opts,
        () => {
          const row = s.stmt('SELECT platform FROM certificate_authorities WHERE id = ?').get(id) as
            | { platform: number }
            | undefined
          if (!row) throw new NotFoundError('certificate authority', id)
          if (row.platform === 1) throw new InUseError('certificate authority', id, 0)
          s.stmt('DELETE FROM certificate_authorities WHERE id = ?').run(id)
        },
        true,
      )
      emit(authorityListeners)
    },

    async createTemplate(input: NewProvisioningTemplate, opts): Promise<CreatedTemplate> {
      opts?.signal?.throwIfAborted()
      const id = checkId(input.id)
      const name = input.name === undefined ? id : checkLabel(input.name, 'name')
      const typeId =
        input.typeId === undefined || input.typeId === null ? null : checkId(input.typeId, 'typeId')
      const groups = checkStringList(input.groups, 'groups')
      const tags = checkTags(input.tags)
      const idPrefix = input.idPrefix === undefined ? `${id}-` : checkIdPrefix(input.idPrefix)
      const credentialKind = checkCredentialKind(input.credentialKind)
      const maxDevices = checkMaxDevices(input.maxDevices)
      const expiresAt = checkOptionalIso(input.expiresAt, 'expiresAt')
      const claimToken = newClaimToken()
      const hash = await hashGeneratedSecret(claimToken)
      return s.run(
        opts,
        () => {
          if (s.stmt('SELECT 1 FROM provisioning_templates WHERE id = ?').get(id))
            throw new AlreadyExistsError('provisioning template', id)
          if (typeId !== null && !s.stmt('SELECT 1 FROM device_types WHERE id = ?').get(typeId))
            throw new NotFoundError('device type', typeId)
          for (const g of groups)
            if (!s.stmt('SELECT 1 FROM groups WHERE id = ?').get(g)) throw new NotFoundError('group', g)
          const at = stamp()
          s.stmt(
            `INSERT INTO provisioning_templates (id, name, claim_secret_hash, type_id, groups, tags, id_prefix, credential_kind, max_devices, provisioned, expires_at, enabled, version, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 1, 1, ?, ?)`,
          ).run(
            id,
            name,
            hash,
            typeId,
            JSON.stringify(groups),
            JSON.stringify(tags),
            idPrefix,
            credentialKind,
            maxDevices,
            expiresAt,
            at,
            at,
          )
          return { template: toTemplate(templateRow(id)), claimToken }
        },
        true,
      )
    },

    getTemplate: (id, opts) => s.run(opts, () => toTemplate(templateRow(id))),

    listTemplates: (opts) =>
      s.run(opts, () =>
        (s.stmt('SELECT * FROM provisioning_templates ORDER BY id').all() as TemplateRow[]).map(toTemplate),
      ),

    updateTemplate(id, patch: ProvisioningTemplatePatch, expectedVersion, opts) {
      return s.run(
        opts,
        () => {
          const row = templateRow(id)
          s.checkVersion('provisioning template', id, row.version, expectedVersion)
          const typeId =
            patch.typeId === undefined
              ? row.type_id
              : patch.typeId === null
                ? null
                : checkId(patch.typeId, 'typeId')
          if (typeId !== null && !s.stmt('SELECT 1 FROM device_types WHERE id = ?').get(typeId))
            throw new NotFoundError('device type', typeId)
          const groups =
            patch.groups === undefined
              ? (JSON.parse(row.groups) as string[])
              : checkStringList(patch.groups, 'groups')
          for (const g of groups)
            if (!s.stmt('SELECT 1 FROM groups WHERE id = ?').get(g)) throw new NotFoundError('group', g)
          if (patch.enabled !== undefined && typeof patch.enabled !== 'boolean')
            throw new ValidationError('enabled', 'must be true or false')
          s.stmt(
            `UPDATE provisioning_templates SET name = ?, type_id = ?, groups = ?, tags = ?, max_devices = ?, expires_at = ?, enabled = ?,
             version = version + 1, updated_at = ? WHERE id = ?`,
          ).run(
            patch.name === undefined ? row.name : checkLabel(patch.name, 'name'),
            typeId,
            JSON.stringify(groups),
            patch.tags === undefined ? row.tags : JSON.stringify(checkTags(patch.tags)),
            patch.maxDevices === undefined ? row.max_devices : checkMaxDevices(patch.maxDevices),
            patch.expiresAt === undefined ? row.expires_at : checkOptionalIso(patch.expiresAt, 'expiresAt'),
            patch.enabled === undefined ? row.enabled : patch.enabled ? 1 : 0,
            stamp(),
            id,
          )
          return toTemplate(templateRow(id))
        },
        true,
      )
    },

    deleteTemplate: (id, expectedVersion, opts) =>
      s.run(
        opts,
        () => {
          const row = templateRow(id)
          s.checkVersion('provisioning template', id, row.version, expectedVersion)
          s.stmt('DELETE FROM provisioning_templates WHERE id = ?').run(id)
        },
        true,
      ),

    listGrants: (deviceId, opts) =>
      s.run(opts, () => {
        requireDevice(deviceId)
        return service.grantsOf(deviceId)
      }),

    async addGrant(deviceId, input, opts) {
      const topicFilter = checkGrantFilter(input.topicFilter)
      const access = checkGrantAccess(input.access)
      const grant = await s.run(
        opts,
        () => {
          requireDevice(deviceId)
          const id = newId('grt')
          s.stmt(
            'INSERT INTO acl_grants (id, device_id, topic_filter, access, created_at) VALUES (?, ?, ?, ?, ?)',
          ).run(id, deviceId, topicFilter, access, stamp())
          return toGrant(s.stmt('SELECT * FROM acl_grants WHERE id = ?').get(id) as GrantRow)
        },
        true,
      )
      emit(grantListeners, deviceId)
      return grant
    },

    async removeGrant(id, opts) {
      const deviceId = await s.run(
        opts,
        () => {
          const row = s.stmt('SELECT device_id FROM acl_grants WHERE id = ?').get(id) as
            | { device_id: string }
            | undefined
          if (!row) throw new NotFoundError('ACL grant', id)
          s.stmt('DELETE FROM acl_grants WHERE id = ?').run(id)
          return row.device_id
        },
        true,
      )
      emit(grantListeners, deviceId)
    },

    // ---- lookups for the broker ------------------------------------------------------

    tokenCredential(credentialId) {
      const row = s
        .stmt(
          `SELECT device_id, secret_hash, revoked_at FROM device_credentials WHERE id = ? AND kind = 'token'`,
        )
        .get(credentialId) as
        | { device_id: string; secret_hash: string; revoked_at: string | null }
        | undefined
      return row && { deviceId: row.device_id, secretHash: row.secret_hash, revoked: row.revoked_at !== null }
    },

    certificateByFingerprint(fingerprint) {
      const row = s
        .stmt('SELECT id, device_id, revoked_at FROM device_credentials WHERE fingerprint = ?')
        .get(fingerprint) as { id: string; device_id: string; revoked_at: string | null } | undefined
      return row && { credentialId: row.id, deviceId: row.device_id, revoked: row.revoked_at !== null }
    },

    deviceEnabled(deviceId) {
      const row = s.stmt('SELECT enabled FROM devices WHERE id = ?').get(deviceId) as
        | { enabled: number }
        | undefined
      return row === undefined ? undefined : row.enabled === 1
    },

    deviceTypeOf(deviceId) {
      const row = s.stmt('SELECT type_id FROM devices WHERE id = ?').get(deviceId) as
        | { type_id: string | null }
        | undefined
      return row === undefined ? undefined : row.type_id
    },

    claimTemplate(templateId) {
      const row = s
        .stmt(
          'SELECT claim_secret_hash, enabled, expires_at, max_devices, provisioned FROM provisioning_templates WHERE id = ?',
        )
        .get(templateId) as
        | Pick<TemplateRow, 'claim_secret_hash' | 'enabled' | 'expires_at' | 'max_devices' | 'provisioned'>
        | undefined
      if (!row) return undefined
      return { secretHash: row.claim_secret_hash, unusableReason: templateUnusable(row, now()) }
    },

    grantsOf(deviceId) {
      return (
        s
          .stmt('SELECT * FROM acl_grants WHERE device_id = ? ORDER BY created_at, id')
          .all(deviceId) as GrantRow[]
      ).map(toGrant)
    },

    authorityPems() {
      return (
        s.stmt('SELECT certificate_pem FROM certificate_authorities ORDER BY id').all() as Array<{
          certificate_pem: string
        }>
      ).map((r) => r.certificate_pem)
    },

    reserveProvisioningSlot(templateId) {
      return s.db
        .transaction(() => {
          const row = s.stmt('SELECT * FROM provisioning_templates WHERE id = ?').get(templateId) as
            | TemplateRow
            | undefined
          if (!row || templateUnusable(row, now()) !== null) return false
          s.stmt('UPDATE provisioning_templates SET provisioned = provisioned + 1 WHERE id = ?').run(
            templateId,
          )
          return true
        })
        .immediate()
    },

    releaseProvisioningSlot(templateId) {
      s.stmt('UPDATE provisioning_templates SET provisioned = MAX(provisioned - 1, 0) WHERE id = ?').run(
        templateId,
      )
    },

    onRevoked: (l) => void revokedListeners.push(l),
    onGrantsChanged: (l) => void grantListeners.push(l),
    onAuthoritiesChanged: (l) => void authorityListeners.push(l),
  }
  return service
}
