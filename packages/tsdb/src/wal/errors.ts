/**
 * Errors of the write-ahead log. `code` is a stable string a caller can branch
 * on (to be listed in docs/errors.md); subclasses exist only for the failures
 * a caller handles differently: a corrupt log (an operator must look at the
 * file) and a directory held by another process.
 */
export const WAL_ERROR_CODES = [
  'STRATA_WAL_CORRUPT',
  'STRATA_WAL_LOCKED',
  'STRATA_WAL_CLOSED',
  'STRATA_WAL_FAILED',
] as const

export type WalErrorCode = (typeof WAL_ERROR_CODES)[number]

export class WalError extends Error {
  constructor(
    readonly code: WalErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** Bytes that are not a torn tail cannot be read back: acknowledged points would be lost. */
export class WalCorruptError extends WalError {
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(
      'STRATA_WAL_CORRUPT',
      `corrupt write-ahead log ${file} at byte offset ${offset}: ${reason}; ` +
        'refusing to go on rather than silently drop acknowledged points (move the file aside to skip it)',
      options,
    )
  }
}

/** Another live process (or another Wal in this process) holds the directory. */
export class WalLockedError extends WalError {
  constructor(
    readonly dir: string,
    readonly pid: number,
    options?: ErrorOptions,
  ) {
    super(
      'STRATA_WAL_LOCKED',
      `write-ahead log ${dir} is in use by process ${pid}; two engines cannot share one log ` +
        `(stop the other one; if process ${pid} is not Strata, remove ${dir}/LOCK)`,
      options,
    )
  }
}

export const walClosed = (): WalError => new WalError('STRATA_WAL_CLOSED', 'the write-ahead log is not open')
