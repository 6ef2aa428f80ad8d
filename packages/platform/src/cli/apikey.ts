/**
 * `strata apikey ...`: keys for programs, each with the scopes it needs and no more (never
 * more than its owner's role allows). The key is shown once; the platform keeps its hash.
 */
import type { Command } from 'commander'
import { type ApiKey, type CreatedApiKey, SCOPES } from '../access/model.js'
import { listAll, seg } from './api-client.js'
import { handled } from './exit.js'
import { collectChoice, isoTime } from './input.js'
import { note, printJson, printTable } from './output.js'
import { clientOf, examples, type RemoteFlags, remote } from './remote.js'

interface CreateFlags extends RemoteFlags {
  name: string
  scope: string[]
  expires?: string
  owner?: string
}

export function apikeyCommand(program: Command): Command {
  const apikey = program.command('apikey').description('API keys for programs and scripts')

  examples(
    remote(
      apikey
        .command('create')
        .description('create a key; prints it once')
        .requiredOption('--name <name>', 'what it is for')
        .requiredOption(
          '--scope <scope>',
          `a scope it has (repeatable): ${SCOPES.join(', ')}`,
          collectChoice(SCOPES),
        )
        .option('--expires <time>', 'ISO 8601 time it stops working (default: never)', isoTime)
        .option('--owner <username>', 'the user it acts for (default: you; admins only)'),
    ),
    [
      'strata apikey create --name dashboard --scope devices:read',
      'strata apikey create --name ci --scope devices:read --scope devices:write --expires 2031-01-01T00:00:00Z',
    ],
    'The key is printed once, alone on stdout.',
  ).action(
    handled(async (flags: CreateFlags) => {
      const created = await clientOf(flags).post<CreatedApiKey>('/api/api-keys', {
        name: flags.name,
        scopes: flags.scope,
        expiresAt: flags.expires,
        owner: flags.owner,
      })
      if (flags.json) printJson(created)
      else console.log(created.key)
      note(
        `API key ${created.apiKey.id} (${created.apiKey.scopes.join(' ')}): it is shown once, store it now`,
      )
    }),
  )

  examples(remote(apikey.command('list').description('list API keys, revoked ones included')), [
    'strata apikey list',
  ]).action(
    handled(async (flags: RemoteFlags) => {
      const { items, json } = await listAll<ApiKey>(clientOf(flags), '/api/api-keys')
      if (flags.json) return printJson(json)
      printTable(
        items,
        [
          ['ID', (k) => k.id],
          ['NAME', (k) => k.name],
          ['OWNER', (k) => k.owner],
          ['SCOPES', (k) => k.scopes.join(',')],
          ['EXPIRES', (k) => k.expiresAt ?? 'never'],
          ['LAST USED', (k) => k.lastUsedAt],
          ['REVOKED', (k) => k.revokedAt],
        ],
        'no API keys',
      )
    }),
  )

  examples(
    remote(
      apikey.command('revoke').description('revoke a key: it stops working within seconds').argument('<id>'),
      false,
    ),
    ['strata apikey revoke ak_0123456789abcdef'],
  ).action(
    handled(async (id: string, flags: RemoteFlags) => {
      await clientOf(flags).delete(`/api/api-keys/${seg(id)}`)
      console.log(`revoked API key ${id}`)
    }),
  )
  return apikey
}
