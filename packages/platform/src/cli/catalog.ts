/**
 * `strata type ...` and `strata group ...`: the two small catalogues devices refer to.
 * Same four verbs on each, so one builder makes both.
 */
import type { Command } from 'commander'
import type { DeviceType, Group } from '../registry/model.js'
import { listAll, seg } from './api-client.js'
import { handled } from './exit.js'
import { requireYes } from './input.js'
import { type Column, printFields, printJson, printTable } from './output.js'
import { clientOf, examples, type RemoteFlags, remote } from './remote.js'

interface Catalog<T> {
  command: string
  /** `device type`, `group`: for messages. */
  noun: string
  path: string
  example: string
  /** Flags of create besides --name, and how they go into the body. */
  createOptions: (cmd: Command) => Command
  createBody: (flags: Record<string, unknown>) => Record<string, unknown>
  columns: ReadonlyArray<Column<T>>
  fields: (record: T) => Array<[string, string | number | null]>
}

interface CreateFlags extends RemoteFlags {
  name?: string
  [flag: string]: unknown
}

function catalogCommand<T extends { id: string }>(
  program: Command,
  c: Catalog<T>,
  description: string,
): Command {
  const cmd = program.command(c.command).description(description)
  examples(
    remote(
      c.createOptions(
        cmd
          .command('create')
          .description(`create a ${c.noun}`)
          .argument('<id>', 'id: 1 to 128 of A-Z a-z 0-9 . _ : -')
          .option('--name <name>', 'display name'),
      ),
    ),
    [`strata ${c.command} create ${c.example} --name "${c.example}"`],
  ).action(
    handled(async (id: string, flags: CreateFlags) => {
      const created = await clientOf(flags).post<T>(c.path, { id, name: flags.name, ...c.createBody(flags) })
      if (flags.json) printJson(created)
      else printFields(c.fields(created))
    }),
  )

  examples(remote(cmd.command('list').description(`list every ${c.noun}`)), [
    `strata ${c.command} list`,
  ]).action(
    handled(async (flags: RemoteFlags) => {
      const { items, json } = await listAll<T>(clientOf(flags), c.path)
      if (flags.json) printJson(json)
      else printTable(items, c.columns, `no ${c.noun}s`)
    }),
  )

  examples(remote(cmd.command('show').description(`one ${c.noun}`).argument('<id>')), [
    `strata ${c.command} show ${c.example}`,
  ]).action(
    handled(async (id: string, flags: RemoteFlags) => {
      const record = await clientOf(flags).get<T>(`${c.path}/${seg(id)}`)
      if (flags.json) printJson(record)
      else printFields(c.fields(record))
    }),
  )

  examples(
    remote(
      cmd
        .command('delete')
        .description(`delete a ${c.noun} (refused while devices use it)`)
        .argument('<id>')
        .option('--yes', 'confirm: deleting cannot be undone'),
      false,
    ),
    [`strata ${c.command} delete ${c.example} --yes`],
  ).action(
    handled(async (id: string, flags: RemoteFlags & { yes?: boolean }) => {
      requireYes(flags.yes, `${c.noun} ${id}`)
      await clientOf(flags).delete(`${c.path}/${seg(id)}`)
      console.log(`deleted ${c.noun} ${id}`)
    }),
  )
  return cmd
}

export function typeCommand(program: Command): Command {
  return catalogCommand<DeviceType>(
    program,
    {
      command: 'type',
      noun: 'device type',
      path: '/api/device-types',
      example: 'thermometer',
      createOptions: (cmd) => cmd,
      createBody: () => ({}),
      columns: [
        ['ID', (t) => t.id],
        ['NAME', (t) => t.name],
        ['METRICS', (t) => t.telemetry.map((m) => m.metric).join(',')],
        ['UPDATED', (t) => t.updatedAt],
      ],
      fields: (t) => [
        ['id', t.id],
        ['name', t.name],
        ['metrics', t.telemetry.map((m) => (m.unit ? `${m.metric} (${m.unit})` : m.metric)).join(', ')],
        ['version', t.version],
        ['created', t.createdAt],
        ['updated', t.updatedAt],
      ],
    },
    'manage device types (what a kind of device reports) on a running platform',
  )
}

export function groupCommand(program: Command): Command {
  return catalogCommand<Group>(
    program,
    {
      command: 'group',
      noun: 'group',
      path: '/api/groups',
      example: 'floor-3',
      createOptions: (cmd) => cmd.option('--description <text>', 'what the group is'),
      createBody: (flags) => ({ description: flags.description }),
      columns: [
        ['ID', (g) => g.id],
        ['NAME', (g) => g.name],
        ['DESCRIPTION', (g) => g.description],
      ],
      fields: (g) => [
        ['id', g.id],
        ['name', g.name],
        ['description', g.description],
        ['version', g.version],
        ['created', g.createdAt],
        ['updated', g.updatedAt],
      ],
    },
    'manage device groups on a running platform',
  )
}
