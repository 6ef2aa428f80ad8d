// Everything the auth benchmark needs before any broker starts: a Strata data directory with
// the registered devices and their credentials (written through the platform's own services,
// as `strata device ...` would), the peers' password and ACL files, and a TLS server certificate.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PasswordFile } from '../../packages/platform/src/auth/password-file.js'
import { createIdentityService } from '../../packages/platform/src/identity/sqlite-identity.js'
import { generateKeyAndCsr, loadOrCreatePlatformCa } from '../../packages/platform/src/identity/x509/index.js'
import { SqliteDb } from '../../packages/platform/src/registry/sqlite-db.js'
import { sqliteRegistryOn } from '../../packages/platform/src/registry/sqlite-repository.js'

export const deviceId = (i: number): string => `dev-${i}`

export interface Login {
  username: string
  password: string
}

export interface Fixture {
  /** The Strata data directory each Strata trial starts from (a fresh copy each time). */
  template: string
  devices: number
  /** Token of dev-i, for i < tokens.length; the other devices have no credential. */
  tokens: string[]
  /** Platform-issued certificate and key of dev-i, for i < certs.length. */
  certs: { certPem: string; keyPem: string }[]
  /** The platform CA (Mosquitto's cafile in the mTLS case). */
  platformCaFile: string
  /** The broker's TLS certificate and key, signed by a server CA the clients trust. */
  server: { caPem: string; certFile: string; keyFile: string }
  /** Password-file users: a subscriber that reads every device topic, a publisher for the user case. */
  subscriber: Login
  publisher: Login
  /** mosquitto_passwd's file: every device with a token (password = token) and the two users. */
  mosquittoPasswords: string
  /** `pattern readwrite devices/%u/#`, and read on devices/# for the subscriber. */
  mosquittoAcl: string
  /** Seconds spent in each setup step, for the log. */
  timings: Record<string, number>
}

/** Runs `task` over [0, n) with at most `width` in flight (scrypt and signing use the thread pool). */
async function batched<T>(n: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n)
  for (let start = 0; start < n; start += width) {
    const end = Math.min(n, start + width)
    const part = await Promise.all(Array.from({ length: end - start }, (_, k) => task(start + k)))
    part.forEach((v, k) => {
      out[start + k] = v
    })
  }
  return out
}

function serverCertificate(dir: string): Fixture['server'] {
  const f = (name: string) => join(dir, name)
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  run([
    'req',
    '-x509',
    ...ec,
    '-days',
    '7',
    '-subj',
    '/CN=bench server CA',
    '-keyout',
    f('server-ca.key'),
    '-out',
    f('server-ca.pem'),
  ])
  run(['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost'])
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  run([
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('server-ca.pem'),
    '-CAkey',
    f('server-ca.key'),
    '-CAcreateserial',
    '-days',
    '7',
    '-extfile',
    f('server.ext'),
    '-out',
    f('server.pem'),
  ])
  return {
    caPem: readFileSync(f('server-ca.pem'), 'utf8'),
    certFile: f('server.pem'),
    keyFile: f('server.key'),
  }
}

export interface FixtureOptions {
  /** Devices registered (the registry's size). */
  devices: number
  /** Devices that get a token (the ones that connect with one). */
  tokens: number
  /** Devices that get a certificate. */
  certs: number
}

export async function prepareFixture(dir: string, o: FixtureOptions): Promise<Fixture> {
  const timings: Record<string, number> = {}
  let t = performance.now()
  const lap = (step: string) => {
    timings[step] = (performance.now() - t) / 1000
    t = performance.now()
  }
  const template = join(dir, 'strata-data')
  mkdirSync(template, { recursive: true })
  const db = new SqliteDb(join(template, 'registry.db'), () => new Date())
  const tokens: string[] = []
  let certs: Fixture['certs'] = []
  try {
    await sqliteRegistryOn(db).createDevices(
      Array.from({ length: o.devices }, (_, i) => ({ id: deviceId(i) })),
    )
    lap('register devices')
    const identity = createIdentityService({ db, ca: await loadOrCreatePlatformCa(join(template, 'ca')) })
    // One scrypt each (tens of ms): only the devices that connect get a token.
    tokens.push(...(await batched(o.tokens, 64, async (i) => (await identity.issueToken(deviceId(i))).token)))
    lap('issue tokens')
    certs = await batched(o.certs, 64, async (i) => {
      const { privateKeyPem, csrPem } = await generateKeyAndCsr(deviceId(i))
      const credential = await identity.issueCertificate(deviceId(i), { csrPem })
      return { certPem: credential.certificate?.pem ?? '', keyPem: privateKeyPem }
    })
    lap('issue certificates')
  } finally {
    db.close()
  }

  const subscriber = { username: 'bench-sub', password: 'bench-sub-secret' }
  const publisher = { username: 'bench-pub', password: 'bench-pub-secret' }
  // Strata's password file lives in the data dir by default (<dataDir>/passwords).
  const strataPasswords = await PasswordFile.load(join(template, 'passwords'))
  await strataPasswords.set(subscriber.username, subscriber.password)
  await strataPasswords.set(publisher.username, publisher.password)
  await strataPasswords.save()

  // mosquitto_passwd -U hashes a plain `user:password` file in place, in one process.
  const mosquittoPasswords = join(dir, 'mosquitto.passwd')
  const lines = tokens.map((token, i) => `${deviceId(i)}:${token}`)
  for (const u of [subscriber, publisher]) lines.push(`${u.username}:${u.password}`)
  writeFileSync(mosquittoPasswords, `${lines.join('\n')}\n`, { mode: 0o600 })
  execFileSync('mosquitto_passwd', ['-U', mosquittoPasswords], { stdio: ['ignore', 'ignore', 'pipe'] })
  const mosquittoAcl = join(dir, 'mosquitto.acl')
  writeFileSync(
    mosquittoAcl,
    [`user ${subscriber.username}`, 'topic read devices/#', '', 'pattern readwrite devices/%u/#', ''].join(
      '\n',
    ),
  )
  lap('password files')

  const server = serverCertificate(dir)
  const platformCaFile = join(dir, 'platform-ca.pem')
  cpSync(join(template, 'ca', 'ca.pem'), platformCaFile)
  lap('TLS files')
  return {
    template,
    devices: o.devices,
    tokens,
    certs,
    platformCaFile,
    server,
    subscriber,
    publisher,
    mosquittoPasswords,
    mosquittoAcl,
    timings,
  }
}
