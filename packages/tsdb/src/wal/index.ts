export { WAL_ERROR_CODES, WalCorruptError, WalError, type WalErrorCode, WalLockedError } from './errors.js'
export type { ReplayedRecord, WalPoint, WalRecord } from './record-codec.js'
export { type ReplayOptions, Wal, type WalOptions, type WalStats } from './wal.js'
