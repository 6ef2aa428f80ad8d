import { Command, CommanderError } from 'commander'
import { StrataError } from '../errors.js'
import { VERSION } from '../version.js'
import { registerPasswd } from './passwd.js'
import { registerUp } from './up.js'

/**
 * The `strata` command. Errors a person can fix (bad flag, port in use,
 * unreadable config) print one line and exit non-zero, never a stack trace.
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('strata')
    .description('Strata: an open-source IoT platform')
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
  registerUp(program)
  registerPasswd(program)
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode)
    // Every Strata error (platform, store) has a STRATA_ code and a message written for a person.
    const code = (err as { code?: unknown }).code
    if (err instanceof StrataError || (typeof code === 'string' && code.startsWith('STRATA_'))) {
      console.error(`strata: ${(err as Error).message}`)
      process.exit(code === 'STRATA_CONFIG_INVALID' ? 2 : 1)
    }
    console.error(`strata: unexpected error: ${(err as Error).stack ?? String(err)}`)
    process.exit(1)
  }
}
