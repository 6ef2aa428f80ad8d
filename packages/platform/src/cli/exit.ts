/**
 * How the management commands end when something fails: one line `strata: ...` on stderr and
 * an exit code a script can branch on (docs/cli.md):
 * 1 the platform refused (the line ends with its code), 2 bad local input or usage,
 * 3 the platform could not be reached.
 */
import { StrataError } from '../errors.js'
import { ApiError, ServerUnreachableError } from './api-client.js'

export const EXIT_REFUSED = 1
export const EXIT_USAGE = 2
export const EXIT_UNREACHABLE = 3

function fail(message: string, code: number): never {
  process.stderr.write(`strata: ${message}\n`)
  process.exit(code)
}

/**
 * Wraps a command's action: the failures above end the process here; anything else (a
 * StrataError such as a ConfigError, an I/O error) goes on to main()'s handler.
 */
export function handled<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A): Promise<void> => {
    try {
      await fn(...args)
    } catch (err) {
      if (err instanceof ApiError) fail(`${err.message} (${err.code})`, EXIT_REFUSED)
      if (err instanceof ServerUnreachableError) fail(err.message, EXIT_UNREACHABLE)
      // The access and registry services' own errors (`strata admin create` calls them directly).
      const code = (err as { code?: unknown }).code
      if (!(err instanceof StrataError) && typeof code === 'string' && code.startsWith('STRATA_')) {
        const usage = code === 'STRATA_REGISTRY_INVALID' || code === 'STRATA_X509_INVALID'
        fail(`${(err as Error).message} (${code})`, usage ? EXIT_USAGE : EXIT_REFUSED)
      }
      throw err
    }
  }
}
