/**
 * `strata device grant ...`: topics a device may use beyond its own namespace
 * (`devices/<id>/...`, which it always has).
 */
import { type Command, Option } from 'commander'
import type { AclGrant } from '../identity/model.js'
import { itemsOf, seg } from './api-client.js'
import { handled } from './exit.js'
import { printJson, printTable } from './output.js'
import { clientOf, examples, type RemoteFlags, remote } from './remote.js'

interface AddFlags extends RemoteFlags {
  access: 'publish' | 'subscribe' | 'all'
}

export function registerGrants(device: Command): void {
  const grant = device.command('grant').description('extra MQTT topics a device may publish or subscribe to')
  examples(
    remote(
      grant
        .command('add')
        .description('let the device use topics matching a filter')
        .argument('<id>', 'device id')
        .argument('<filter>', 'MQTT topic filter, + and # allowed')
        .addOption(
          new Option('--access <access>', 'what it may do there')
            .choices(['publish', 'subscribe', 'all'])
            .makeOptionMandatory(),
        ),
    ),
    [
      'strata device grant add sensor-01 "alerts/#" --access publish',
      'strata device grant add sensor-01 "config/floor-3/+" --access subscribe',
    ],
  ).action(
    handled(async (id: string, topicFilter: string, flags: AddFlags) => {
      const added = await clientOf(flags).post<AclGrant>(`/api/devices/${seg(id)}/grants`, {
        topicFilter,
        access: flags.access,
      })
      if (flags.json) printJson(added)
      else console.log(`granted ${added.access} on ${added.topicFilter} to device ${id} (grant ${added.id})`)
    }),
  )

  examples(remote(grant.command('list').description("a device's grants").argument('<id>', 'device id')), [
    'strata device grant list sensor-01',
  ]).action(
    handled(async (id: string, flags: RemoteFlags) => {
      const body = await clientOf(flags).get<unknown>(`/api/devices/${seg(id)}/grants`)
      if (flags.json) return printJson(body)
      printTable(
        itemsOf<AclGrant>(body),
        [
          ['ID', (g) => g.id],
          ['ACCESS', (g) => g.access],
          ['TOPIC FILTER', (g) => g.topicFilter],
          ['CREATED', (g) => g.createdAt],
        ],
        `no grants for device ${id}`,
      )
    }),
  )

  examples(
    remote(
      grant
        .command('remove')
        .description('remove a grant')
        .argument('<grantId>', 'from "strata device grant list"'),
      false,
    ),
    ['strata device grant remove acl_0123456789abcdef'],
  ).action(
    handled(async (grantId: string, flags: RemoteFlags) => {
      await clientOf(flags).delete(`/api/grants/${seg(grantId)}`)
      console.log(`removed grant ${grantId}`)
    }),
  )
}
