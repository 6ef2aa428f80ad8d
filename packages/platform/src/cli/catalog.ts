/**
 * `strata type ...` and `strata group ...`: the two small catalogues devices refer to.
 * Same four verbs on each, so one builder makes both.
 */
import type { Command } from 'commander'
import { InvalidArgumentError, Option } from 'commander'
import { ConfigError } from '../errors.js'
import {
  checkIngestPolicy,
  checkRetention,
  DEFAULT_SAMPLE_EVERY,
  DEFAULT_SHED_PRIORITY,
  type DeviceType,
  type Group,
  INGEST_STRATEGIES,
  type IngestPolicy,
  MAX_RETENTION_DAYS,
  type RetentionDays,
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

interface RetentionFlags {
  rawDays?: number
  minuteDays?: number
  hourDays?: number
  defaultRetention?: boolean
}

/** `--raw-days`, `--minute-days`, `--hour-days` on `type create` (and `--default-retention` on update). */
function retentionOptions(cmd: Command): Command {
  const days = `1 to ${MAX_RETENTION_DAYS}`
  const parse = (value: string): number => {
    if (!/^\d{1,9}$/.test(value) || Number(value) < 1 || Number(value) > MAX_RETENTION_DAYS)
      throw new InvalidArgumentError(`Expected a whole number of days from ${days}.`)
    return Number(value)
  }
  return cmd
    .option('--raw-days <n>', `keep raw points this many days (${days})`, parse)
    .option('--minute-days <n>', `keep 1-minute rollups this many days (${days})`, parse)
    .option('--hour-days <n>', `keep 1-hour rollups this many days (${days})`, parse)
}

/** The retention the flags describe (set whole), checked with the registry's rules; undefined: unchanged. */
function retentionOf(flags: RetentionFlags): RetentionDays | null | undefined {
  const given = {
    ...(flags.rawDays === undefined ? {} : { rawDays: flags.rawDays }),
    ...(flags.minuteDays === undefined ? {} : { minuteDays: flags.minuteDays }),
    ...(flags.hourDays === undefined ? {} : { hourDays: flags.hourDays }),
  }
  const any = Object.keys(given).length > 0
  if (flags.defaultRetention) {
    if (any)
      throw new ConfigError(
        '--default-retention clears the retention: give it without --raw-days, --minute-days or --hour-days',
      )
    return null
  }
  return any ? checkRetention(given) : undefined
}

function retentionText(r: RetentionDays | null | undefined): string {
  if (r === null || r === undefined) return 'platform default'
  const parts: string[] = []
  if (r.rawDays !== undefined) parts.push(`raw ${r.rawDays} d`)
  if (r.minuteDays !== undefined) parts.push(`1-minute ${r.minuteDays} d`)
  if (r.hourDays !== undefined) parts.push(`1-hour ${r.hourDays} d`)
  return `${parts.join(', ')} (others: platform default)`
}

/** Short form for the table: `7d/90d/1825d` (raw/1m/1h), '-' where the platform default applies. */
function retentionCell(r: RetentionDays | null | undefined): string {
  if (r === null || r === undefined) return 'default'
  return [r.rawDays, r.minuteDays, r.hourDays].map((d) => (d === undefined ? '-' : `${d}d`)).join('/')
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
  ['retention', retentionText(t.retention)],
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
      createOptions: (c) => retentionOptions(ingestOptions(c)),
      createBody: (flags) => {
        const ingest = ingestOf(flags as IngestFlags)
        const retention = retentionOf(flags as RetentionFlags)
        return {
          ...(ingest === undefined ? {} : { ingest }),
          ...(retention === undefined ? {} : { retention }),
        }
      },
      columns: [
        ['ID', (t) => t.id],
        ['NAME', (t) => t.name],
        ['METRICS', (t) => t.telemetry.map((m) => m.metric).join(',')],
        ['INGEST', (t) => ingestText(t.ingest)],
        ['RETENTION', (t) => retentionCell(t.retention)],
        ['UPDATED', (t) => t.updatedAt],
      ],
      fields: typeFields,
    },
    'manage device types (what a kind of device reports) on a running platform',
  )
  examples(
    remote(
      retentionOptions(
        ingestOptions(
          cmd
            .command('update')
            .description(
              'change a device type: only the fields given change; --strategy sets the ingest policy whole, and the retention flags the retention whole (for series created from then on)',
            )
            .argument('<id>')
            .option('--name <name>', 'display name'),
        ),
      ).option('--default-retention', "clear the type's retention: its devices follow telemetry.retention"),
    ),
    [
      'strata type update thermometer --strategy sample --sample-every 20',
      'strata type update camera --strategy shed --priority 1 --max-queued-points 50000',
      'strata type update thermometer --strategy buffer',
      'strata type update thermometer --raw-days 7 --minute-days 90 --hour-days 1825',
      'strata type update thermometer --default-retention',
    ],
  ).action(
    handled(async (id: string, flags: RemoteFlags & IngestFlags & RetentionFlags & { name?: string }) => {
      const ingest = ingestOf(flags)
      const retention = retentionOf(flags)
      const patch = {
        name: flags.name,
        ...(ingest === undefined ? {} : { ingest }),
        ...(retention === undefined ? {} : { retention }),
      }
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
