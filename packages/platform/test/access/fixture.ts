/**
 * An access service on a fresh in-memory database with a clock the test moves by hand.
 * scrypt costs ~40 ms a hash, so tests create few users and log in sparingly.
 */
import { type AccessServiceOptions, createAccessService } from '../../src/access/sqlite-access.js'
import { SqliteDb } from '../../src/registry/sqlite-db.js'

export const START = new Date('2030-01-01T00:00:00.000Z')
export const PASSWORD = 'correct horse battery'

export function fixture(options: Partial<AccessServiceOptions> = {}) {
  let now = START
  const db = new SqliteDb(':memory:', () => now)
  const access = createAccessService({ db, ...options })
  return {
    db,
    access,
    now: () => now,
    advance(ms: number): void {
      now = new Date(now.getTime() + ms)
    },
    count(table: 'sessions' | 'api_keys' | 'setup_tokens' | 'users'): number {
      return (db.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n
    },
  }
}

export type Fixture = ReturnType<typeof fixture>

/** A fixture for the length of `fn`, closed after it whatever happens. */
export async function withFixture(
  options: Partial<AccessServiceOptions>,
  fn: (f: Fixture) => Promise<void>,
): Promise<void> {
  const f = fixture(options)
  try {
    await fn(f)
  } finally {
    await f.access.close()
    f.db.close()
  }
}
