/**
 * Errors of the broker's persistence. `code` is a stable string a caller can
 * branch on (the lead adds them to docs/errors.md); subclasses exist only for
 * the failures a caller handles differently: a corrupt journal (operator must
 * look at the file) and a data directory held by another process.
 */
export const STORE_ERROR_CODES = [
  'STRATA_STORE_CORRUPT',
  'STRATA_STORE_LOCKED',
  'STRATA_STORE_CLOSED',
  'STRATA_STORE_UNKNOWN_MESSAGE',
  'STRATA_STORE_FAILED',
] as const

export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number]

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** The journal holds bytes that are not a torn tail: data that was acknowledged cannot be read back. */
export class StoreCorruptError extends StoreError {
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(
      'STRATA_STORE_CORRUPT',
      `corrupt journal ${file} at byte offset ${offset}: ${reason}; ` +
        'refusing to start rather than silently drop acknowledged data (move the file aside to start empty)',
      options,
    )
  }
}

/** Another live process (or another store in this process) holds the data directory. */
export class StoreLockedError extends StoreError {
  constructor(
    readonly dir: string,
    readonly pid: number,
    options?: ErrorOptions,
  ) {
    super(
      'STRATA_STORE_LOCKED',
      `data directory ${dir} is in use by process ${pid}; two brokers cannot share one data directory ` +
        '(stop the other one, or choose another --data-dir)',
      options,
    )
  }
}
