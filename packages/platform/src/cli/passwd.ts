import { dirname } from 'node:path'
import { ensureDir } from '@strata/broker'
import type { Command } from 'commander'
import { PasswordFile, validateUsername } from '../auth/password-file.js'
import { loadConfig } from '../config/load.js'
import { ConfigError, StrataError } from '../errors.js'
import { readLine } from './input.js'

interface PasswdFlags {
  dataDir?: string
  passwordFile?: string
  delete?: boolean
  list?: boolean
  passwordStdin?: boolean
}

export function registerPasswd(program: Command): void {
  program
    .command('passwd')
    .description('add, change, delete or list MQTT users in the password file (scrypt hashes)')
    .argument('[username]', 'the MQTT username')
    .option('-d, --data-dir <dir>', 'data dir whose password file to edit (default: ./data or $STRATA_DATA)')
    .option('--password-file <file>', 'the password file (default: <data-dir>/passwords)')
    .option('--password-stdin', 'read the password from standard input instead of prompting')
    .option('-D, --delete', 'delete the user')
    .option('-l, --list', 'list the usernames')
    .addHelpText(
      'after',
      `
A running "strata up" picks up changes within a second.

Examples:
  $ strata passwd sensor-01                        # prompts for the password
  $ echo "$SECRET" | strata passwd --password-stdin sensor-01
  $ strata passwd --delete sensor-01
  $ strata passwd --list`,
    )
    .action(async (username: string | undefined, flags: PasswdFlags) => {
      const config = await loadConfig({ flags: { dataDir: flags.dataDir, passwordFile: flags.passwordFile } })
      const file = await PasswordFile.load(config.passwordFile)
      if (flags.list) {
        for (const name of file.usernames()) console.log(name)
        return
      }
      if (!username) throw new StrataError('STRATA_CONFIG_INVALID', 'a username is required (or --list)')
      if (flags.delete) {
        if (!file.delete(username))
          throw new StrataError('STRATA_CONFIG_INVALID', `no user ${username} in ${file.path}`)
        await file.save()
        console.error(`deleted ${username} from ${file.path}`)
        return
      }
      // Refuse a bad name before asking for a password that would be thrown away.
      // A bad argument is a usage error (exit 2), whatever the file layer calls it.
      try {
        validateUsername(username)
      } catch (cause) {
        throw new ConfigError((cause as Error).message, { cause })
      }
      const existed = file.has(username)
      const password = await readLine(`password for ${username}: `)
      if (password === '') {
        throw new StrataError(
          'STRATA_CONFIG_INVALID',
          process.stdin.isTTY
            ? 'the password must not be empty'
            : 'the password must not be empty (none came on standard input: pipe it in, e.g. echo "$SECRET" | strata passwd --password-stdin USER)',
        )
      }
      if (!flags.passwordStdin && process.stdin.isTTY) {
        const again = await readLine('again: ')
        if (again !== password) throw new StrataError('STRATA_CONFIG_INVALID', 'the passwords do not match')
      }
      await file.set(username, password)
      await ensureDir(dirname(file.path))
      await file.save()
      console.error(
        `${existed ? 'changed the password of' : 'added'} ${username} in ${file.path}` +
          ' (a running "strata up" picks it up within a second)',
      )
    })
}
