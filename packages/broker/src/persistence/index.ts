export { ensureDir } from './ensure-dir.js'
export {
  STORE_ERROR_CODES,
  StoreCorruptError,
  StoreError,
  type StoreErrorCode,
  StoreLockedError,
} from './errors.js'
export { type CompactionEvent, LogStore, type LogStoreOptions, type LogStoreStats } from './log-store.js'
export { MemoryStore } from './memory-store.js'
export type * from './store.js'
