import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { assertOneLineError, runStrata } from './helpers/run-cli.js'
import { tempDir } from './helpers/strata-process.js'

// The management commands without a server: local input is checked before any request (exit 2),
// an unreachable platform is exit 3, and `strata admin create` works on the data dir alone.

const KEY = ['--api-key', 'stk_0000000000000000_notARealKeyButLongEnoughToPassTheLocalChecks0']

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('strata management commands: local checks', () => {
  test('an unreachable platform is exit 3, naming the URL and how to point elsewhere', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`
    const result = await runStrata(['device', 'list', '--url', url, ...KEY])
    assertOneLineError(result, 3, new RegExp(`cannot reach the Strata API at ${url}.*strata up.*--url`))
  })

  test('no API key is exit 2 and says how to get one', async () => {
    const result = await runStrata(['device', 'list', '--url', 'http://127.0.0.1:9'])
    assertOneLineError(result, 2, /no API key.*strata login.*strata apikey create.*strata admin create/)
  })

  test('bad local input is exit 2 before any request (the URL is unreachable anyway)', async () => {
    const url = ['--url', `http://127.0.0.1:${await closedPort()}`]
    const cases: Array<[string[], RegExp]> = [
      [['device', 'create', 'd1', '--tag', 'novalue'], /--tag <key=value>' argument 'novalue' is invalid/],
      [['device', 'list', '--limit', 'ten'], /--limit <n>' argument 'ten' is invalid/],
      [['device', 'delete', 'd1'], /refusing to delete device d1 without --yes/],
      [
        ['device', 'grant', 'add', 'd1', 'a/#', '--access', 'read'],
        /Allowed choices are publish, subscribe, all/,
      ],
      [
        ['device', 'cert', 'issue', 'd1', '--csr', '/nonexistent/d1.csr'],
        /cannot read --csr \/nonexistent\/d1\.csr/,
      ],
      [
        ['device', 'cert', 'issue', 'd1', '--generate-key', '--out', 'c.pem'],
        /--generate-key needs --key-out/,
      ],
      [['apikey', 'create', '--name', 'x', '--scope', 'devices:everything'], /--scope <scope>' argument/],
      [['apikey', 'create', '--name', 'x', '--scope', 'devices:read', '--expires', 'soon'], /ISO 8601/],
      [['user', 'create', 'alice'], /required option '--role <role>' not specified/],
      [['provision', 'template', 'create', 't1', '--max', '-1'], /--max <n>' argument '-1' is invalid/],
      [
        ['type', 'create', 't1', '--raw-days', '0'],
        /--raw-days <n>' argument '0' is invalid.*from 1 to 36500/,
      ],
      [
        ['type', 'update', 't1', '--hour-days', '157680000'],
        /--hour-days <n>' argument '157680000' is invalid/,
      ],
      [
        ['type', 'update', 't1', '--raw-days', '7', '--default-retention'],
        /--default-retention clears the retention: give it without --raw-days/,
      ],
    ]
    for (const [args, pattern] of cases)
      assertOneLineError(await runStrata([...args, ...url, ...KEY]), 2, pattern)
    const ftp = await runStrata(['device', 'list', '--url', 'ftp://example.com', ...KEY])
    assertOneLineError(ftp, 2, /--url must start with http/)
  })

  test('every command has --help with examples', async () => {
    const commands = [
      ['device', 'create'],
      ['device', 'list'],
      ['device', 'token', 'create'],
      ['device', 'cert', 'issue'],
      ['device', 'grant', 'add'],
      ['type', 'create'],
      ['group', 'list'],
      ['provision', 'template', 'create'],
      ['ca', 'add'],
      ['user', 'create'],
      ['apikey', 'create'],
      ['login'],
      ['audit'],
      ['admin', 'create'],
    ]
    const results = await Promise.all(commands.map((cmd) => runStrata([...cmd, '--help'])))
    for (const [i, { code, stdout }] of results.entries()) {
      const cmd = commands[i] ?? []
      assert.equal(code, 0, cmd.join(' '))
      assert.match(stdout, /Examples:\n {2}\$ .*strata /, cmd.join(' '))
      if (cmd[0] !== 'admin') assert.match(stdout, /--url <url>.*\n?.*STRATA_URL/, cmd.join(' '))
    }
  })

  test('admin create writes the first admin into the data dir, with no server', async () => {
    const dir = await tempDir()
    const ok = await runStrata(['admin', 'create', 'root', '--data-dir', dir], 'a long enough password\n')
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stderr, /created admin root.*strata login --username root/)
    assert.ok((await stat(join(dir, 'registry.db'))).isFile())

    const again = await runStrata(['admin', 'create', 'root', '--data-dir', dir], 'a long enough password\n')
    assertOneLineError(again, 1, /user 'root' already exists \(STRATA_REGISTRY_EXISTS\)/)
    const weak = await runStrata(['admin', 'create', 'other', '--data-dir', dir], 'short\n')
    assertOneLineError(weak, 2, /password.*at least 12 characters.*\(STRATA_REGISTRY_INVALID\)/)
    const none = await runStrata(['admin', 'create', 'other', '--data-dir', dir], '')
    assertOneLineError(none, 2, /the password must not be empty/)
    const badName = await runStrata(
      ['admin', 'create', 'Root', '--data-dir', dir],
      'a long enough password\n',
    )
    assertOneLineError(badName, 2, /not a valid username/)
  })
})
