/**
 * People and programs: users with roles, API keys with scopes, and who a request acts as.
 * Pure types and constants; storage is in sqlite-access.ts, behaviour in service.ts.
 */

export const ROLES = ['admin', 'operator', 'viewer'] as const
export type Role = (typeof ROLES)[number]

/**
 * What a call may do. A route names the one scope it needs; a user has the scopes of their
 * role; an API key has the scopes it was created with, never more than its owner's role.
 */
export const SCOPES = [
  'devices:read',
  'devices:write',
  'credentials:write',
  'provisioning:write',
  'users:read',
  'users:write',
  'audit:read',
  'telemetry:read',
] as const
export type Scope = (typeof SCOPES)[number]

export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = Object.freeze({
  admin: SCOPES,
  operator: [
    'devices:read',
    'devices:write',
    'credentials:write',
    'provisioning:write',
    'audit:read',
    'telemetry:read',
  ],
  viewer: ['devices:read', 'telemetry:read'],
})

export interface User {
  username: string
  role: Role
  enabled: boolean
  version: number
  createdAt: string
  updatedAt: string
}

export interface NewUser {
  username: string
  password: string
  role: Role
}

export interface UserPatch {
  password?: string
  role?: Role
  enabled?: boolean
}

export interface ApiKey {
  /** `ak_` and 16 hex digits; the key itself is `stk_<the same hex>_<secret>`, so lookups need no scan. */
  id: string
  name: string
  owner: string
  scopes: Scope[]
  createdAt: string
  /** ISO 8601 or null for a key that does not expire. */
  expiresAt: string | null
  lastUsedAt: string | null
  revokedAt: string | null
}

export interface NewApiKey {
  name: string
  owner: string
  scopes: readonly Scope[]
  /** ISO 8601; absent or null: no expiry. */
  expiresAt?: string | null
}

/** The key's secret is in `key` and shown once: only its SHA-256 is stored. */
export interface CreatedApiKey {
  apiKey: ApiKey
  key: string
}

export interface LoginResult {
  /** Opaque bearer token; only its SHA-256 is stored. */
  token: string
  expiresAt: string
  user: User
}

/** Who an API call acts as, once its bearer token is verified. */
export type ApiPrincipal =
  | { kind: 'user'; username: string; role: Role; scopes: readonly Scope[] }
  | { kind: 'apikey'; keyId: string; owner: string; scopes: readonly Scope[] }

/** The audit log's `actor` for a principal: `user:alice`, `apikey:ak_0123...`. */
export function actorOf(principal: ApiPrincipal): string {
  return principal.kind === 'user' ? `user:${principal.username}` : `apikey:${principal.keyId}`
}
