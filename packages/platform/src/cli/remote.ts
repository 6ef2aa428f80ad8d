/**
 * What every command that talks to a running platform shares: `--url`, `--api-key` (both
 * with an environment default), `--json`, the client built from them, and help examples.
 */
import { type Command, Option } from 'commander'
import { ConfigError } from '../errors.js'
import { ApiClient } from './api-client.js'
import { checkUrl } from './input.js'

export const DEFAULT_URL = 'http://127.0.0.1:8080'

export interface RemoteFlags {
  url: string
  apiKey?: string
  json?: boolean
}

/** Adds --url, --api-key unless `apiKey` is false, and --json when the command prints a result. */
export function remote(cmd: Command, json = true, apiKey = true): Command {
  cmd.addOption(
    new Option('--url <url>', 'the platform HTTP API (its --http-port)')
      .env('STRATA_URL')
      .default(DEFAULT_URL),
  )
  if (apiKey) {
    cmd.addOption(
      new Option('--api-key <key>', 'API key or session token (from strata login)').env('STRATA_API_KEY'),
    )
  }
  if (json) cmd.option('--json', "print the API's JSON instead of a table")
  return cmd
}

/** Appends an Examples section to the command's --help. */
export function examples(cmd: Command, lines: readonly string[], intro?: string): Command {
  const before = intro ? `\n${intro}\n` : ''
  return cmd.addHelpText('after', `${before}\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`)
}

/** The client for `flags`; refuses (exit 2) when no key was given and `anonymous` is false. */
export function clientOf(flags: RemoteFlags, anonymous = false): ApiClient {
  const url = checkUrl(flags.url)
  const token = flags.apiKey?.trim() || undefined
  if (!token && !anonymous) {
    throw new ConfigError(
      'no API key: pass --api-key or set STRATA_API_KEY; get one with "strata login --username NAME" ' +
        'or "strata apikey create", or create the first admin with "strata admin create NAME --data-dir DIR"',
    )
  }
  return new ApiClient({ url, token })
}
