/**
 * Local input of the management commands, checked before any request: flag values
 * (Commander argument parsers, so a bad one is Commander's one-line usage error, exit 2),
 * files to read, confirmations and passwords.
 */
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { InvalidArgumentError } from 'commander'
import { ConfigError } from '../errors.js'

/** Collects a repeatable flag's values. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

/** `--tag key=value`, repeatable: the key is not empty, the value may be. */
export function collectTag(value: string, previous: string[] = []): string[] {
  const eq = value.indexOf('=')
  if (eq <= 0) throw new InvalidArgumentError('Expected key=value.')
  return [...previous, value]
}

/** `['floor=3', 'room=a=b']` to `{floor: '3', room: 'a=b'}`; later keys win. */
export function tagsOf(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined
  const tags: Record<string, string> = {}
  for (const v of values) {
    const eq = v.indexOf('=')
    tags[v.slice(0, eq)] = v.slice(eq + 1)
  }
  return tags
}

/** A whole number from `min` up, for --limit, --max, --days. */
export function positiveInt(min = 1): (value: string) => number {
  return (value: string): number => {
    if (!/^\d{1,9}$/.test(value) || Number(value) < min) {
      throw new InvalidArgumentError(`Expected a whole number from ${min} up.`)
    }
    return Number(value)
  }
}

/** An ISO 8601 time with a zone, normalised to UTC (`2031-01-01` alone is refused: which zone?). */
export function isoTime(value: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)
    ? Date.parse(value)
    : Number.NaN
  if (Number.isNaN(ms)) {
    throw new InvalidArgumentError('Expected an ISO 8601 time with a zone, such as 2031-01-01T00:00:00Z.')
  }
  return new Date(ms).toISOString()
}

/** One of `allowed`, repeatable (Commander's .choices() does not collect). */
export function collectChoice(allowed: readonly string[]): (value: string, previous?: string[]) => string[] {
  return (value, previous = []) => {
    if (!allowed.includes(value)) {
      throw new InvalidArgumentError(`Allowed choices are ${allowed.join(', ')}.`)
    }
    return [...previous, value]
  }
}

/** A base URL the client can use: http or https, nothing after the host but a path. */
export function checkUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`--url must be a URL such as http://127.0.0.1:8080, got "${value}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`--url must start with http:// or https://, got "${value}"`)
  }
  if (url.search || url.hash) throw new ConfigError(`--url must not have a query or fragment, got "${value}"`)
  return url.href
}

/** A file named by a flag, as text; unreadable is a usage error naming the flag and the path. */
export async function readTextFile(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (cause as Error).message
    throw new ConfigError(`cannot read ${flag} ${path}: ${why}`, { cause })
  }
}

/** Deleting is not undoable: say so and stop unless --yes was given. */
export function requireYes(yes: boolean | undefined, what: string): void {
  if (!yes) throw new ConfigError(`refusing to delete ${what} without --yes (it cannot be undone)`)
}

/** Reads one line from stdin; from a terminal, without echoing it. */
export async function readLine(prompt: string): Promise<string> {
  const tty = process.stdin.isTTY
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: tty })
  if (tty) {
    process.stderr.write(prompt)
    // Swallow the echo of every typed character.
    ;(rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {}
  }
  try {
    for await (const line of rl) {
      if (tty) process.stderr.write('\n')
      return line
    }
    return ''
  } finally {
    rl.close()
  }
}

/**
 * A password: prompted twice without echo on a terminal (`confirm`), else the first line of
 * stdin, so that `echo "$PW" | strata ...` works in scripts.
 */
export async function readPassword(prompt: string, confirm: boolean): Promise<string> {
  const password = await readLine(prompt)
  if (password === '') {
    throw new ConfigError(
      process.stdin.isTTY
        ? 'the password must not be empty'
        : 'the password must not be empty (none came on standard input: pipe it in, e.g. echo "$PASSWORD" | strata ...)',
    )
  }
  if (confirm && process.stdin.isTTY) {
    const again = await readLine('again: ')
    if (again !== password) throw new ConfigError('the passwords do not match')
  }
  return password
}
