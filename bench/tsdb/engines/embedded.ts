// The embedded engines (libraries, not servers). Each runs inside host.ts, a child process
// pinned to the engine core, so that it gets a core of its own as the servers do, and so that
// kill -9 can hit it. Modules are imported only when used: a missing optional dependency skips
// its engine with a message instead of failing the run.
import type { Engine } from '../engine.js'

export type EmbeddedName = 'strata' | 'strata-codec' | 'sqlite' | 'duckdb'
export const EMBEDDED: readonly EmbeddedName[] = ['strata', 'strata-codec', 'sqlite', 'duckdb']

export async function createEmbedded(name: EmbeddedName): Promise<Engine> {
  switch (name) {
    case 'sqlite':
      return new (await import('./sqlite.js')).SqliteEngine()
    case 'duckdb':
      return new (await import('./duckdb.js')).DuckDBEngine()
    case 'strata':
      return new (await import('./strata.js')).StrataEngine()
    case 'strata-codec':
      return new (await import('./strata-codec.js')).StrataCodecEngine()
  }
}

/** Why the engine cannot run here, or null; with its version when it can. */
export async function probeEmbedded(
  name: EmbeddedName,
): Promise<{ unavailable: string | null; version: string }> {
  try {
    switch (name) {
      case 'sqlite': {
        const { default: Database } = await import('better-sqlite3')
        const db = new Database(':memory:')
        const v = db.prepare('SELECT sqlite_version()').pluck().get() as string
        db.close()
        return { unavailable: null, version: `SQLite ${v}` }
      }
      case 'duckdb': {
        const duckdb = await (await import('./duckdb.js')).loadDuckDB()
        return { unavailable: null, version: `DuckDB ${duckdb.version()}` }
      }
      case 'strata': {
        const tsdb = await (await import('./strata.js')).loadTsdb()
        return typeof tsdb === 'string'
          ? { unavailable: tsdb, version: '' }
          : {
              unavailable: null,
              version: `TimeSeriesEngine, fsync on${process.env.BENCH_TSDB_MODULE ? `, ${process.env.BENCH_TSDB_MODULE}` : ''}`,
            }
      }
      case 'strata-codec': {
        const codec = await (await import('./strata-codec.js')).loadCodec()
        return typeof codec === 'string'
          ? { unavailable: codec, version: '' }
          : { unavailable: null, version: '' }
      }
    }
  } catch (err) {
    const why = (err as Error).message.split('\n')[0] ?? ''
    const pkg = name === 'sqlite' ? 'better-sqlite3@12.11.1' : '@duckdb/node-api@1.5.6-r.1'
    return { unavailable: `${pkg} is not installed or does not load (${why})`, version: '' }
  }
}
