import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import mqtt from 'mqtt'
import { runStrata } from './helpers/run-cli.js'
import { startStrata, stopStrata, tempDir } from './helpers/strata-process.js'

/** Polls the process's logs (bounded) for an entry that matches. */
async function waitForLog(
  logs: Array<Record<string, unknown>>,
  match: (entry: Record<string, unknown>) => boolean,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = logs.find(match)
    if (found) return found
    if (Date.now() > deadline) throw new Error('log entry not seen in time')
    await new Promise((r) => setTimeout(r, 100))
  }
}

test('a password file corrupted while running is logged and the previous users keep working', async () => {
  const dir = await tempDir()
  const added = await runStrata(['passwd', '--data-dir', dir, '--password-stdin', 'sensor-01'], 's3cret\n')
  assert.equal(added.code, 0, added.stderr)
  const proc = await startStrata([], dir)
  try {
    assert.equal(
      proc.logs.some((l) => String(l.msg).includes('add an MQTT user')),
      false,
    )
    // A hand edit gone wrong: the watcher (1 s poll) must not drop every user.
    await writeFile(join(dir, 'passwords'), 'sensor-01 s3cret\n')
    const error = await waitForLog(proc.logs, (l) => String(l.msg).includes('password file not reloaded'))
    assert.equal(error.level, 50, 'logged as an error')
    assert.match(String(error.err), /passwords:1: expected "username:\$scrypt\$/)

    const client = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: proc.ports.get('MQTT'),
      protocolVersion: 5,
      username: 'sensor-01',
      password: 's3cret',
      reconnectPeriod: 0,
    })
    await client.endAsync()
    assert.equal(proc.child.exitCode, null, 'still running')
  } finally {
    await stopStrata(proc)
  }
})
