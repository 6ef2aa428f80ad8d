/**
 * The SQLite connection the registry's modules share: opening with its pragmas and
 * migrations, a bounded cache of prepared statements, and the transaction wrapper.
 */
import Database from 'better-sqlite3'
import { ConflictError, type RecordKind } from './errors.js'
import { checkExpectedVersion } from './input.js'
import { migrate } from './migrations.js'
import type { CallOptions } from './repository.js'

const STATEMENT_CACHE = 256

export class SqliteDb {
  readonly db: Database.Database
  readonly #now: () => Date
  readonly #statements = new Map<string, Database.Statement>()

  constructor(path: string, now: () => Date) {
    this.#now = now
    this.db = new Database(path)
    try {
      // WAL: readers (API listing) never block the writer (status flushes) and vice versa.
      this.db.pragma('journal_mode = WAL')
      // FULL, not NORMAL: in WAL mode NORMAL never corrupts, but a power cut may lose the last
      // commits after the caller was told they succeeded. Registry writes are few (people,
      // provisioning, batched status flushes), so an fsync per commit costs little, while losing
      // an acknowledged write can lose a credential that was shown once and never again.
      this.db.pragma('synchronous = FULL')
      this.db.pragma('foreign_keys = ON')
      this.db.pragma('busy_timeout = 5000')
      migrate(this.db)
    } catch (err) {
      this.db.close()
      throw err
    }
  }

  /** Prepared statements, cached by SQL text (selector queries vary, so the cache is bounded). */
  stmt(sql: string): Database.Statement {
    let s = this.#statements.get(sql)
    if (s) return s
    s = this.db.prepare(sql)
    if (this.#statements.size >= STATEMENT_CACHE) {
      const oldest = this.#statements.keys().next().value
      if (oldest !== undefined) this.#statements.delete(oldest)
    }
    this.#statements.set(sql, s)
    return s
  }

  /**
   * Runs `fn` after the abort check, writes in an IMMEDIATE transaction (the write lock is
   * taken up front, so a version check and its update cannot interleave with another
   * process's). Being async, anything `fn` throws becomes a rejection.
   */
  async run<T>(options: CallOptions | undefined, fn: () => T, write = false): Promise<T> {
    options?.signal?.throwIfAborted()
    return write ? this.db.transaction(fn).immediate() : fn()
  }

  timestamp(): string {
    return this.#now().toISOString()
  }

  /** Throws ConflictError unless `expectedVersion` is absent (unconditional) or current. */
  checkVersion(kind: RecordKind, id: string, current: number, expectedVersion: number | undefined): void {
    if (expectedVersion === undefined) return
    const expected = checkExpectedVersion(expectedVersion)
    if (current !== expected) throw new ConflictError(kind, id, expected, current)
  }

  close(): void {
    this.#statements.clear()
    if (this.db.open) this.db.close()
  }
}
