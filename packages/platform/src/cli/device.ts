/**
 * `strata device ...`: the device records themselves (create, list, show, update, enable,
 * disable, delete). Credentials and grants hang off the same command (credentials.ts, grants.ts).
 */
import type { Command } from 'commander'
import type { Device, DeviceStatus } from '../registry/model.js'
import { type ApiClient, allPages, type Page, seg } from './api-client.js'
import { handled } from './exit.js'
import { collect, collectTag, positiveInt, requireYes, tagsOf } from './input.js'
import { type Column, note, printFields, printJson, printTable, tagsText } from './output.js'
import { clientOf, examples, type RemoteFlags, remote } from './remote.js'

const DEVICE_COLUMNS: ReadonlyArray<Column<Device>> = [
  ['ID', (d) => d.id],
  ['NAME', (d) => d.name],
  ['TYPE', (d) => d.typeId],
  ['ENABLED', (d) => d.enabled],
  ['GROUPS', (d) => d.groups.join(',')],
  ['TAGS', (d) => tagsText(d.tags)],
  ['FIRMWARE', (d) => d.firmwareVersion],
]

function printDevice(d: Device, status?: DeviceStatus): void {
  printFields([
    ['id', d.id],
    ['name', d.name],
    ['type', d.typeId],
    ['enabled', d.enabled],
    ['groups', d.groups.join(', ')],
    ['tags', tagsText(d.tags)],
    ['firmware', d.firmwareVersion],
    ['version', d.version],
    ['created', d.createdAt],
    ['updated', d.updatedAt],
    ...(status
      ? ([
          ['online', status.online],
          ['last seen', status.lastSeen ?? 'never'],
        ] as const)
      : []),
  ])
}

interface CreateFlags extends RemoteFlags {
  name?: string
  type?: string
  group?: string[]
  tag?: string[]
  firmware?: string
  disabled?: boolean
}

interface UpdateFlags extends RemoteFlags {
  name?: string
  type?: string
  group?: string[]
  /** false with --no-groups */
  groups?: boolean
  tag?: string[]
  /** false with --no-tags */
  tags?: boolean
  firmware?: string
}

interface ListFlags extends RemoteFlags {
  selector?: string
  limit?: number
  cursor?: string
  all?: boolean
}

interface DeleteFlags extends RemoteFlags {
  yes?: boolean
}

async function setEnabled(client: ApiClient, id: string, enabled: boolean, json?: boolean): Promise<void> {
  const device = await client.patch<Device>(`/api/devices/${seg(id)}`, { enabled })
  if (json) printJson(device)
  else console.log(`${enabled ? 'enabled' : 'disabled'} device ${device.id}`)
}

function registerRecords(device: Command): void {
  examples(
    remote(
      device
        .command('create')
        .description('register a device')
        .argument('<id>', 'device id: 1 to 128 of A-Z a-z 0-9 . _ : -')
        .option('--name <name>', 'display name')
        .option('--type <typeId>', 'its device type')
        .option('--group <groupId>', 'a group it belongs to (repeatable)', collect)
        .option('--tag <key=value>', 'a tag (repeatable)', collectTag)
        .option('--firmware <version>', 'the firmware version it runs')
        .option('--disabled', 'create it disabled: it cannot connect until enabled'),
    ),
    [
      'strata device create sensor-01',
      'strata device create sensor-02 --name "Hall sensor" --type thermo --group floor-3 --tag room=12 --tag zone=b',
    ],
  ).action(
    handled(async (id: string, flags: CreateFlags) => {
      const client = clientOf(flags)
      const body = {
        id,
        name: flags.name,
        typeId: flags.type,
        groups: flags.group,
        tags: tagsOf(flags.tag),
        firmwareVersion: flags.firmware,
        enabled: flags.disabled ? false : undefined,
      }
      const created = await client.post<Device>('/api/devices', body)
      if (flags.json) printJson(created)
      else printDevice(created)
    }),
  )

  examples(
    remote(
      device
        .command('list')
        .description('list devices, in id order, a page at a time')
        .option(
          '--selector <selector>',
          'only matching devices, e.g. "type:thermostat tag:floor=3" (docs/registry.md)',
        )
        .option('--limit <n>', "page size, 1 to 1000 (default: the server's, 100)", positiveInt())
        .option('--cursor <cursor>', 'continue after a previous page')
        .option('--all', 'follow the pages to the end'),
    ),
    [
      'strata device list',
      'strata device list --selector "group:floor-3 online:true" --all',
      'strata device list --all --json | jq -r ".items[].id"',
    ],
  ).action(
    handled(async (flags: ListFlags) => {
      const client = clientOf(flags)
      const fetchPage = (cursor: string | undefined): Promise<Page<Device>> =>
        client.get<Page<Device>>('/api/devices', {
          query: { selector: flags.selector, limit: flags.limit, cursor },
        })
      const page: Page<Device> = flags.all
        ? { items: await allPages(fetchPage), nextCursor: null }
        : await fetchPage(flags.cursor)
      if (flags.json) return printJson(page)
      printTable(page.items, DEVICE_COLUMNS, 'no devices')
      if (page.nextCursor) note(`more: add --all, or --cursor ${page.nextCursor}`)
    }),
  )

  examples(
    remote(device.command('show').description('a device record and its connection status').argument('<id>')),
    ['strata device show sensor-01', 'strata device show sensor-01 --json'],
  ).action(
    handled(async (id: string, flags: RemoteFlags) => {
      const client = clientOf(flags)
      const [record, status] = await Promise.all([
        client.get<Device>(`/api/devices/${seg(id)}`),
        client.get<DeviceStatus>(`/api/devices/${seg(id)}/status`),
      ])
      if (flags.json) printJson({ ...record, status })
      else printDevice(record, status)
    }),
  )

  examples(
    remote(
      device
        .command('update')
        .description('change a device: only the fields given change; --group and --tag replace the whole set')
        .argument('<id>')
        .option('--name <name>', 'display name')
        .option('--type <typeId>', 'its device type ("none" for no type)')
        .option('--group <groupId>', 'its groups (repeatable; replaces them all)', collect)
        .option('--no-groups', 'remove it from every group')
        .option('--tag <key=value>', 'its tags (repeatable; replaces them all)', collectTag)
        .option('--no-tags', 'remove every tag')
        .option('--firmware <version>', 'the firmware version it runs'),
    ),
    [
      'strata device update sensor-01 --name "Hall sensor" --firmware 1.4.2',
      'strata device update sensor-01 --group floor-3 --group hvac --tag room=12',
      'strata device update sensor-01 --type none --no-tags',
    ],
  ).action(
    handled(async (id: string, flags: UpdateFlags) => {
      const patch = {
        name: flags.name,
        typeId: flags.type === 'none' ? null : flags.type,
        groups: flags.groups === false ? [] : flags.group,
        tags: flags.tags === false ? {} : tagsOf(flags.tag),
        firmwareVersion: flags.firmware,
      }
      const updated = await clientOf(flags).patch<Device>(`/api/devices/${seg(id)}`, patch)
      if (flags.json) printJson(updated)
      else printDevice(updated)
    }),
  )

  for (const enabled of [true, false]) {
    const verb = enabled ? 'enable' : 'disable'
    examples(
      remote(
        device
          .command(verb)
          .description(
            enabled
              ? 'let a disabled device connect again'
              : 'refuse the device: it is disconnected and cannot connect until enabled',
          )
          .argument('<id>'),
      ),
      [`strata device ${verb} sensor-01`],
    ).action(
      handled((id: string, flags: RemoteFlags) => setEnabled(clientOf(flags), id, enabled, flags.json)),
    )
  }

  examples(
    remote(
      device
        .command('delete')
        .description('delete a device and its credentials and grants')
        .argument('<id>')
        .option('--yes', 'confirm: deleting cannot be undone'),
      false,
    ),
    ['strata device delete sensor-01 --yes'],
  ).action(
    handled(async (id: string, flags: DeleteFlags) => {
      requireYes(flags.yes, `device ${id}`)
      await clientOf(flags).delete(`/api/devices/${seg(id)}`)
      console.log(`deleted device ${id}`)
    }),
  )
}

/** Creates `strata device`; credentials.ts and grants.ts add their subcommands to it. */
export function deviceCommand(program: Command): Command {
  const device = program
    .command('device')
    .description('manage devices on a running platform (over its HTTP API)')
  registerRecords(device)
  return device
}
