/**
 * `strata device token|credentials|cert ...`: how a device proves who it is. Secrets (a
 * token, a private key) are shown or written once; the platform keeps only their hashes.
 */
import { constants } from 'node:fs'
import { access, unlink, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { type Command, Option } from 'commander'
import { ConfigError } from '../errors.js'
import type { DeviceCredential, IssuedToken } from '../identity/model.js'
import { itemsOf, seg } from './api-client.js'
import { handled } from './exit.js'
import { positiveInt, readTextFile } from './input.js'
import { note, printJson, printTable } from './output.js'
import { clientOf, examples, type RemoteFlags, remote } from './remote.js'

interface TokenFlags extends RemoteFlags {
  label?: string
}

interface IssueFlags extends RemoteFlags {
  csr?: string
  generateKey?: boolean
  keyOut?: string
  out?: string
  days?: number
  label?: string
  algorithm: 'ec-p256' | 'rsa-2048'
}

interface RegisterFlags extends RemoteFlags {
  cert: string
  label?: string
}

interface RevokeFlags extends RemoteFlags {
  reason?: string
}

/** Fails before any request if `file`'s directory cannot take a new file. */
async function checkWritable(file: string, flag: string): Promise<void> {
  const dir = dirname(resolve(file))
  try {
    await access(dir, constants.W_OK)
  } catch (cause) {
    throw new ConfigError(`cannot write ${flag} ${file}: ${dir} is missing or not writable`, { cause })
  }
}

/** The private key, 0600, never over an existing file (that could be another device's key). */
async function writeKey(path: string, pem: string): Promise<void> {
  try {
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' })
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigError(`--key-out ${path} already exists: refusing to overwrite a private key`, {
        cause,
      })
    }
    throw cause
  }
}

function checkIssueFlags(flags: IssueFlags): void {
  if (flags.generateKey && flags.csr)
    throw new ConfigError('give either --csr FILE or --generate-key, not both')
  if (!flags.generateKey && !flags.csr)
    throw new ConfigError('give --csr FILE, or --generate-key with --key-out')
  if (flags.generateKey && (!flags.keyOut || !flags.out)) {
    throw new ConfigError(
      '--generate-key needs --key-out FILE (the private key) and --out FILE (the certificate)',
    )
  }
  if (flags.keyOut && !flags.generateKey) throw new ConfigError('--key-out is only for --generate-key')
}

async function issueCertificate(id: string, flags: IssueFlags): Promise<void> {
  checkIssueFlags(flags)
  const client = clientOf(flags)
  if (flags.out) await checkWritable(flags.out, '--out')
  if (flags.keyOut) await checkWritable(flags.keyOut, '--key-out')
  let csrPem: string
  let keyOut: string | undefined
  if (flags.csr) {
    csrPem = await readTextFile(flags.csr, '--csr')
  } else {
    // Loaded here only: the X.509 library is the heaviest import of the CLI.
    const { generateKeyAndCsr } = await import('../identity/x509/device-keys.js')
    const generated = await generateKeyAndCsr(id, flags.algorithm)
    keyOut = flags.keyOut as string
    await writeKey(keyOut, generated.privateKeyPem)
    csrPem = generated.csrPem
  }
  let credential: DeviceCredential
  try {
    credential = await client.post<DeviceCredential>(`/api/devices/${seg(id)}/credentials`, {
      kind: 'certificate',
      csrPem,
      label: flags.label,
      validityDays: flags.days,
    })
  } catch (err) {
    // No certificate for it: a key left behind would only be confusing.
    if (keyOut) await unlink(keyOut).catch(() => {})
    throw err
  }
  const pem = credential.certificate?.pem ?? ''
  if (flags.out) await writeFile(flags.out, pem)
  if (flags.json) printJson(credential)
  else if (!flags.out) process.stdout.write(pem.endsWith('\n') ? pem : `${pem}\n`)
  const where = [keyOut && `key in ${keyOut}`, flags.out && `certificate in ${flags.out}`].filter(Boolean)
  note(
    `issued certificate ${credential.id} for device ${id}, valid until ${credential.certificate?.notAfter ?? '?'}` +
      (where.length ? ` (${where.join(', ')})` : ''),
  )
}

export function registerCredentials(device: Command): void {
  const token = device.command('token').description("a device's secret tokens (MQTT password)")
  examples(
    remote(
      token
        .command('create')
        .description('issue a token: the device connects with username <id> and the token as password')
        .argument('<id>', 'device id')
        .option('--label <label>', 'what it is for, e.g. "factory flash"'),
    ),
    ['strata device token create sensor-01', 'TOKEN=$(strata device token create sensor-01 --label lab)'],
    'The token is printed once, alone on stdout; only its hash is kept.',
  ).action(
    handled(async (id: string, flags: TokenFlags) => {
      const issued = await clientOf(flags).post<IssuedToken>(`/api/devices/${seg(id)}/credentials`, {
        kind: 'token',
        label: flags.label,
      })
      if (flags.json) printJson(issued)
      else console.log(issued.token)
      note(
        `token ${issued.credential.id} for device ${id}: it is shown once, store it now ` +
          `(MQTT username ${id}, password the token)`,
      )
    }),
  )

  examples(
    remote(
      device
        .command('credentials')
        .description("list a device's tokens and certificates, revoked ones included")
        .argument('<id>', 'device id'),
    ),
    ['strata device credentials sensor-01'],
  ).action(
    handled(async (id: string, flags: RemoteFlags) => {
      const body = await clientOf(flags).get<unknown>(`/api/devices/${seg(id)}/credentials`)
      if (flags.json) return printJson(body)
      printTable(
        itemsOf<DeviceCredential>(body),
        [
          ['ID', (c) => c.id],
          ['KIND', (c) => c.kind],
          ['LABEL', (c) => c.label],
          ['CREATED', (c) => c.createdAt],
          ['EXPIRES', (c) => c.certificate?.notAfter],
          ['REVOKED', (c) => c.revokedAt],
        ],
        `no credentials for device ${id}`,
      )
    }),
  )

  const cert = device.command('cert').description("a device's X.509 certificates, signed by the platform CA")
  examples(
    remote(
      cert
        .command('issue')
        .description('sign a certificate for the device, from its CSR or from a key generated here')
        .argument('<id>', 'device id (the certificate subject CN)')
        .option('--csr <file>', 'PEM certificate signing request made on the device')
        .option('--generate-key', 'generate the private key and CSR here (needs --key-out and --out)')
        .option('--key-out <file>', 'where to write the generated private key (mode 0600, never overwritten)')
        .option('--out <file>', 'where to write the certificate (default: stdout)')
        .option('--days <n>', "validity in days (default: the server's)", positiveInt())
        .option('--label <label>', 'what it is for')
        .addOption(
          new Option('--algorithm <alg>', 'key algorithm for --generate-key')
            .choices(['ec-p256', 'rsa-2048'])
            .default('ec-p256'),
        ),
    ),
    [
      'strata device cert issue sensor-01 --csr sensor-01.csr --out sensor-01.pem --days 365',
      'strata device cert issue sensor-01 --generate-key --key-out sensor-01.key --out sensor-01.pem',
    ],
    'Prefer --csr: the private key is made on the device and never leaves it.',
  ).action(handled(issueCertificate))

  examples(
    remote(
      cert
        .command('register')
        .description('attach a certificate issued elsewhere (by a CA added with "strata ca add")')
        .argument('<id>', 'device id')
        .requiredOption('--cert <file>', 'PEM certificate')
        .option('--label <label>', 'what it is for'),
    ),
    ['strata device cert register sensor-01 --cert sensor-01.pem'],
  ).action(
    handled(async (id: string, flags: RegisterFlags) => {
      const client = clientOf(flags)
      const certificatePem = await readTextFile(flags.cert, '--cert')
      const credential = await client.post<DeviceCredential>(`/api/devices/${seg(id)}/credentials`, {
        kind: 'certificate',
        certificatePem,
        label: flags.label,
      })
      if (flags.json) printJson(credential)
      else console.log(`registered certificate ${credential.id} for device ${id}`)
    }),
  )

  examples(
    remote(
      cert
        .command('revoke')
        .description('revoke a credential (certificate or token): the device is disconnected')
        .argument('<credentialId>', 'from "strata device credentials <id>"')
        .option('--reason <text>', 'why, kept with the credential'),
    ),
    ['strata device cert revoke crt_0123456789abcdef --reason "key leaked"'],
  ).action(
    handled(async (credentialId: string, flags: RevokeFlags) => {
      const revoked = await clientOf(flags).post<DeviceCredential>(
        `/api/credentials/${seg(credentialId)}/revoke`,
        flags.reason === undefined ? {} : { reason: flags.reason },
      )
      if (flags.json) printJson(revoked)
      else console.log(`revoked ${revoked.kind} ${revoked.id} of device ${revoked.deviceId}`)
    }),
  )
}
