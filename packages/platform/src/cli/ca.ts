/**
 * `strata ca ...`: certificate authorities whose device certificates the platform accepts,
 * besides its own (created on first start).
 */
import type { Command } from 'commander'
import type { CertificateAuthority } from '../identity/model.js'
import { listAll, seg } from './api-client.js'
import { handled } from './exit.js'
import { readTextFile } from './input.js'
import { printFields, printJson, printTable } from './output.js'
import { clientOf, examples, type RemoteFlags, remote } from './remote.js'

const PATH = '/api/certificate-authorities'

export function caCommand(program: Command): Command {
  const ca = program.command('ca').description('certificate authorities trusted for device certificates')

  examples(remote(ca.command('list').description("list the trusted CAs, the platform's own included")), [
    'strata ca list',
  ]).action(
    handled(async (flags: RemoteFlags) => {
      const { items, json } = await listAll<CertificateAuthority>(clientOf(flags), PATH)
      if (flags.json) return printJson(json)
      printTable(
        items,
        [
          ['ID', (c) => c.id],
          ['NAME', (c) => c.name],
          ['SUBJECT', (c) => c.subject],
          ['EXPIRES', (c) => c.notAfter],
          ['PLATFORM', (c) => c.platform],
        ],
        'no certificate authorities',
      )
    }),
  )

  examples(
    remote(
      ca
        .command('add')
        .description('trust a CA: devices with certificates it signed can register them')
        .argument('<name>', 'a name for people')
        .requiredOption('--cert <file>', 'PEM CA certificate'),
    ),
    ['strata ca add factory-ca --cert factory-ca.pem'],
  ).action(
    handled(async (name: string, flags: RemoteFlags & { cert: string }) => {
      const client = clientOf(flags)
      const certificatePem = await readTextFile(flags.cert, '--cert')
      const added = await client.post<CertificateAuthority>(PATH, { name, certificatePem })
      if (flags.json) return printJson(added)
      printFields([
        ['id', added.id],
        ['name', added.name],
        ['subject', added.subject],
        ['expires', added.notAfter],
      ])
    }),
  )

  examples(
    remote(
      ca.command('remove').description('stop trusting a CA').argument('<id>', 'from "strata ca list"'),
      false,
    ),
    ['strata ca remove 3f2a...'],
  ).action(
    handled(async (id: string, flags: RemoteFlags) => {
      await clientOf(flags).delete(`${PATH}/${seg(id)}`)
      console.log(`removed certificate authority ${id}`)
    }),
  )
  return ca
}
