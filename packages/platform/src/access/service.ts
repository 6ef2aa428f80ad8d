/**
 * The access service's contract: users, logins, API keys and the first-start setup token.
 * Implemented over SQLite by createAccessService (sqlite-access.ts); the HTTP API and the CLI
 * depend only on this interface.
 */
import type { CallOptions, Page } from '../registry/repository.js'
import type {
  ApiKey,
  ApiPrincipal,
  CreatedApiKey,
  LoginResult,
  NewApiKey,
  NewUser,
  User,
  UserPatch,
} from './model.js'

export interface AccessService {
  /** ValidationError for a bad username, a weak password or an unknown role; AlreadyExistsError. */
  createUser(input: NewUser, options?: CallOptions): Promise<User>
  getUser(username: string, options?: CallOptions): Promise<User>
  listUsers(options?: CallOptions): Promise<User[]>
  /** Disabling a user or changing the password ends their sessions. */
  updateUser(
    username: string,
    patch: UserPatch,
    expectedVersion: number,
    options?: CallOptions,
  ): Promise<User>
  /** Refuses to delete or demote the last enabled admin (InUseError). */
  deleteUser(username: string, expectedVersion?: number, options?: CallOptions): Promise<void>

  /**
   * Checks a password and opens a session. Wrong user and wrong password fail alike
   * (AccessDeniedError). Attempts are rate-limited per username and per source address
   * (RateLimitedError with retryAfterSeconds).
   */
  login(
    username: string,
    password: string,
    remoteAddress: string,
    options?: CallOptions,
  ): Promise<LoginResult>
  logout(token: string, options?: CallOptions): Promise<void>
  /**
   * A user changes their own password: the current one is checked under the login limits, every
   * session ends, and a new session is returned.
   */
  changePassword(
    username: string,
    currentPassword: string,
    newPassword: string,
    remoteAddress: string,
    options?: CallOptions,
  ): Promise<LoginResult>

  /** Scopes beyond the owner's role are refused (ValidationError). The key is returned once. */
  createApiKey(input: NewApiKey, options?: CallOptions): Promise<CreatedApiKey>
  getApiKey(id: string, options?: CallOptions): Promise<ApiKey>
  listApiKeys(owner?: string, options?: CallOptions): Promise<ApiKey[]>
  revokeApiKey(id: string, options?: CallOptions): Promise<ApiKey>

  /**
   * A bearer token (session token or API key) to the principal it acts as; null when unknown,
   * expired, revoked, or its user is disabled. Cached in memory for a few seconds at most, so
   * a revocation takes effect within that time.
   */
  authenticate(bearer: string, options?: CallOptions): Promise<ApiPrincipal | null>

  hasUsers(options?: CallOptions): Promise<boolean>
  /** A one-time token that lets the first admin be created; only while no user exists. */
  createSetupToken(ttlMs: number, options?: CallOptions): Promise<string>
  /** Creates the first admin with a setup token, which is then spent. AccessDeniedError if bad. */
  completeSetup(token: string, input: Omit<NewUser, 'role'>, options?: CallOptions): Promise<User>

  close(): Promise<void>
}

export type { Page }
