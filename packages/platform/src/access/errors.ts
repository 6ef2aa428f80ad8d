/**
 * Errors of the access service that the registry's catalogue does not cover. Bad input,
 * unknown records, version conflicts and the last-admin refusal reuse the registry's classes
 * (ValidationError, NotFoundError, ConflictError, InUseError), so the HTTP edge maps them alike.
 * The codes belong in docs/errors.md with the others.
 */
import { InUseError } from '../registry/errors.js'

export const ACCESS_ERROR_CODES = ['STRATA_ACCESS_DENIED', 'STRATA_ACCESS_RATE_LIMITED'] as const

export type AccessErrorCode = (typeof ACCESS_ERROR_CODES)[number]

export class AccessError extends Error {
  constructor(
    readonly code: AccessErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/**
 * Wrong username or password, or a bad, expired or spent setup token (HTTP: 401). The message
 * never says which part was wrong, so it cannot be used to find out which usernames exist.
 */
export class AccessDeniedError extends AccessError {
  constructor(message = 'invalid credentials', options?: ErrorOptions) {
    super('STRATA_ACCESS_DENIED', message, options)
  }
}

/** Too many failed logins for a username or from an address (HTTP: 429 with Retry-After). */
export class RateLimitedError extends AccessError {
  constructor(
    /** Whole seconds, at least 1, until the next attempt will be considered. */
    readonly retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    super('STRATA_ACCESS_RATE_LIMITED', `too many failed logins; retry in ${retryAfterSeconds} s`, options)
  }
}

/**
 * Deleting, disabling or demoting the last enabled admin would lock everyone out of user
 * management. An InUseError (STRATA_REGISTRY_IN_USE, HTTP 409), so the edge needs no new row;
 * `users` is 0: nothing else refers to the user, the refusal is about the role.
 */
export class LastAdminError extends InUseError {
  constructor(username: string, options?: ErrorOptions) {
    super('user', username, 0, options)
    this.message = `user '${username}' is the last enabled admin; enable or create another admin first`
  }
}
