/** `strata audit`: who changed what, newest first. */
import type { Command } from 'commander'
import type { AuditEntry } from '../audit/model.js'
import { allPages, type Page } from './api-client.js'
import { handled } from './exit.js'
import { positiveInt } from './input.js'
import { note, printJson, printTable } from './output.js'
import { clientOf, examples, type RemoteFlags, remote } from './remote.js'

interface AuditFlags extends RemoteFlags {
  targetKind?: string
  targetId?: string
  actor?: string
  limit?: number
  cursor?: string
  all?: boolean
}

export function auditCommand(program: Command): Command {
  return examples(
    remote(
      program
        .command('audit')
        .description('the audit log: who changed what, newest first')
        .option('--target-kind <kind>', 'only changes to this kind of record: device, user, apikey...')
        .option('--target-id <id>', 'only changes to this record')
        .option('--actor <actor>', 'only changes by user:NAME, apikey:ID, device:ID or system')
        .option('--limit <n>', "page size, 1 to 1000 (default: the server's, 100)", positiveInt())
        .option('--cursor <cursor>', 'continue after a previous page')
        .option('--all', 'follow the pages to the end'),
    ),
    [
      'strata audit --limit 20',
      'strata audit --target-kind device --target-id sensor-01',
      'strata audit --actor user:alice --all --json',
    ],
  ).action(
    handled(async (flags: AuditFlags) => {
      const client = clientOf(flags)
      const fetchPage = (cursor: string | undefined): Promise<Page<AuditEntry>> =>
        client.get<Page<AuditEntry>>('/api/audit', {
          query: {
            targetKind: flags.targetKind,
            targetId: flags.targetId,
            actor: flags.actor,
            limit: flags.limit,
            cursor,
          },
        })
      const page: Page<AuditEntry> = flags.all
        ? { items: await allPages(fetchPage), nextCursor: null }
        : await fetchPage(flags.cursor)
      if (flags.json) return printJson(page)
      printTable(
        page.items,
        [
          ['SEQ', (e) => e.seq],
          ['AT', (e) => e.at],
          ['ACTOR', (e) => e.actor],
          ['ACTION', (e) => e.action],
          ['TARGET', (e) => `${e.targetKind}:${e.targetId}`],
          ['DETAILS', (e) => (Object.keys(e.details).length ? JSON.stringify(e.details) : '')],
        ],
        'no audit entries',
      )
      if (page.nextCursor) note(`more: add --all, or --cursor ${page.nextCursor}`)
    }),
  )
}
