/**
 * Errors the platform reports to a person (CLI, config). Each has a stable
 * code (catalogue: docs/errors.md) so that scripts and tests branch on it.
 */
export const PLATFORM_ERROR_CODES = [
  'STRATA_CONFIG_INVALID',
  'STRATA_CONFIG_UNREADABLE',
  'STRATA_PORT_IN_USE',
  'STRATA_PORT_DENIED',
  'STRATA_HOST_UNAVAILABLE',
  'STRATA_DATA_DIR_UNUSABLE',
  'STRATA_TLS_FILES',
  'STRATA_PASSWORD_FILE_INVALID',
] as const

export type PlatformErrorCode = (typeof PLATFORM_ERROR_CODES)[number]

export class StrataError extends Error {
  constructor(
    readonly code: PlatformErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** A configuration value (file, environment or flag) that cannot be used. */
export class ConfigError extends StrataError {
  constructor(message: string, options?: ErrorOptions) {
    super('STRATA_CONFIG_INVALID', message, options)
  }
}
