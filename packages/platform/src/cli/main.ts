import { Command, CommanderError } from 'commander'
import { StrataError } from '../errors.js'
import { VERSION } from '../version.js'
import { registerManagement } from './manage.js'
import { registerPasswd } from './passwd.js'
import { simulateCommand } from './simulate.js'
import { registerUp } from './up.js'

/** Exit code for a usage or configuration error, as docs/errors.md promises. */
const USAGE = 2

/**
 * Commander prints `error: unknown option '--x'`, sometimes with a
 * "(Did you mean ...?)" line under it; make it the CLI's one-line shape.
 */
function oneLine(text: string): string {
  const message = text
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim()
  return `strata: ${message} (add --help for usage)\n`
}

/** An operating-system error (ENOENT, EACCES...): its message already names the path. */
function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string'
}

/**
 * The `strata` command. Errors a person can fix (bad flag, port in use,
 * unreadable config) print one line and exit non-zero, never a stack trace.
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('strata')
    .description('Strata: an open-source IoT platform')
    .version(VERSION)
    .configureOutput({ outputError: (text, write) => write(oneLine(text)) })
    .exitOverride()
  registerUp(program)
  registerPasswd(program)
  registerManagement(program)
  simulateCommand(program)
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; everything else Commander reports is a usage error.
      process.exit(err.exitCode === 0 ? 0 : USAGE)
    }
    // Every Strata error (platform, store) has a STRATA_ code and a message written for a person.
    const code = (err as { code?: unknown }).code
    if (err instanceof StrataError || (typeof code === 'string' && code.startsWith('STRATA_'))) {
      console.error(`strata: ${(err as Error).message}`)
      process.exit(code === 'STRATA_CONFIG_INVALID' ? USAGE : 1)
    }
    // An I/O error no step anticipated: its message names the path, a stack would not help.
    if (isSystemError(err)) {
      console.error(`strata: ${err.message}`)
      process.exit(1)
    }
    console.error(`strata: unexpected error: ${(err as Error).stack ?? String(err)}`)
    process.exit(1)
  }
}
