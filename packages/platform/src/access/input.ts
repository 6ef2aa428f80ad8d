/**
 * Checks of what callers hand to the access service, shared by every implementation so that
 * they refuse the same inputs with the same ValidationError (and the HTTP API can reuse them).
 */
import { ValidationError } from '../registry/errors.js'
import type { NewApiKey, NewUser, Role, Scope, UserPatch } from './model.js'
import { ROLES, SCOPES } from './model.js'

/**
 * Lower case only, so that `Alice` and `alice` cannot be two accounts and a login can be
 * matched case-insensitively; no '@', ':', '/' or spaces, so a username goes into URLs
 * (`/users/NAME`) and audit actors (`user:NAME`) without escaping and reads unambiguously.
 */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/
/** NIST SP 800-63B §5.1.1.2: at least 8, we ask 12; the upper bound caps the work per login. */
export const MIN_PASSWORD = 12
export const MAX_PASSWORD = 1024
export const MAX_API_KEY_NAME = 100
/** Setup tokens live from a minute to a month. */
export const MIN_SETUP_TTL_MS = 60_000
export const MAX_SETUP_TTL_MS = 30 * 24 * 3600_000

/** ISO 8601 date and time with a zone; the year has 4 digits so stored values sort as text. */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/

/** Date.parse rolls 2031-02-30 over to March 2: refuse days the month does not have. */
function parseIsoTime(value: unknown): number {
  const m = typeof value === 'string' ? ISO_TIME.exec(value) : null
  if (!m) return Number.NaN
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const date = new Date(Date.UTC(year, month - 1, day))
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return Number.NaN
  return Date.parse(value as string)
}

const show = (v: unknown): string => {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v)
  return s.length > 40 ? `${s.slice(0, 40)}…` : s
}

function checkObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, 'must be an object')
  }
  return value as Record<string, unknown>
}

export function checkUsername(value: unknown, field = 'username'): string {
  if (typeof value !== 'string' || !USERNAME_PATTERN.test(value)) {
    throw new ValidationError(
      field,
      `${show(value)} is not a valid username: 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit (lower case only)`,
    )
  }
  return value
}

/** Counted in code points, so that an emoji is one character as the user sees it. */
export function checkPassword(value: unknown, username: string, field = 'password'): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string')
  const length = [...value].length
  if (length < MIN_PASSWORD) {
    throw new ValidationError(field, `must be at least ${MIN_PASSWORD} characters long (got ${length})`)
  }
  if (length > MAX_PASSWORD) {
    throw new ValidationError(field, `must be at most ${MAX_PASSWORD} characters long (got ${length})`)
  }
  if (value.toLowerCase() === String(username).toLowerCase()) {
    throw new ValidationError(field, 'must not be the username')
  }
  return value
}

export function checkRole(value: unknown, field = 'role'): Role {
  if (!ROLES.includes(value as Role)) {
    throw new ValidationError(field, `${show(value)} is not a role: one of ${ROLES.join(', ')}`)
  }
  return value as Role
}

/** At least one scope, each known and listed once; returned in catalogue order. */
export function checkScopes(value: unknown, field = 'scopes'): Scope[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ValidationError(field, 'must be a non-empty array of scopes')
  }
  const seen = new Set<Scope>()
  value.forEach((s: unknown, i) => {
    if (!SCOPES.includes(s as Scope)) {
      throw new ValidationError(`${field}[${i}]`, `${show(s)} is not a scope: one of ${SCOPES.join(', ')}`)
    }
    if (seen.has(s as Scope)) throw new ValidationError(`${field}[${i}]`, `'${s}' is listed twice`)
    seen.add(s as Scope)
  })
  return SCOPES.filter((s) => seen.has(s))
}

export function checkApiKeyName(value: unknown, field = 'name'): string {
  if (
    typeof value !== 'string' ||
    value.trim().length === 0 ||
    value.length > MAX_API_KEY_NAME ||
    /\p{Cc}/u.test(value)
  ) {
    throw new ValidationError(
      field,
      `must be 1 to ${MAX_API_KEY_NAME} characters, not only spaces, without control characters`,
    )
  }
  return value
}

/** null for no expiry; otherwise normalized to UTC (`toISOString`) so stored values compare as text. */
export function checkExpiresAt(value: unknown, now: Date, field = 'expiresAt'): string | null {
  if (value === undefined || value === null) return null
  const ms = parseIsoTime(value)
  const iso = Number.isFinite(ms) ? new Date(ms).toISOString() : ''
  if (!/^\d{4}-/.test(iso)) {
    throw new ValidationError(field, `${show(value)} is not an ISO 8601 time such as 2030-01-31T12:00:00Z`)
  }
  if (ms <= now.getTime()) throw new ValidationError(field, `${value} is not in the future`)
  return iso
}

export function checkEnabled(value: unknown, field = 'enabled'): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(field, 'must be true or false')
  return value
}

export function checkNewUser(value: unknown): NewUser {
  const v = checkObject(value, 'user')
  const username = checkUsername(v.username)
  return { username, password: checkPassword(v.password, username), role: checkRole(v.role) }
}

export function checkUserPatch(value: unknown, username: string, field = 'patch'): UserPatch {
  const v = checkObject(value, field)
  const out: UserPatch = {}
  if (v.password !== undefined) out.password = checkPassword(v.password, username)
  if (v.role !== undefined) out.role = checkRole(v.role)
  if (v.enabled !== undefined) out.enabled = checkEnabled(v.enabled)
  return out
}

export function checkNewApiKey(value: unknown, now: Date): Required<NewApiKey> {
  const v = checkObject(value, 'apiKey')
  return {
    name: checkApiKeyName(v.name),
    owner: checkUsername(v.owner, 'owner'),
    scopes: checkScopes(v.scopes),
    expiresAt: checkExpiresAt(v.expiresAt, now),
  }
}

export function checkSetupTtl(value: unknown, field = 'ttlMs'): number {
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    value < MIN_SETUP_TTL_MS ||
    value > MAX_SETUP_TTL_MS
  ) {
    throw new ValidationError(
      field,
      `must be an integer number of milliseconds from ${MIN_SETUP_TTL_MS} (a minute) to ${MAX_SETUP_TTL_MS} (30 days)`,
    )
  }
  return value
}
