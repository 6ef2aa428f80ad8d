import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { promisify } from 'node:util'
import { requireTool } from './peers.js'

const run = promisify(execFile)

/** Paths of PEM files generated for TLS tests. */
export interface TestCerts {
  dir: string
  /** The CA that signs the server and the trusted client. */
  caCert: string
  caKey: string
  /** CN=localhost, SAN IP:127.0.0.1 and DNS:localhost, signed by the CA. */
  serverCert: string
  serverKey: string
  /** CN=device-01, signed by the CA: the broker trusts it. */
  clientCert: string
  clientKey: string
  /** CN=rogue, self-signed: the broker must refuse it. */
  rogueCert: string
  rogueKey: string
}

/** The CN of the CA-signed client certificate (the broker uses it as identity). */
export const CLIENT_CN = 'device-01'

let cached: Promise<TestCerts> | undefined

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd })
}

async function generate(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-certs-'))
  const days = ['-days', '2']
  // EC keys keep generation fast on this small machine (RSA 2048 takes ~0.5 s each).
  const key = (name: string): Promise<void> =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name], dir)

  await key('ca.key')
  await openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=Strata Test CA',
      ...days,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'ca.pem',
    ],
    dir,
  )

  const signed = async (name: string, cn: string, ext: string): Promise<void> => {
    await key(`${name}.key`)
    await openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir)
    await writeFile(join(dir, `${name}.ext`), ext)
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        ...days,
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      ],
      dir,
    )
  }
  await signed(
    'server',
    'localhost',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  )
  await signed(
    'client',
    CLIENT_CN,
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n',
  )

  await key('rogue.key')
  await openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'rogue.key',
      '-subj',
      '/CN=rogue',
      ...days,
      '-addext',
      'extendedKeyUsage=clientAuth',
      '-out',
      'rogue.pem',
    ],
    dir,
  )

  const at = (f: string): string => join(dir, f)
  return {
    dir,
    caCert: at('ca.pem'),
    caKey: at('ca.key'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    rogueCert: at('rogue.pem'),
    rogueKey: at('rogue.key'),
  }
}

/**
 * Generates (once per test process) a CA, a server certificate and two client
 * certificates with the openssl CLI. Returns undefined when openssl is
 * missing on a user's machine (the test is then skipped; in CI it fails).
 */
export async function testCerts(t: TestContext): Promise<TestCerts | undefined> {
  if (!requireTool(t, 'openssl')) return undefined
  cached ??= generate()
  return cached
}
