/**
 * `strata provision template ...`: fleet provisioning. A template's claim token goes into
 * every factory image; a device connecting with it asks for its own identity once.
 */
import { type Command, Option } from 'commander'
import type { ProvisioningTemplate } from '../identity/model.js'
import { listAll, seg } from './api-client.js'
import { handled } from './exit.js'
import { collect, collectTag, isoTime, positiveInt, requireYes, tagsOf } from './input.js'
import { note, printFields, printJson, printTable, tagsText } from './output.js'
import { clientOf, examples, type RemoteFlags, remote } from './remote.js'

interface CreateFlags extends RemoteFlags {
  name?: string
  type?: string
  group?: string[]
  tag?: string[]
  prefix?: string
  kind?: 'token' | 'certificate'
  max?: number
  expires?: string
}

const PATH = '/api/provisioning-templates'

function printTemplate(t: ProvisioningTemplate): void {
  printFields([
    ['id', t.id],
    ['name', t.name],
    ['type', t.typeId],
    ['groups', t.groups.join(', ')],
    ['tags', tagsText(t.tags)],
    ['id prefix', t.idPrefix],
    ['credential', t.credentialKind],
    ['provisioned', t.maxDevices === null ? t.provisioned : `${t.provisioned} of ${t.maxDevices}`],
    ['expires', t.expiresAt ?? 'never'],
    ['enabled', t.enabled],
    ['version', t.version],
    ['created', t.createdAt],
  ])
}

function registerTemplate(template: Command): void {
  examples(
    remote(
      template
        .command('create')
        .description('create a template; prints its claim token once')
        .argument('<id>', 'template id (devices claim with it as MQTT username)')
        .option('--name <name>', 'display name')
        .option('--type <typeId>', 'device type of the devices it creates')
        .option('--group <groupId>', 'a group they join (repeatable)', collect)
        .option('--tag <key=value>', 'a tag they get (repeatable)', collectTag)
        .option('--prefix <idPrefix>', 'device ids are <prefix><serial>')
        .addOption(
          new Option('--kind <kind>', 'what each device receives (default: token)').choices([
            'token',
            'certificate',
          ]),
        )
        .option('--max <n>', 'how many devices it may create (default: no limit)', positiveInt())
        .option('--expires <time>', 'ISO 8601 time after which it stops working', isoTime),
    ),
    [
      'strata provision template create line-a --type thermometer --group factory --prefix therm- --max 500',
      'strata provision template create line-b --kind certificate --expires 2031-01-01T00:00:00Z',
    ],
    'The claim token is printed once, alone on stdout: put it in the factory image.',
  ).action(
    handled(async (id: string, flags: CreateFlags) => {
      const created = await clientOf(flags).post<{ template: ProvisioningTemplate; claimToken: string }>(
        PATH,
        {
          id,
          name: flags.name,
          typeId: flags.type,
          groups: flags.group,
          tags: tagsOf(flags.tag),
          idPrefix: flags.prefix,
          credentialKind: flags.kind,
          maxDevices: flags.max,
          expiresAt: flags.expires,
        },
      )
      if (flags.json) printJson(created)
      else console.log(created.claimToken)
      note(
        `claim token of template ${created.template.id}: it is shown once, store it now ` +
          `(devices claim with MQTT username ${created.template.id}, password the token)`,
      )
    }),
  )

  examples(remote(template.command('list').description('list templates')), [
    'strata provision template list',
  ]).action(
    handled(async (flags: RemoteFlags) => {
      const { items, json } = await listAll<ProvisioningTemplate>(clientOf(flags), PATH)
      if (flags.json) return printJson(json)
      printTable(
        items,
        [
          ['ID', (t) => t.id],
          ['KIND', (t) => t.credentialKind],
          ['PREFIX', (t) => t.idPrefix],
          [
            'PROVISIONED',
            (t) => (t.maxDevices === null ? t.provisioned : `${t.provisioned}/${t.maxDevices}`),
          ],
          ['EXPIRES', (t) => t.expiresAt],
          ['ENABLED', (t) => t.enabled],
        ],
        'no provisioning templates',
      )
    }),
  )

  examples(remote(template.command('show').description('one template').argument('<id>')), [
    'strata provision template show line-a',
  ]).action(
    handled(async (id: string, flags: RemoteFlags) => {
      const t = await clientOf(flags).get<ProvisioningTemplate>(`${PATH}/${seg(id)}`)
      if (flags.json) printJson(t)
      else printTemplate(t)
    }),
  )

  examples(
    remote(
      template
        .command('delete')
        .description('delete a template: its claim token stops working (devices it made stay)')
        .argument('<id>')
        .option('--yes', 'confirm: deleting cannot be undone'),
      false,
    ),
    ['strata provision template delete line-a --yes'],
  ).action(
    handled(async (id: string, flags: RemoteFlags & { yes?: boolean }) => {
      requireYes(flags.yes, `provisioning template ${id}`)
      await clientOf(flags).delete(`${PATH}/${seg(id)}`)
      console.log(`deleted provisioning template ${id}`)
    }),
  )
}

export function provisionCommand(program: Command): Command {
  const provision = program.command('provision').description('fleet provisioning on a running platform')
  registerTemplate(provision.command('template').description('provisioning templates and their claim tokens'))
  return provision
}
