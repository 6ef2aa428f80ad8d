import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { describe, test } from 'node:test'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import { STRATA_BIN, startStrata, stopStrata, tempDir } from './helpers/strata-process.js'

const run = promisify(execFile)

async function strata(
  args: string[],
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [STRATA_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    child.stdin.end(input ?? '')
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

describe('strata CLI', () => {
  test('up --help lists every listener flag and --allow-anonymous', async () => {
    const { stdout } = await run(process.execPath, [STRATA_BIN, 'up', '--help'])
    for (const flag of [
      '--data-dir',
      '--mqtt-port',
      '--mqtts-port',
      '--ws-port',
      '--http-port',
      '--allow-anonymous',
    ]) {
      assert.match(stdout, new RegExp(flag))
    }
  })

  test('a bad flag value is one line naming the setting, exit 2, no stack trace', async () => {
    const { code, stderr } = await strata(['up', '--data-dir', await tempDir(), '--mqtt-port', '99999'])
    assert.equal(code, 2)
    assert.equal(stderr.trim().split('\n').length, 1)
    assert.match(stderr, /^strata: command line: mqtt\.port must be an integer from 0 to 65535/)
  })

  test('a port in use is one line naming the port and the flag', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const { code, stderr } = await strata([
        'up',
        '--data-dir',
        await tempDir(),
        '--host',
        '127.0.0.1',
        '--mqtt-port',
        String(port),
        '--ws-port',
        '0',
        '--http-port',
        '0',
      ])
      assert.equal(code, 1)
      assert.match(
        stderr,
        new RegExp(
          `^strata: port ${port} \\(MQTT\\) is already in use on 127\\.0\\.0\\.1: choose another with --mqtt-port N`,
        ),
      )
      assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace')
    } finally {
      blocker.close()
    }
  })

  test('starts on an empty data dir: explains how to add a user, refuses anonymous clients, serves health, stops on SIGTERM with DISCONNECT 0x8B', async () => {
    const proc = await startStrata()
    try {
      const hint = proc.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('strata passwd'))
      assert.ok(hint, 'logs how to add the first user')
      const setup = proc.logs.find((l) => typeof l.setupToken === 'string')
      assert.ok(setup, 'logs a one-time setup token for the first admin')
      assert.match(String(setup.setupToken), /^ssu_/)
      assert.match(String(setup.url), /^http:\/\/.+\/api\/setup$/)
      const http = proc.ports.get('HTTP (API)')
      const res = await fetch(`http://127.0.0.1:${http}/health`)
      assert.equal(res.status, 200)
      const body = (await res.json()) as { status: string; ready: boolean }
      assert.equal(body.status, 'ok')
      assert.equal(body.ready, true)
      assert.equal((await fetch(`http://127.0.0.1:${http}/nope`)).status, 404)

      const mqttPort = proc.ports.get('MQTT')
      const refused = mqtt.connect({
        port: mqttPort,
        host: '127.0.0.1',
        protocolVersion: 5,
        reconnectPeriod: 0,
      })
      const err = await new Promise<Error & { code?: number }>((resolve) => refused.once('error', resolve))
      assert.equal(err.code, 0x87, 'anonymous access is off by default')
      refused.end(true)

      // Add a user while it runs: the file is re-read within a second.
      const added = await strata(
        ['passwd', '--data-dir', proc.dataDir, '--password-stdin', 'dev1'],
        's3cret\n',
      )
      assert.equal(added.code, 0, added.stderr)
      let client: mqtt.MqttClient | undefined
      for (let i = 0; i < 30 && !client; i++) {
        const c = mqtt.connect({
          port: mqttPort,
          host: '127.0.0.1',
          protocolVersion: 5,
          username: 'dev1',
          password: 's3cret',
          reconnectPeriod: 0,
        })
        const ok = await new Promise<boolean>((resolve) => {
          c.once('connect', () => resolve(true))
          c.once('error', () => resolve(false))
        })
        if (ok) client = c
        else {
          c.end(true)
          await new Promise((r) => setTimeout(r, 200))
        }
      }
      assert.ok(client, 'the new user can connect')
      const disconnect = new Promise<number | undefined>((resolve) =>
        client.once('disconnect', (packet) => resolve(packet.reasonCode)),
      )
      const code = await stopStrata(proc)
      assert.equal(await disconnect, 0x8b, 'MQTT 5 clients get DISCONNECT 0x8B on shutdown')
      assert.equal(code, 0, 'exits 0 after a graceful shutdown')
      client.end(true)
    } finally {
      await stopStrata(proc, 'SIGKILL')
    }
  })

  test('--allow-anonymous is warned about and lets clients in', async () => {
    const proc = await startStrata(['--allow-anonymous'])
    try {
      assert.ok(
        proc.logs.some((l) => l.level === 40 && String(l.msg).includes('anonymous MQTT access is ON')),
      )
      const client = await mqtt.connectAsync({
        port: proc.ports.get('MQTT'),
        host: '127.0.0.1',
        reconnectPeriod: 0,
      })
      await client.endAsync()
    } finally {
      await stopStrata(proc)
    }
  })
})
