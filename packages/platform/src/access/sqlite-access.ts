/**
 * The access service on the shared SQLite database (tables of migration 4): users, sessions,
 * API keys and the first-start setup token. Passwords are scrypt hashes (auth/password-hash.ts);
 * bearer tokens carry 256 random bits, so they are stored as SHA-256 and looked up directly.
 *
 * Token formats, each with a prefix that says what it is (and lets secret scanners find leaks):
 * - API key `stk_<16 hex>_<43 base64url>`; the hex is the key's id (`ak_<16 hex>`), so a lookup
 *   is one primary-key read, then a constant-time comparison of the hashes.
 * - session `sst_<43 base64url>`, setup token `ssu_<43 base64url>`: looked up by their hash.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { FailureWindow } from '../auth/failure-window.js'
import { hashPassword, verifyPassword } from '../auth/password-hash.js'
import { AlreadyExistsError, NotFoundError, ValidationError } from '../registry/errors.js'
import { checkExpectedVersion } from '../registry/input.js'
import type { CallOptions } from '../registry/repository.js'
import type { SqliteDb } from '../registry/sqlite-db.js'
import { AccessDeniedError, LastAdminError, RateLimitedError } from './errors.js'
import {
  checkNewApiKey,
  checkNewUser,
  checkSetupTtl,
  checkUsername,
  checkUserPatch,
  MAX_PASSWORD,
  USERNAME_PATTERN,
} from './input.js'
import {
  type ApiKey,
  type ApiPrincipal,
  type CreatedApiKey,
  type LoginResult,
  type NewApiKey,
  type NewUser,
  ROLE_SCOPES,
  type Role,
  type Scope,
  type User,
  type UserPatch,
} from './model.js'
import type { AccessService } from './service.js'

export interface LoginLimit {
  /** Failed logins per username within the window. */
  perUser: number
  /** Failed logins per source address within the window, whatever the usernames. */
  perAddress: number
  windowMs: number
}

export interface AccessServiceOptions {
  /** Shared with the registry; close() leaves it open for its owner. */
  db: SqliteDb
  /** Clock for timestamps, expiry and rate limits. Default: the database's clock. */
  now?: () => Date
  /** Session lifetime. Default 12 hours. */
  sessionTtlMs?: number
  /** Default: 5 per user and 20 per address in 15 minutes (sliding window). */
  loginLimit?: LoginLimit
  /** How long a verified bearer token is remembered in memory; 0 disables. Default 2000. */
  cacheMs?: number
}

const SESSION_PREFIX = 'sst_'
const SETUP_PREFIX = 'ssu_'
const KEY_PATTERN = /^stk_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/
const MAX_BEARER = 128
/** last_used_at is a hint for people ("used today?"), not a log: one write a minute at most. */
const LAST_USED_EVERY_MS = 60_000
const MAX_CACHED = 10_000

interface UserRow {
  username: string
  password_hash: string
  role: Role
  enabled: number
  version: number
  created_at: string
  updated_at: string
}
interface KeyRow {
  id: string
  name: string
  secret_hash: string
  owner: string
  scopes: string
  created_at: string
  expires_at: string | null
  last_used_at: string | null
  revoked_at: string | null
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')
const randomToken = (prefix: string): string => `${prefix}${randomBytes(32).toString('base64url')}`

/** Only what the model shows: never the password hash. */
function toUser(r: UserRow): User {
  return {
    username: r.username,
    role: r.role,
    enabled: r.enabled === 1,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

/** Only what the model shows: never the secret's hash. */
function toApiKey(r: KeyRow): ApiKey {
  return {
    id: r.id,
    name: r.name,
    owner: r.owner,
    scopes: JSON.parse(r.scopes) as Scope[],
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  }
}

function positiveInteger(value: number, field: string, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(field, `must be an integer of at least ${min}`)
  }
  return value
}

/** `::ffff:10.0.0.1` (IPv4 on a dual-stack socket) and `10.0.0.1` are one address. */
function addressKey(remoteAddress: unknown): string {
  if (typeof remoteAddress !== 'string') return ''
  return remoteAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').slice(0, 64)
}

export function createAccessService(options: AccessServiceOptions): AccessService {
  return new SqliteAccess(options)
}

class SqliteAccess implements AccessService {
  readonly #s: SqliteDb
  readonly #now: () => Date
  readonly #sessionTtlMs: number
  readonly #cacheMs: number
  readonly #perUser: FailureWindow
  readonly #perAddress: FailureWindow
  /** Verified bearer tokens by SHA-256: a hot API key costs no database read. */
  readonly #cache = new Map<string, { principal: ApiPrincipal; untilMs: number }>()
  #dummyHash: Promise<string> | undefined

  constructor(options: AccessServiceOptions) {
    const db = options.db
    this.#s = db
    this.#now = options.now ?? (() => new Date(db.timestamp()))
    this.#sessionTtlMs = positiveInteger(options.sessionTtlMs ?? 12 * 3600_000, 'sessionTtlMs')
    this.#cacheMs = positiveInteger(options.cacheMs ?? 2000, 'cacheMs', 0)
    const limit = options.loginLimit ?? { perUser: 5, perAddress: 20, windowMs: 15 * 60_000 }
    const windowMs = positiveInteger(limit.windowMs, 'loginLimit.windowMs')
    this.#perUser = new FailureWindow(positiveInteger(limit.perUser, 'loginLimit.perUser'), windowMs)
    this.#perAddress = new FailureWindow(positiveInteger(limit.perAddress, 'loginLimit.perAddress'), windowMs)
  }

  #iso(): string {
    return this.#now().toISOString()
  }

  #userRow(username: string): UserRow | undefined {
    return this.#s.stmt('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined
  }

  #requireUser(username: string): UserRow {
    const row = this.#userRow(username)
    if (!row) throw new NotFoundError('user', username)
    return row
  }

  #keyRow(id: string): KeyRow {
    const row = this.#s.stmt('SELECT * FROM api_keys WHERE id = ?').get(id) as KeyRow | undefined
    if (!row) throw new NotFoundError('API key', id)
    return row
  }

  /** Run before a change that would leave `username` no longer an enabled admin. */
  #keepAnAdmin(username: string): void {
    const others = this.#s
      .stmt("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND enabled = 1 AND username != ?")
      .get(username) as { n: number }
    if (others.n === 0) throw new LastAdminError(username)
  }

  #forget(match: (p: ApiPrincipal) => boolean): void {
    for (const [hash, entry] of this.#cache) if (match(entry.principal)) this.#cache.delete(hash)
  }

  #forgetUser(username: string): void {
    this.#forget((p) => (p.kind === 'user' ? p.username === username : p.owner === username))
  }

  #insertUser(username: string, passwordHash: string, role: Role): User {
    if (this.#userRow(username)) throw new AlreadyExistsError('user', username)
    const now = this.#iso()
    this.#s
      .stmt(
        `INSERT INTO users (username, password_hash, role, enabled, version, created_at, updated_at)
         VALUES (?, ?, ?, 1, 1, ?, ?)`,
      )
      .run(username, passwordHash, role, now, now)
    return toUser(this.#requireUser(username))
  }

  async createUser(input: NewUser, options?: CallOptions): Promise<User> {
    options?.signal?.throwIfAborted()
    const u = checkNewUser(input)
    // Checked before the slow hash as well as after it, inside the transaction.
    if (this.#userRow(u.username)) throw new AlreadyExistsError('user', u.username)
    const hash = await hashPassword(u.password)
    return this.#s.run(options, () => this.#insertUser(u.username, hash, u.role), true)
  }

  getUser(username: string, options?: CallOptions): Promise<User> {
    return this.#s.run(options, () => toUser(this.#requireUser(username)))
  }

  listUsers(options?: CallOptions): Promise<User[]> {
    return this.#s.run(options, () =>
      (this.#s.stmt('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser),
    )
  }

  async updateUser(
    username: string,
    patch: UserPatch,
    expectedVersion: number,
    options?: CallOptions,
  ): Promise<User> {
    options?.signal?.throwIfAborted()
    const p = checkUserPatch(patch, username)
    const expected = checkExpectedVersion(expectedVersion)
    this.#s.checkVersion('user', username, this.#requireUser(username).version, expected)
    const hash = p.password === undefined ? undefined : await hashPassword(p.password)
    return this.#s.run(
      options,
      () => {
        const row = this.#requireUser(username)
        this.#s.checkVersion('user', username, row.version, expected)
        const role = p.role ?? row.role
        const enabled = p.enabled ?? row.enabled === 1
        if (row.role === 'admin' && row.enabled === 1 && (role !== 'admin' || !enabled)) {
          this.#keepAnAdmin(username)
        }
        this.#s
          .stmt(
            `UPDATE users SET password_hash = ?, role = ?, enabled = ?, version = version + 1, updated_at = ?
             WHERE username = ?`,
          )
          .run(hash ?? row.password_hash, role, enabled ? 1 : 0, this.#iso(), username)
        // A new password or a disabled account ends every session: a stolen one included.
        if (hash !== undefined || !enabled) {
          this.#s.stmt('DELETE FROM sessions WHERE username = ?').run(username)
        }
        // Scopes follow the role and keys stop with their owner: cached principals are stale.
        this.#forgetUser(username)
        return toUser(this.#requireUser(username))
      },
      true,
    )
  }

  deleteUser(username: string, expectedVersion?: number, options?: CallOptions): Promise<void> {
    return this.#s.run(
      options,
      () => {
        const row = this.#requireUser(username)
        this.#s.checkVersion('user', username, row.version, expectedVersion)
        if (row.role === 'admin' && row.enabled === 1) this.#keepAnAdmin(username)
        // Sessions and API keys go with it (ON DELETE CASCADE).
        this.#s.stmt('DELETE FROM users WHERE username = ?').run(username)
        this.#forgetUser(username)
      },
      true,
    )
  }

  /** A password check under the login limits; the user's row if it is right. */
  async #verifyLogin(username: string, password: string, remoteAddress: string): Promise<UserRow> {
    // Started on the first login whatever the outcome, so no call waits for it alone.
    if (!this.#dummyHash) {
      this.#dummyHash = hashPassword(randomBytes(32))
      // Awaited only for unknown users; this keeps a failure from being an unhandled rejection.
      this.#dummyHash.catch(() => {})
    }
    const name = typeof username === 'string' ? username.toLowerCase().slice(0, 128) : ''
    const address = addressKey(remoteAddress)
    const t = this.#now().getTime()
    // Before the password is looked at, so a locked account does not tell a right password.
    const wait = Math.max(this.#perUser.retryAfter(name, t), this.#perAddress.retryAfter(address, t))
    if (wait > 0) throw new RateLimitedError(wait)
    // Counted as failed until proven otherwise: parallel attempts cannot all slip under the limit.
    this.#perUser.add(name, t)
    this.#perAddress.add(address, t)

    const row = USERNAME_PATTERN.test(name) ? this.#userRow(name) : undefined
    const candidate = typeof password === 'string' && password.length <= 2 * MAX_PASSWORD ? password : ''
    // Unknown users are checked against a dummy hash, so they fail as slowly as a wrong password.
    const verified = await verifyPassword(
      Buffer.from(candidate),
      row?.password_hash ?? (await this.#dummyHash),
    )
    if (!verified || !row || row.enabled !== 1 || candidate !== password) throw new AccessDeniedError()
    this.#perUser.clear(name)
    // Only the address's own attempt is taken back: a success with one account must not reset
    // the count of guesses at others from the same address.
    this.#perAddress.remove(address, t)
    return row
  }

  async login(
    username: string,
    password: string,
    remoteAddress: string,
    options?: CallOptions,
  ): Promise<LoginResult> {
    options?.signal?.throwIfAborted()
    const row = await this.#verifyLogin(username, password, remoteAddress)
    const name = row.username
    return this.#s.run(
      options,
      () => {
        // The account may have changed while the hash was computed.
        const cur = this.#userRow(name)
        if (cur?.enabled !== 1 || cur.password_hash !== row.password_hash) throw new AccessDeniedError()
        const now = this.#iso()
        this.#s.stmt('DELETE FROM sessions WHERE expires_at <= ?').run(now)
        const token = randomToken(SESSION_PREFIX)
        const expiresAt = new Date(this.#now().getTime() + this.#sessionTtlMs).toISOString()
        this.#s
          .stmt('INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)')
          .run(sha256(token), name, now, expiresAt)
        return { token, expiresAt, user: toUser(cur) }
      },
      true,
    )
  }

  async changePassword(
    username: string,
    currentPassword: string,
    newPassword: string,
    remoteAddress: string,
    options?: CallOptions,
  ): Promise<LoginResult> {
    options?.signal?.throwIfAborted()
    const row = await this.#verifyLogin(username, currentPassword, remoteAddress)
    // Ends every session of the user, this one included; the caller gets a new one.
    await this.updateUser(row.username, { password: newPassword }, row.version, options)
    return this.login(row.username, newPassword, remoteAddress, options)
  }

  logout(token: string, options?: CallOptions): Promise<void> {
    return this.#s.run(
      options,
      () => {
        if (typeof token !== 'string' || !token.startsWith(SESSION_PREFIX)) return
        const hash = sha256(token)
        this.#s.stmt('DELETE FROM sessions WHERE token_hash = ?').run(hash)
        this.#cache.delete(hash)
      },
      true,
    )
  }

  createApiKey(input: NewApiKey, options?: CallOptions): Promise<CreatedApiKey> {
    return this.#s.run(
      options,
      () => {
        const k = checkNewApiKey(input, this.#now())
        const owner = this.#userRow(k.owner)
        if (!owner) throw new ValidationError('owner', `user '${k.owner}' does not exist`)
        if (owner.enabled !== 1) throw new ValidationError('owner', `user '${k.owner}' is disabled`)
        const beyond = k.scopes.filter((s) => !ROLE_SCOPES[owner.role].includes(s))
        if (beyond.length > 0) {
          throw new ValidationError(
            'scopes',
            `${beyond.join(', ')} exceed${beyond.length === 1 ? 's' : ''} what the ${owner.role} '${owner.username}' may do`,
          )
        }
        let hex: string
        do hex = randomBytes(8).toString('hex')
        while (this.#s.stmt('SELECT 1 FROM api_keys WHERE id = ?').get(`ak_${hex}`))
        const id = `ak_${hex}`
        const key = `stk_${hex}_${randomBytes(32).toString('base64url')}`
        this.#s
          .stmt(
            `INSERT INTO api_keys (id, name, secret_hash, owner, scopes, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(id, k.name, sha256(key), k.owner, JSON.stringify(k.scopes), this.#iso(), k.expiresAt)
        return { apiKey: toApiKey(this.#keyRow(id)), key }
      },
      true,
    )
  }

  getApiKey(id: string, options?: CallOptions): Promise<ApiKey> {
    return this.#s.run(options, () => toApiKey(this.#keyRow(id)))
  }

  listApiKeys(owner?: string, options?: CallOptions): Promise<ApiKey[]> {
    return this.#s.run(options, () => {
      const rows =
        owner === undefined
          ? this.#s.stmt('SELECT * FROM api_keys ORDER BY created_at, id').all()
          : this.#s
              .stmt('SELECT * FROM api_keys WHERE owner = ? ORDER BY created_at, id')
              .all(checkUsername(owner, 'owner'))
      return (rows as KeyRow[]).map(toApiKey)
    })
  }

  /** Revoking twice is not an error; the first revocation time stays. */
  revokeApiKey(id: string, options?: CallOptions): Promise<ApiKey> {
    return this.#s.run(
      options,
      () => {
        if (this.#keyRow(id).revoked_at === null) {
          this.#s.stmt('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(this.#iso(), id)
        }
        this.#forget((p) => p.kind === 'apikey' && p.keyId === id)
        return toApiKey(this.#keyRow(id))
      },
      true,
    )
  }

  async authenticate(bearer: string, options?: CallOptions): Promise<ApiPrincipal | null> {
    options?.signal?.throwIfAborted()
    if (typeof bearer !== 'string' || bearer.length > MAX_BEARER) return null
    const isSession = bearer.startsWith(SESSION_PREFIX)
    if (!isSession && !bearer.startsWith('stk_')) return null
    const hash = sha256(bearer)
    const nowMs = this.#now().getTime()
    const hit = this.#cache.get(hash)
    if (hit && hit.untilMs > nowMs) return hit.principal
    if (hit) this.#cache.delete(hash)
    // Synchronous from the read to the cache write: a revocation cannot slip in between.
    const found = isSession ? this.#sessionPrincipal(hash, nowMs) : this.#keyPrincipal(bearer, hash, nowMs)
    if (!found) return null
    if (this.#cacheMs > 0) {
      if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value as string)
      this.#cache.set(hash, {
        principal: found.principal,
        untilMs: Math.min(nowMs + this.#cacheMs, found.untilMs),
      })
    }
    return found.principal
  }

  #sessionPrincipal(hash: string, nowMs: number): { principal: ApiPrincipal; untilMs: number } | null {
    const row = this.#s
      .stmt(
        `SELECT s.expires_at, u.username, u.role, u.enabled FROM sessions s
         JOIN users u ON u.username = s.username WHERE s.token_hash = ?`,
      )
      .get(hash) as { expires_at: string; username: string; role: Role; enabled: number } | undefined
    const untilMs = row ? Date.parse(row.expires_at) : 0
    if (row?.enabled !== 1 || untilMs <= nowMs) return null
    const principal = Object.freeze({
      kind: 'user' as const,
      username: row.username,
      role: row.role,
      scopes: Object.freeze([...ROLE_SCOPES[row.role]]),
    })
    return { principal, untilMs }
  }

  #keyPrincipal(
    bearer: string,
    hash: string,
    nowMs: number,
  ): { principal: ApiPrincipal; untilMs: number } | null {
    const hex = KEY_PATTERN.exec(bearer)?.[1]
    if (hex === undefined) return null
    const row = this.#s
      .stmt(
        'SELECT k.*, u.role, u.enabled FROM api_keys k JOIN users u ON u.username = k.owner WHERE k.id = ?',
      )
      .get(`ak_${hex}`) as (KeyRow & { role: Role; enabled: number }) | undefined
    if (!row) return null
    const stored = Buffer.from(row.secret_hash, 'hex')
    const given = Buffer.from(hash, 'hex')
    if (stored.length !== given.length || !timingSafeEqual(stored, given)) return null
    const untilMs = row.expires_at === null ? Number.POSITIVE_INFINITY : Date.parse(row.expires_at)
    if (row.revoked_at !== null || row.enabled !== 1 || untilMs <= nowMs) return null
    const since = new Date(nowMs - LAST_USED_EVERY_MS).toISOString()
    this.#s
      .stmt(
        'UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)',
      )
      .run(new Date(nowMs).toISOString(), row.id, since)
    // Never more than the owner may do now: a demoted owner's keys shrink with them.
    const allowed = ROLE_SCOPES[row.role]
    const scopes = (JSON.parse(row.scopes) as Scope[]).filter((s) => allowed.includes(s))
    const principal = Object.freeze({
      kind: 'apikey' as const,
      keyId: row.id,
      owner: row.owner,
      scopes: Object.freeze(scopes),
    })
    return { principal, untilMs }
  }

  hasUsers(options?: CallOptions): Promise<boolean> {
    return this.#s.run(options, () => this.#hasUsers())
  }

  #hasUsers(): boolean {
    return this.#s.stmt('SELECT 1 FROM users LIMIT 1').get() !== undefined
  }

  /** At most one setup token is valid: a new one replaces any earlier. */
  createSetupToken(ttlMs: number, options?: CallOptions): Promise<string> {
    return this.#s.run(
      options,
      () => {
        const ttl = checkSetupTtl(ttlMs)
        if (this.#hasUsers()) throw new AccessDeniedError('setup is complete: users exist')
        this.#s.stmt('DELETE FROM setup_tokens').run()
        const token = randomToken(SETUP_PREFIX)
        const expiresAt = new Date(this.#now().getTime() + ttl).toISOString()
        this.#s
          .stmt('INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)')
          .run(sha256(token), this.#iso(), expiresAt)
        return token
      },
      true,
    )
  }

  #checkSetupToken(token: string): void {
    if (typeof token !== 'string' || !token.startsWith(SETUP_PREFIX) || token.length > MAX_BEARER) {
      throw new AccessDeniedError('invalid or expired setup token')
    }
    if (this.#hasUsers()) throw new AccessDeniedError('setup is complete: users exist')
    const row = this.#s.stmt('SELECT expires_at FROM setup_tokens WHERE token_hash = ?').get(sha256(token)) as
      | { expires_at: string }
      | undefined
    if (!row || Date.parse(row.expires_at) <= this.#now().getTime()) {
      throw new AccessDeniedError('invalid or expired setup token')
    }
  }

  async completeSetup(token: string, input: Omit<NewUser, 'role'>, options?: CallOptions): Promise<User> {
    options?.signal?.throwIfAborted()
    const u = checkNewUser(typeof input === 'object' && input !== null ? { ...input, role: 'admin' } : input)
    // Checked before the slow hash as well as after it, in the transaction that spends it.
    this.#checkSetupToken(token)
    const hash = await hashPassword(u.password)
    return this.#s.run(
      options,
      () => {
        this.#checkSetupToken(token)
        const user = this.#insertUser(u.username, hash, 'admin')
        this.#s.stmt('DELETE FROM setup_tokens').run()
        return user
      },
      true,
    )
  }

  /** Forgets what is held in memory; the database stays open for its owner. */
  async close(): Promise<void> {
    this.#cache.clear()
    this.#perUser.clear()
    this.#perAddress.clear()
  }
}
