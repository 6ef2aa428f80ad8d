import assert from 'node:assert/strict'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { assertOneLineError, type CliResult, runStrata } from './helpers/run-cli.js'
import { type StrataProcess, startStrata, stopStrata } from './helpers/strata-process.js'

// The management commands against a real `strata up`: the first admin comes from
// `strata admin create` on the running platform's data dir, then everything goes over HTTP.

const PASSWORD = 'correct horse battery staple'

let proc: StrataProcess
let url: string
let token: string

/** `strata <args> --url <the platform> --api-key <key>` */
function strata(args: string[], key = token, input = ''): Promise<CliResult> {
  return runStrata([...args, '--url', url, '--api-key', key], input)
}

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit code; stderr: ${result.stderr}`)
  return result
}

describe('strata management commands against a running platform', () => {
  before(async () => {
    proc = await startStrata()
    // The API shares the HTTP port; its listener is named "HTTP (API)".
    const port =
      proc.ports.get('HTTP (API)') ?? [...proc.ports].find(([name]) => name.startsWith('HTTP'))?.[1]
    assert.ok(port, `an HTTP listener in ${JSON.stringify([...proc.ports])}`)
    url = `http://127.0.0.1:${port}`
  })
  after(async () => {
    if (proc) await stopStrata(proc, 'SIGKILL')
  })

  test('admin create on the live data dir, then login prints a session token', async () => {
    ok(await runStrata(['admin', 'create', 'root', '--data-dir', proc.dataDir], `${PASSWORD}\n`))
    const login = ok(await runStrata(['login', '--username', 'root', '--url', url], `${PASSWORD}\n`))
    token = login.stdout.trim()
    assert.match(token, /^sst_/)
    assert.equal(login.stdout.split('\n').length, 2, 'the token alone on stdout')
    assert.match(login.stderr, /export STRATA_API_KEY/)

    const wrong = await runStrata(['login', '--username', 'root', '--url', url], 'not the password\n')
    assertOneLineError(wrong, 1, /\(STRATA_ACCESS_DENIED\)$/)
  })

  test('device create, list (JSON and table), show, disable', async () => {
    ok(await strata(['group', 'create', 'floor-3', '--name', 'Floor 3']))
    const created = ok(
      await strata([
        'device',
        'create',
        'sensor-01',
        '--name',
        'Hall sensor',
        '--group',
        'floor-3',
        '--tag',
        'room=12',
        '--firmware',
        '1.2.0',
        '--json',
      ]),
    )
    const device = JSON.parse(created.stdout) as {
      id: string
      tags: Record<string, string>
      groups: string[]
    }
    assert.equal(device.id, 'sensor-01')
    assert.deepEqual(device.tags, { room: '12' })
    assert.deepEqual(device.groups, ['floor-3'])
    ok(await strata(['device', 'create', 'sensor-02']))

    const json = JSON.parse(ok(await strata(['device', 'list', '--json'])).stdout) as {
      items: Array<{ id: string }>
      nextCursor: string | null
    }
    assert.deepEqual(
      json.items.map((d) => d.id),
      ['sensor-01', 'sensor-02'],
    )
    // --all follows the cursor one device at a time.
    const paged = JSON.parse(ok(await strata(['device', 'list', '--limit', '1', '--all', '--json'])).stdout)
    assert.equal(paged.items.length, 2)

    const [header, ...rows] = ok(await strata(['device', 'list']))
      .stdout.trimEnd()
      .split('\n')
    assert.match(header ?? '', /^ID\s+NAME\s+TYPE\s+ENABLED\s+GROUPS\s+TAGS\s+FIRMWARE$/)
    const row = rows.find((r) => r.startsWith('sensor-01')) ?? ''
    assert.equal(row.indexOf('Hall sensor'), header?.indexOf('NAME'), 'columns are aligned')
    assert.match(row, /room=12/)

    const shown = ok(await strata(['device', 'show', 'sensor-01'])).stdout
    assert.match(shown, /^id: +sensor-01$/m)
    assert.match(shown, /^online: +no$/m)

    const updated = JSON.parse(
      ok(await strata(['device', 'update', 'sensor-01', '--firmware', '1.4.2', '--no-tags', '--json']))
        .stdout,
    )
    assert.equal(updated.firmwareVersion, '1.4.2')
    assert.deepEqual(updated.tags, {})
    assert.equal(updated.name, 'Hall sensor', 'fields not given are unchanged')

    ok(await strata(['device', 'disable', 'sensor-01']))
    const after = JSON.parse(ok(await strata(['device', 'show', 'sensor-01', '--json'])).stdout)
    assert.equal(after.enabled, false)
    assert.equal(after.status.online, false)
  })

  test('type create and update set the retention (whole); --default-retention clears it', async () => {
    const created = JSON.parse(
      ok(await strata(['type', 'create', 'meter', '--raw-days', '7', '--hour-days', '1825', '--json']))
        .stdout,
    ) as { retention: unknown }
    assert.deepEqual(created.retention, { rawDays: 7, hourDays: 1825 })
    const shown = ok(await strata(['type', 'show', 'meter'])).stdout
    assert.match(shown, /retention:\s+raw 7 d, 1-hour 1825 d \(others: platform default\)/)
    const updated = JSON.parse(
      ok(await strata(['type', 'update', 'meter', '--minute-days', '90', '--json'])).stdout,
    ) as { retention: unknown; ingest: unknown }
    assert.deepEqual(updated.retention, { minuteDays: 90 })
    assert.match(ok(await strata(['type', 'list'])).stdout, /RETENTION[\s\S]*meter.*-\/90d\/-/)
    const cleared = ok(await strata(['type', 'update', 'meter', '--default-retention'])).stdout
    assert.match(cleared, /retention:\s+platform default/)
  })

  test('token create prints the token once, with a warning', async () => {
    const result = ok(await strata(['device', 'token', 'create', 'sensor-02', '--label', 'lab']))
    assert.match(result.stdout, /^sdt_[0-9a-f]{16}_\S+\n$/)
    assert.match(result.stderr, /shown once/)
    const list = ok(await strata(['device', 'credentials', 'sensor-02'])).stdout
    assert.match(list, /^tok_\S+\s+token\s+lab/m)
  })

  test('cert issue --generate-key writes a 0600 key and a certificate for the device', async () => {
    const keyOut = join(proc.dataDir, 'sensor-02.key')
    const out = join(proc.dataDir, 'sensor-02.pem')
    ok(
      await strata([
        'device',
        'cert',
        'issue',
        'sensor-02',
        '--generate-key',
        '--key-out',
        keyOut,
        '--out',
        out,
      ]),
    )
    assert.equal((await stat(keyOut)).mode & 0o777, 0o600)
    const cert = new X509Certificate(await readFile(out))
    assert.match(cert.subject, /^CN=sensor-02$/m)
    assert.ok(
      cert.checkPrivateKey(createPrivateKey(await readFile(keyOut))),
      'the key matches the certificate',
    )
    // Never over an existing key.
    const again = await strata([
      'device',
      'cert',
      'issue',
      'sensor-02',
      '--generate-key',
      '--key-out',
      keyOut,
      '--out',
      out,
    ])
    assertOneLineError(again, 2, /already exists: refusing to overwrite a private key/)
  })

  test('provision template create prints the claim token once', async () => {
    const result = ok(
      await strata(['provision', 'template', 'create', 'line-a', '--prefix', 'therm-', '--max', '5']),
    )
    assert.match(result.stdout, /^scl_\S+\n$/)
    assert.match(result.stderr, /shown once/)
    const shown = ok(await strata(['provision', 'template', 'show', 'line-a'])).stdout
    assert.match(shown, /^provisioned: +0 of 5$/m)
  })

  test('an API key with a limited scope: allowed calls work, others are one line with the code, exit 1', async () => {
    const created = ok(await strata(['apikey', 'create', '--name', 'reader', '--scope', 'devices:read']))
    const key = created.stdout.trim()
    assert.match(key, /^stk_/)
    assert.match(ok(await strata(['device', 'list'], key)).stdout, /sensor-01/)
    assertOneLineError(await strata(['device', 'create', 'sensor-03'], key), 1, /\(STRATA_API_FORBIDDEN\)$/)
    assertOneLineError(await strata(['device', 'list'], 'stk_nope'), 1, /\(STRATA_API_UNAUTHENTICATED\)$/)
  })

  test('delete needs --yes; a deleted device is not found', async () => {
    assertOneLineError(await strata(['device', 'delete', 'sensor-01']), 2, /without --yes/)
    ok(await strata(['device', 'delete', 'sensor-01', '--yes']))
    assertOneLineError(await strata(['device', 'show', 'sensor-01']), 1, /\(STRATA_REGISTRY_NOT_FOUND\)$/)
  })

  test('the audit log shows the admin created by the CLI and the changes made over the API', async () => {
    const log = JSON.parse(ok(await strata(['audit', '--all', '--json'])).stdout) as {
      items: Array<{ actor: string; action: string; targetId: string }>
    }
    assert.ok(log.items.some((e) => e.actor === 'cli:admin-create' && e.targetId === 'root'))
    assert.ok(log.items.some((e) => e.actor === 'user:root' && e.action === 'device.delete'))
    const table = ok(await strata(['audit', '--target-kind', 'device', '--target-id', 'sensor-01'])).stdout
    assert.match(table, /^SEQ\s+AT\s+ACTOR\s+ACTION\s+TARGET/)
  })
})
