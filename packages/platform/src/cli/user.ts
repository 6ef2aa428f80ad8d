/**
 * `strata user ...` and `strata login`: people's accounts on a running platform. Passwords
 * are prompted without echo on a terminal, or read from the first line of stdin.
 */
import { type Command, Option } from 'commander'
import { checkPassword, checkUsername } from '../access/input.js'
import { type LoginResult, ROLES, type User } from '../access/model.js'
import { listAll, seg } from './api-client.js'
import { handled } from './exit.js'
import { readPassword, requireYes } from './input.js'
import { note, printFields, printJson, printTable } from './output.js'
import { clientOf, examples, type RemoteFlags, remote } from './remote.js'

interface CreateFlags extends RemoteFlags {
  role: (typeof ROLES)[number]
}

/** Checks the name, then asks for a password that would pass the server's policy. */
export async function askNewPassword(username: string): Promise<string> {
  checkUsername(username)
  const password = await readPassword(`password for ${username}: `, true)
  checkPassword(password, username)
  return password
}

const printUser = (u: User): void =>
  printFields([
    ['username', u.username],
    ['role', u.role],
    ['enabled', u.enabled],
    ['created', u.createdAt],
  ])

export function userCommand(program: Command): Command {
  const user = program
    .command('user')
    .description('manage the people who use the platform (admin, operator, viewer)')

  examples(
    remote(
      user
        .command('create')
        .description('create a user; the password is prompted, or read from the first line of stdin')
        .argument('<username>', 'lower case: a-z 0-9 . _ -')
        .addOption(
          new Option('--role <role>', 'admin: everything; operator: devices; viewer: read devices')
            .choices(ROLES)
            .makeOptionMandatory(),
        ),
    ),
    [
      'strata user create alice --role operator',
      'echo "$PASSWORD" | strata user create ci-bot --role viewer',
    ],
  ).action(
    handled(async (username: string, flags: CreateFlags) => {
      const client = clientOf(flags)
      const password = await askNewPassword(username)
      const created = await client.post<User>('/api/users', { username, password, role: flags.role })
      if (flags.json) printJson(created)
      else printUser(created)
    }),
  )

  examples(remote(user.command('list').description('list users')), ['strata user list']).action(
    handled(async (flags: RemoteFlags) => {
      const { items, json } = await listAll<User>(clientOf(flags), '/api/users')
      if (flags.json) return printJson(json)
      printTable(
        items,
        [
          ['USERNAME', (u) => u.username],
          ['ROLE', (u) => u.role],
          ['ENABLED', (u) => u.enabled],
          ['CREATED', (u) => u.createdAt],
        ],
        'no users',
      )
    }),
  )

  examples(
    remote(
      user
        .command('delete')
        .description('delete a user and end their sessions (the last admin cannot be deleted)')
        .argument('<username>')
        .option('--yes', 'confirm: deleting cannot be undone'),
      false,
    ),
    ['strata user delete alice --yes'],
  ).action(
    handled(async (username: string, flags: RemoteFlags & { yes?: boolean }) => {
      requireYes(flags.yes, `user ${username}`)
      await clientOf(flags).delete(`/api/users/${seg(username)}`)
      console.log(`deleted user ${username}`)
    }),
  )
  return user
}

export function loginCommand(program: Command): Command {
  return examples(
    remote(
      program
        .command('login')
        .description('open a session; prints its token, to use as --api-key or STRATA_API_KEY')
        .requiredOption('--username <username>', 'your username'),
      true,
      false,
    ),
    [
      'export STRATA_API_KEY=$(strata login --username alice)',
      'echo "$PASSWORD" | strata login --username alice --url https://strata.example.com',
    ],
    'The password is prompted without echo, or read from the first line of stdin.',
  ).action(
    handled(async (flags: RemoteFlags & { username: string }) => {
      const client = clientOf(flags, true)
      const password = await readPassword(`password for ${flags.username}: `, false)
      const result = await client.post<LoginResult>('/api/auth/login', { username: flags.username, password })
      if (flags.json) printJson(result)
      else console.log(result.token)
      note(
        `logged in as ${result.user.username} (${result.user.role}) until ${result.expiresAt}: ` +
          'export STRATA_API_KEY=<the token above>',
      )
    }),
  )
}
