/**
 * `strata admin create`: the first admin, written straight into the data dir's database, so
 * no server and no API key are needed. Safe while `strata up` runs on the same data dir:
 * SQLite in WAL mode with a busy timeout serialises the two writers.
 */
import { join } from 'node:path'
import { ensureDir } from '@strata/broker'
import type { Command } from 'commander'
import { createAccessService } from '../access/sqlite-access.js'
import { createAuditLog } from '../audit/sqlite-audit.js'
import { loadConfig } from '../config/load.js'
import { SqliteDb } from '../registry/sqlite-db.js'
import { handled } from './exit.js'
import { examples } from './remote.js'
import { askNewPassword } from './user.js'

/** Who the audit log says did it. */
export const ADMIN_CREATE_ACTOR = 'cli:admin-create'

interface AdminFlags {
  dataDir?: string
}

export function adminCommand(program: Command): Command {
  const admin = program
    .command('admin')
    .description('administer a data dir directly, without a running server')
  examples(
    admin
      .command('create')
      .description(
        "create an admin user in the data dir's database (for the first admin, or a lost password)",
      )
      .argument('<username>', 'lower case: a-z 0-9 . _ -')
      .option('-d, --data-dir <dir>', "the platform's data dir (default: ./data or $STRATA_DATA)"),
    [
      'strata admin create alice --data-dir /var/lib/strata          # prompts for the password',
      'echo "$PASSWORD" | strata admin create alice --data-dir ./data',
    ],
    'The password is prompted twice without echo, or read from the first line of stdin.\n' +
      'Works whether or not "strata up" is running on that data dir. Then: strata login --username NAME',
  ).action(
    handled(async (username: string, flags: AdminFlags) => {
      const config = await loadConfig({ flags: { dataDir: flags.dataDir } })
      const password = await askNewPassword(username)
      await ensureDir(config.dataDir)
      const db = new SqliteDb(join(config.dataDir, 'registry.db'), () => new Date())
      try {
        const access = createAccessService({ db })
        const user = await access.createUser({ username, password, role: 'admin' })
        await createAuditLog(db).record({
          actor: ADMIN_CREATE_ACTOR,
          action: 'user.create',
          targetKind: 'user',
          targetId: user.username,
          details: { role: 'admin' },
        })
        await access.close()
        console.error(
          `created admin ${user.username} in ${config.dataDir}; next: strata login --username ${user.username}`,
        )
      } finally {
        db.close()
      }
    }),
  )
  return admin
}
