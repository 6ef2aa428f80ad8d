import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { testCerts } from './helpers/certs.js'
import { assertOneLineError, runStrata } from './helpers/run-cli.js'
import { tempDir } from './helpers/strata-process.js'

// Bad input at the CLI's edge: each is one line `strata: ...`, a non-zero
// exit (2 for usage and configuration, 1 otherwise: docs/errors.md) and no
// stack trace. None of these starts a broker, so each run is short.

/** `strata up` on free ports in a fresh data dir, plus `extra`. */
async function up(extra: string[], dataDir?: string): Promise<string[]> {
  const dir = dataDir ?? (await tempDir())
  const ports = ['--host', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0']
  return ['up', '--data-dir', dir, ...ports, ...extra]
}

describe('strata CLI: usage errors exit 2 with one line', () => {
  test('an unknown command', async () => {
    assertOneLineError(await runStrata(['bogus']), 2, /unknown command 'bogus'.*--help/)
  })

  test('an unknown flag, with the suggestion on the same line', async () => {
    assertOneLineError(
      await runStrata(['up', '--data-dirr', 'x']),
      2,
      /unknown option '--data-dirr'.*--data-dir/,
    )
    assertOneLineError(await runStrata(['passwd', '--bogus']), 2, /unknown option '--bogus'/)
  })

  test('a flag without its value', async () => {
    assertOneLineError(await runStrata(['up', '--mqtt-port']), 2, /--mqtt-port <n>' argument missing/)
  })

  test('an argument up does not take', async () => {
    assertOneLineError(await runStrata(['up', 'now']), 2, /too many arguments for 'up'/)
  })

  test('no command prints the usage on stderr and exits 2', async () => {
    const result = await runStrata([])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /Usage: strata/)
  })

  test('--help and --version exit 0', async () => {
    assert.equal((await runStrata(['--version'])).code, 0)
    assert.equal((await runStrata(['up', '--help'])).code, 0)
  })

  test('--mqtt-port -5 names the setting and the range', async () => {
    const dir = await tempDir()
    const result = await runStrata(['up', '--data-dir', dir, '--mqtt-port', '-5'])
    assertOneLineError(
      result,
      2,
      /^strata: command line: mqtt\.port must be an integer from 0 to 65535, got "-5"$/,
    )
  })

  test('--host that is no address or host name at all is a config error', async () => {
    assertOneLineError(
      await runStrata(await up(['--host', 'not an ip'])),
      2,
      /^strata: command line: host must be an IP address .* got "not an ip"$/,
    )
  })
})

describe('strata up: environment errors exit 1 with one line', () => {
  test('--host not-an-ip: a name that does not resolve', async () => {
    assertOneLineError(
      await runStrata(await up(['--host', 'not-an-ip'])),
      1,
      /cannot listen on host not-an-ip .*not an address of this machine.*0\.0\.0\.0/,
    )
  })

  test('--host with an IP address this machine does not have', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to an interface.
    assertOneLineError(
      await runStrata(await up(['--host', '192.0.2.1'])),
      1,
      /cannot listen on host 192\.0\.2\.1 .*EADDRNOTAVAIL/,
    )
  })

  test('a file where the data dir should be', async () => {
    const dir = await tempDir()
    const file = join(dir, 'data')
    await writeFile(file, 'not a directory')
    assertOneLineError(
      await runStrata(await up([], file)),
      1,
      /cannot use .*\/data as the data directory: a file is in the way/,
    )
  })

  test("a file where the journal's folder should be", async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'broker'), '')
    assertOneLineError(await runStrata(await up([], dir)), 1, /cannot use .*\/broker as the data directory/)
  })

  // Node 20's recursive mkdir spins forever on procfs; ensureDir fails instead.
  test('a data dir whose filesystem refuses new folders (procfs) fails at once instead of hanging', async (t) => {
    if (process.platform !== 'linux') return t.skip('procfs is Linux only')
    assertOneLineError(
      await runStrata(await up([], '/proc/1')),
      1,
      /cannot use \/proc\/1\/broker as the data directory/,
    )
  })

  test('a corrupt password file', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'passwords'), 'sensor-01:plaintext\n')
    assertOneLineError(await runStrata(await up([], dir)), 1, /passwords:1: expected "username:\$scrypt\$/)
  })
})

describe('strata up: TLS files', () => {
  test('a certificate that is not PEM names the file', async (t) => {
    const certs = await testCerts(t)
    if (!certs) return
    const notPem = join(certs.dir, 'not-a-cert.txt')
    await writeFile(notPem, 'hello\n')
    assertOneLineError(
      await runStrata(await up(['--tls-cert', notPem, '--tls-key', certs.serverKey])),
      1,
      /the TLS certificate .*not-a-cert\.txt is not a PEM certificate/,
    )
  })

  test('a key that is not PEM names the file', async (t) => {
    const certs = await testCerts(t)
    if (!certs) return
    const notPem = join(certs.dir, 'not-a-key.txt')
    await writeFile(notPem, 'hello\n')
    assertOneLineError(
      await runStrata(await up(['--tls-cert', certs.serverCert, '--tls-key', notPem])),
      1,
      /the TLS key .*not-a-key\.txt is not a usable PEM private key/,
    )
  })

  test('a key that does not match the certificate names both', async (t) => {
    const certs = await testCerts(t)
    if (!certs) return
    assertOneLineError(
      await runStrata(await up(['--tls-cert', certs.serverCert, '--tls-key', certs.rogueKey])),
      1,
      /the TLS key .*does not match the certificate /,
    )
  })

  test('a CA bundle that is not PEM names the file', async (t) => {
    const certs = await testCerts(t)
    if (!certs) return
    const args = ['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--tls-ca', certs.serverKey]
    assertOneLineError(await runStrata(await up(args)), 1, /the TLS CA bundle .* is not a PEM certificate/)
  })
})

describe('strata passwd: bad input', () => {
  test('an empty password from stdin is refused and says where it was read from', async () => {
    const dir = await tempDir()
    for (const input of ['', '\n']) {
      const result = await runStrata(['passwd', '--data-dir', dir, '--password-stdin', 'sensor-01'], input)
      assertOneLineError(result, 2, /the password must not be empty .*standard input/)
    }
    const list = await runStrata(['passwd', '--data-dir', dir, '--list'])
    assert.equal(list.stdout, '', 'no user was added')
  })

  test('an invalid username is refused before a password is read', async () => {
    const dir = await tempDir()
    for (const name of ['a:b', 'a b', 'x'.repeat(257)]) {
      const result = await runStrata(['passwd', '--data-dir', dir, '--password-stdin', name], 'pw\n')
      assertOneLineError(result, 2, /invalid username .*no ':' and no whitespace/)
    }
  })

  test('a missing username', async () => {
    assertOneLineError(
      await runStrata(['passwd', '--data-dir', await tempDir()]),
      2,
      /a username is required/,
    )
  })

  test('a corrupt password file is not overwritten', async () => {
    const dir = await tempDir()
    const file = join(dir, 'passwords')
    await writeFile(file, 'garbage\n')
    const result = await runStrata(['passwd', '--data-dir', dir, '--password-stdin', 'sensor-01'], 'pw\n')
    assertOneLineError(result, 1, /passwords:1: expected "username:\$scrypt\$/)
    assert.equal(await readFile(file, 'utf8'), 'garbage\n')
  })

  test('adding then changing a user says which happened', async () => {
    const dir = await tempDir()
    const args = ['passwd', '--data-dir', dir, '--password-stdin', 'sensor-01']
    const added = await runStrata(args, 'one\n')
    assert.equal(added.code, 0, added.stderr)
    assert.match(added.stderr, /^added sensor-01 in /)
    const changed = await runStrata(args, 'two\n')
    assert.equal(changed.code, 0, changed.stderr)
    assert.match(changed.stderr, /^changed the password of sensor-01 in /)
  })
})
