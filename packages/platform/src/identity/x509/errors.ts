/**
 * Errors of the X.509 part of device identity. Two codes, because callers branch two ways:
 * a certificate, CSR or CA that a caller sent is wrong (the HTTP API answers 400), or the
 * platform's own CA files cannot be used (a startup error: the operator must act).
 * A catalogue of their own, like the registry's, until the lead merges them into
 * docs/errors.md and PLATFORM_ERROR_CODES.
 */
export const X509_ERROR_CODES = ['STRATA_X509_INVALID', 'STRATA_X509_CA_UNUSABLE'] as const

export type X509ErrorCode = (typeof X509_ERROR_CODES)[number]

export class X509Error extends Error {
  constructor(
    readonly code: X509ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** Shorthand for the caller's-bad-input case, the common one. */
export function invalid(message: string, cause?: unknown): X509Error {
  return new X509Error('STRATA_X509_INVALID', message, cause === undefined ? undefined : { cause })
}

/** The message of anything thrown, for wrapping a library's error in ours. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
