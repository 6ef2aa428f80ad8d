/** Validation of identity inputs; every failure is a ValidationError naming the field. */
import { validateTopicFilter } from '@strata/protocol'
import { ValidationError } from '../registry/errors.js'
import { checkId } from '../registry/model.js'
import { CREDENTIAL_KINDS, type CredentialKind, GRANT_ACCESS, type GrantAccess } from './model.js'

export const MAX_LABEL = 100
export const MAX_VALIDITY_DAYS = 3650
/** Grants longer than this are refused: the broker's own limit is 1024 bytes per filter. */
const MAX_FILTER_BYTES = 1024

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) < 0x20 || text.charCodeAt(i) === 0x7f) return true
  return false
}

export function checkLabel(value: unknown, field = 'label'): string {
  if (value === undefined) return ''
  if (typeof value !== 'string' || value.length > MAX_LABEL || hasControlCharacter(value))
    throw new ValidationError(field, `must be a string of at most ${MAX_LABEL} printable characters`)
  return value
}

export function checkValidityDays(value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_VALIDITY_DAYS)
    throw new ValidationError('validityDays', `must be a whole number of days from 1 to ${MAX_VALIDITY_DAYS}`)
  return value
}

export function checkPem(value: unknown, field: string, kind: string): string {
  if (typeof value !== 'string' || value.length > 64 * 1024 || !value.includes('-----BEGIN '))
    throw new ValidationError(field, `must be a PEM-encoded ${kind}`)
  return value
}

export function checkCredentialKind(value: unknown, field = 'credentialKind'): CredentialKind {
  if (value === undefined) return 'token'
  if (!CREDENTIAL_KINDS.includes(value as CredentialKind))
    throw new ValidationError(field, `must be one of ${CREDENTIAL_KINDS.join(', ')}`)
  return value as CredentialKind
}

export function checkGrantAccess(value: unknown): GrantAccess {
  if (!GRANT_ACCESS.includes(value as GrantAccess))
    throw new ValidationError('access', `must be one of ${GRANT_ACCESS.join(', ')}`)
  return value as GrantAccess
}

/**
 * A grant is an MQTT topic filter outside the broker's `$` space: `$SYS` and `$strata`
 * (provisioning replies carry secrets) are never granted. Shared-subscription prefixes are
 * not part of a grant; the ACL strips them before matching.
 */
export function checkGrantFilter(value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError('topicFilter', 'must be a string')
  if (value.startsWith('$'))
    throw new ValidationError(
      'topicFilter',
      "topics starting with '$' are the broker's and cannot be granted",
    )
  const problem = validateTopicFilter(value, MAX_FILTER_BYTES)
  if (problem !== undefined) throw new ValidationError('topicFilter', problem)
  return value
}

export function checkOptionalIso(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value)) || !/^\d{4}-\d{2}-\d{2}T/.test(value))
    throw new ValidationError(field, 'must be an ISO 8601 date-time such as 2027-01-31T00:00:00Z')
  return new Date(value).toISOString()
}

export function checkMaxDevices(value: unknown): number | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 10_000_000)
    throw new ValidationError('maxDevices', 'must be a whole number from 1 to 10000000, or null for no limit')
  return value
}

/** Provisioned ids are `<idPrefix><serial>`, so the prefix follows the id rules (it may end in '-'). */
export function checkIdPrefix(value: unknown): string {
  if (typeof value !== 'string' || value.length > 64)
    throw new ValidationError('idPrefix', 'must be at most 64 characters')
  if (value !== '') checkId(`${value}x`, 'idPrefix')
  return value
}

export function checkStringList(value: unknown, field: string): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.length > 64)
    throw new ValidationError(field, 'must be a list of at most 64 ids')
  return [...new Set(value.map((v, i) => checkId(v, `${field}[${i}]`)))].sort()
}

export function checkTags(value: unknown): Record<string, string> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError('tags', 'must be an object of string values')
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new ValidationError(`tags.${k}`, 'must be a string')
    out[k] = v
  }
  return out
}
