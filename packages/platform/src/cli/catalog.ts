/**
 * `strata type ...` and `strata group ...`: the two small catalogues devices refer to.
 * Same four verbs on each, so one builder makes both.
 */
import type { Command } from 'commander'
import { InvalidArgumentError, Option } from 'commander'
import { ConfigError } from '../errors.js'
import {
  checkIngestPolicy,
  DEFAULT_SAMPLE_EVERY,
  DEFAULT_SHED_PRIORITY,
  type DeviceType,
  type Group,
  INGEST_STRATEGIES,
  type IngestPolicy,
} from '../registry/model.js'
import { listAll, seg } from './api-client.js'
import { handled } from './exit.js'
import { positiveInt, requireYes } from './input.js'
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

interface IngestFlags {
  strategy?: string
  sampleEvery?: number
  priority?: number
  maxQueuedPoints?: number
}

/** `--strategy` and its tuning flags, on `type create` and `type update`. */
function ingestOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--strategy <strategy>', 'back-pressure while storage lags (docs/topics.md)').choices([
        ...INGEST_STRATEGIES,
      ]),
    )
    .option(
      '--sample-every <n>',
      `sample: keep every Nth point per series (default ${DEFAULT_SAMPLE_EVERY})`,
      positiveInt(2),
    )
    .option(
      '--priority <0-9>',
      `shed: 0 is shed first (default ${DEFAULT_SHED_PRIORITY})`,
      (value: string) => {
        if (!/^\d$/.test(value)) throw new InvalidArgumentError('Expected a whole number from 0 to 9.')
        return Number(value)
      },
    )
    .option(
      '--max-queued-points <n>',
      "points waiting for storage before the type's messages are refused",
      positiveInt(1),
    )
}

/** The policy the flags describe, checked here with the registry's own rules (so a misfit is a usage error). */
function ingestOf(flags: IngestFlags): IngestPolicy | undefined {
  const tuning =
    flags.sampleEvery !== undefined || flags.priority !== undefined || flags.maxQueuedPoints !== undefined
  if (flags.strategy === undefined) {
    if (tuning)
      throw new ConfigError(
        '--sample-every, --priority and --max-queued-points need --strategy (the policy is set whole)',
      )
    return undefined
  }
  return checkIngestPolicy({
    strategy: flags.strategy,
    ...(flags.sampleEvery === undefined ? {} : { sampleEvery: flags.sampleEvery }),
    ...(flags.priority === undefined ? {} : { priority: flags.priority }),
    ...(flags.maxQueuedPoints === undefined ? {} : { maxQueuedPoints: flags.maxQueuedPoints }),
  })
}

function ingestText(p: IngestPolicy | undefined): string {
  if (p === undefined) return 'buffer'
  const parts: string[] = [p.strategy]
  if (p.strategy === 'sample') parts.push(`every ${p.sampleEvery ?? DEFAULT_SAMPLE_EVERY}`)
  if (p.strategy === 'shed') parts.push(`priority ${p.priority ?? DEFAULT_SHED_PRIORITY}`)
  if (p.maxQueuedPoints !== undefined) parts.push(`max ${p.maxQueuedPoints} queued`)
  return parts.join(', ')
}

const typeFields = (t: DeviceType): Array<[string, string | number | null]> => [
  ['id', t.id],
  ['name', t.name],
  [
    'metrics',
    t.telemetry
      .map((m) => `${m.metric}${m.unit ? ` (${m.unit})` : ''}${m.alarm ? ' [alarm]' : ''}`)
      .join(', '),
  ],
  ['ingest', ingestText(t.ingest)],
  ['version', t.version],
  ['created', t.createdAt],
  ['updated', t.updatedAt],
]

export function typeCommand(program: Command): Command {
  const cmd = catalogCommand<DeviceType>(
    program,
    {
      command: 'type',
      noun: 'device type',
      path: '/api/device-types',
      example: 'thermometer',
      createOptions: ingestOptions,
      createBody: (flags) => {
        const ingest = ingestOf(flags as IngestFlags)
        return ingest === undefined ? {} : { ingest }
      },
      columns: [
        ['ID', (t) => t.id],
        ['NAME', (t) => t.name],
        ['METRICS', (t) => t.telemetry.map((m) => m.metric).join(',')],
        ['INGEST', (t) => ingestText(t.ingest)],
        ['UPDATED', (t) => t.updatedAt],
      ],
      fields: typeFields,
    },
    'manage device types (what a kind of device reports) on a running platform',
  )
  examples(
    remote(
      ingestOptions(
        cmd
          .command('update')
          .description(
            'change a device type: only the fields given change; --strategy sets the ingest policy whole',
          )
          .argument('<id>')
          .option('--name <name>', 'display name'),
      ),
    ),
    [
      'strata type update thermometer --strategy sample --sample-every 20',
      'strata type update camera --strategy shed --priority 1 --max-queued-points 50000',
      'strata type update thermometer --strategy buffer',
    ],
  ).action(
    handled(async (id: string, flags: RemoteFlags & IngestFlags & { name?: string }) => {
      const ingest = ingestOf(flags)
      const patch = { name: flags.name, ...(ingest === undefined ? {} : { ingest }) }
      const updated = await clientOf(flags).patch<DeviceType>(`/api/device-types/${seg(id)}`, patch)
      if (flags.json) printJson(updated)
      else printFields(typeFields(updated))
    }),
  )
  return cmd
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
