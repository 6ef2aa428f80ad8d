/**
 * Errors of the device registry. One class per failure a caller branches on
 * (the HTTP API maps them to 400/404/409/412 at its edge, the CLI to exit codes).
 * The codes are a catalogue of their own, documented in docs/registry.md, until the
 * lead merges them into docs/errors.md and PLATFORM_ERROR_CODES.
 */
export const REGISTRY_ERROR_CODES = [
  'STRATA_REGISTRY_INVALID',
  'STRATA_REGISTRY_NOT_FOUND',
  'STRATA_REGISTRY_EXISTS',
  'STRATA_REGISTRY_CONFLICT',
  'STRATA_REGISTRY_IN_USE',
  'STRATA_REGISTRY_SELECTOR',
  'STRATA_REGISTRY_SCHEMA',
] as const

export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[number]

export type RecordKind =
  | 'device'
  | 'device type'
  | 'group'
  | 'credential'
  | 'certificate authority'
  | 'provisioning template'
  | 'ACL grant'
  | 'user'
  | 'API key'

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** A field value the model refuses; `field` is a dotted path such as `tags.floor`. */
export class ValidationError extends RegistryError {
  constructor(
    readonly field: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super('STRATA_REGISTRY_INVALID', `${field}: ${message}`, options)
  }
}

/** Like Ditto's, the message names only what the caller asked for. */
export class NotFoundError extends RegistryError {
  constructor(
    readonly kind: RecordKind,
    readonly id: string,
    options?: ErrorOptions,
  ) {
    super('STRATA_REGISTRY_NOT_FOUND', `${kind} '${id}' not found`, options)
  }
}

export class AlreadyExistsError extends RegistryError {
  constructor(
    readonly kind: RecordKind,
    readonly id: string,
    options?: ErrorOptions,
  ) {
    super('STRATA_REGISTRY_EXISTS', `${kind} '${id}' already exists`, options)
  }
}

/** The record changed since the caller read it (HTTP: 412 on If-Match). */
export class ConflictError extends RegistryError {
  constructor(
    readonly kind: RecordKind,
    readonly id: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
    options?: ErrorOptions,
  ) {
    super(
      'STRATA_REGISTRY_CONFLICT',
      `${kind} '${id}' is at version ${actualVersion}, not the expected ${expectedVersion}`,
      options,
    )
  }
}

/** A device type still referenced by devices cannot be deleted (HTTP: 409). */
export class InUseError extends RegistryError {
  constructor(
    readonly kind: RecordKind,
    readonly id: string,
    readonly users: number,
    options?: ErrorOptions,
  ) {
    super('STRATA_REGISTRY_IN_USE', `${kind} '${id}' is used by ${users} device(s)`, options)
  }
}

/** A fleet selector that does not parse; `position` is the 0-based column of the problem. */
export class SelectorError extends RegistryError {
  constructor(
    readonly position: number,
    readonly expected: string,
    readonly found: string,
    options?: ErrorOptions,
  ) {
    super(
      'STRATA_REGISTRY_SELECTOR',
      `selector column ${position + 1}: expected ${expected}, found ${found}`,
      options,
    )
  }
}

/** The database was written by a newer Strata, or a migration failed. */
export class SchemaError extends RegistryError {
  constructor(message: string, options?: ErrorOptions) {
    super('STRATA_REGISTRY_SCHEMA', message, options)
  }
}
