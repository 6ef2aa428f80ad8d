// `strata simulate` end to end: the CLI (a real process) against a platform started in this
// process, so the test can look into the time-series engine and the delivery ledger. The
// simulator makes the device type, the devices and their tokens over the API, keeps the tokens
// in a 0600 file and reuses them on the next run; bad payloads are refused (PUBACK 0x99) and
// counted on both sides; dropped sockets are reconnected while data keeps flowing.
import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { FleetStats } from '@strata/device/simulator'
import { startTestPlatform, type TestPlatform } from './helpers/platform.js'
import { assertOneLineError, type CliResult, runStrata } from './helpers/run-cli.js'
import { tempDir } from './helpers/strata-process.js'

interface SimulateJson {
  profile: string
  setup: { typeCreated: boolean; devicesCreated: number; tokensIssued: number; tokensReused: number }
  stats: FleetStats
}

let platform: TestPlatform
let api: string
let mqtt: string
let key: string
let configDir: string

function simulate(args: string[]): Promise<CliResult> {
  return runStrata(
    ['simulate', ...args, '--url', api, '--mqtt', mqtt, '--api-key', key, '--json'],
    '',
    30_000,
  )
}

function parsed(result: CliResult): SimulateJson {
  assert.equal(result.code, 0, `exit code; stderr: ${result.stderr}`)
  return JSON.parse(result.stdout) as SimulateJson
}

/** Points stored in `series` since `from`. */
async function count(series: string, from: number): Promise<number> {
  let n = 0
  for await (const batch of platform.engine.raw(series, from, Date.now() + 60_000)) n += batch.values.length
  return n
}

describe('strata simulate', { timeout: 120_000 }, () => {
  before(async () => {
    platform = await startTestPlatform()
    api = `http://127.0.0.1:${platform.port('HTTP')}`
    mqtt = `mqtt://127.0.0.1:${platform.port('MQTT')}`
    await platform.access.createUser({
      username: 'root',
      password: 'correct horse battery staple',
      role: 'admin',
    })
    key = (await platform.access.login('root', 'correct horse battery staple', '127.0.0.1')).token
    // The child processes inherit it: the token file goes to a fresh directory.
    configDir = await tempDir('strata-config-')
    process.env.STRATA_CONFIG_DIR = configDir
  })
  after(async () => {
    await platform?.close()
  })

  test('five building devices with bad payloads: data stored, refusals counted, tokens saved', async () => {
    const from = Date.now()
    const run = parsed(
      await simulate([
        '--devices',
        '5',
        '--profile',
        'building',
        '--duration',
        '3',
        '--rate',
        '2',
        '--fault-bad-payload',
        '0.2',
      ]),
    )
    assert.deepEqual(run.setup, { typeCreated: true, devicesCreated: 5, tokensIssued: 5, tokensReused: 0 })
    const s = run.stats
    assert.equal(s.everConnected, 5)
    assert.ok(s.samples >= 5 * 4, `samples: ${s.samples}`)
    assert.equal(s.queuedPoints, 0, 'everything was sent before exit')
    assert.ok(s.badPayloads.refused > 0, 'bad payloads were sent and refused')
    assert.equal(s.badPayloads.accepted, 0)
    assert.equal(s.errorsByKind['payload-refused'], s.badPayloads.refused, 'each refusal is an error')
    assert.equal(s.errors, s.badPayloads.refused, `no other errors: ${JSON.stringify(s.lastErrors)}`)

    const type = await platform.registry.getDeviceType('sim-building')
    assert.deepEqual(
      type.telemetry.map((m) => m.metric),
      ['temperature', 'humidity', 'co2', 'occupancy', 'energy', 'hvac_on'],
    )
    for (let i = 1; i <= 5; i++) {
      const id = `sim-building-000${i}`
      assert.equal((await platform.registry.getDevice(id)).typeId, 'sim-building')
      assert.equal(platform.engine.series({ device: id }).length, 6, `${id} reports six metrics`)
      assert.ok((await count(`${id}/temperature`, from)) > 0, `${id} has temperatures`)
    }
    const ledger = platform.ledger.snapshot().byType['sim-building']
    assert.equal(
      ledger?.messages.rejected,
      s.badPayloads.refused,
      "the platform's ledger counts every refusal",
    )
    assert.equal(ledger?.points.stored, s.sentPoints)

    const file = join(configDir, 'simulator-tokens.json')
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'the token file is private')
    const saved = JSON.parse(await readFile(file, 'utf8')) as {
      platforms: Record<string, Record<string, unknown>>
    }
    assert.deepEqual(
      Object.keys(saved.platforms[api] ?? {}).sort(),
      [1, 2, 3, 4, 5].map((i) => `sim-building-000${i}`),
    )
  })

  test('a second run reuses the saved tokens: no new device, no new credential', async () => {
    const run = parsed(await simulate(['--devices', '5', '--profile', 'building', '--duration', '1']))
    assert.deepEqual(run.setup, { typeCreated: false, devicesCreated: 0, tokensIssued: 0, tokensReused: 5 })
    assert.equal(run.stats.everConnected, 5)
    assert.equal(run.stats.errors, 0)
    for (let i = 1; i <= 5; i++)
      assert.equal((await platform.identity.listCredentials(`sim-building-000${i}`)).length, 1)
  })

  test('dropped sockets: reconnects, and the data keeps flowing', async () => {
    const run = parsed(
      await simulate([
        '--devices',
        '3',
        '--profile',
        'factory',
        '--prefix',
        'drop',
        '--rate',
        '4',
        '--duration',
        '5',
        '--fault-disconnect',
        '60',
      ]),
    )
    const s = run.stats
    assert.ok(
      s.faultDisconnects > 0 && s.reconnects > 0,
      `drops ${s.faultDisconnects}, reconnects ${s.reconnects}`,
    )
    assert.equal(s.errorsByKind['publish-refused'], 0)
    // 3 devices × 4 samples/s × ~5 s, seven metrics each: most of it arrived despite the drops.
    assert.ok(s.samples >= 40, `samples: ${s.samples}`)
    assert.ok(s.sentPoints >= 0.8 * s.samples * 7, `points sent ${s.sentPoints} of ${s.samples * 7}`)
    // At least once: a batch whose PUBACK died with the socket is sent again, so maybe stored twice.
    const stored = platform.ledger.snapshot().byType['sim-factory']?.points.stored ?? 0
    assert.ok(stored >= s.sentPoints, `stored ${stored}, acknowledged ${s.sentPoints}`)
  })

  test('strata telemetry reads what the simulator stored; bad input is one line', async () => {
    const cli = (args: string[]): Promise<CliResult> =>
      runStrata(['telemetry', ...args, '--url', api, '--api-key', key], '', 30_000)
    const latest = await cli(['latest', 'sim-building-0001', '--json'])
    assert.equal(latest.code, 0, latest.stderr)
    const values = (JSON.parse(latest.stdout) as { values: { metric: string }[] }).values
    assert.ok(
      values.some((v) => v.metric === 'temperature'),
      latest.stdout,
    )

    const raw = await cli(['read', 'sim-building-0001', 'temperature', '--from', 'now-1h', '--json'])
    assert.equal(raw.code, 0, raw.stderr)
    const lines = JSON.parse(raw.stdout) as { ts?: number[]; done?: boolean }[]
    assert.ok((lines.find((l) => l.ts)?.ts?.length ?? 0) > 0, raw.stdout)
    assert.equal(lines.at(-1)?.done, true)

    const buckets = await cli([
      'read',
      'sim-building-0001',
      'temperature',
      '--from',
      'now-1h',
      '--bucket',
      '1m',
    ])
    assert.equal(buckets.code, 0, buckets.stderr)
    assert.match(buckets.stdout, /^TIME\s+VALUE\n\S+:00\.000Z\s+\d/)

    // Refused by the API: exit 1 and its code; refused locally: exit 2 before any request.
    assertOneLineError(
      await cli(['read', 'sim-building-0001', 'temperature', '--bucket', '7q']),
      1,
      /STRATA_QUERY_INVALID/,
    )
    assertOneLineError(
      await cli(['read', 'sim-building-0001', 'temperature', '--points', '1']),
      2,
      /--points/,
    )
    assertOneLineError(await cli(['latest', 'no-such-device']), 1, /not found|STRATA_/i)
  })

  test('bad arguments are exit 2 with one line, before any request', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--devices', '5', '--profile', 'house'], /Allowed choices are building, factory, fleet/],
      [['--profile', 'building'], /required option '--devices <n>'/],
      [
        ['--devices', '5', '--profile', 'building', '--rate', '2', '--interval', '3'],
        /--rate or --interval, not both/,
      ],
      [['--devices', '5', '--profile', 'building', '--fault-bad-payload', '1.5'], /fraction from 0 to 1/],
      [['--devices', '5', '--profile', 'building', '--prefix', 'bad/prefix'], /--prefix "bad\/prefix"/],
      [['--devices', '5', '--profile', 'building', '--mqtt', 'http://x'], /--mqtt must start with mqtt:\/\//],
    ]
    for (const [args, pattern] of cases)
      assertOneLineError(
        await runStrata(['simulate', ...args, '--url', 'http://127.0.0.1:9', '--api-key', 'k']),
        2,
        pattern,
      )
    assertOneLineError(
      await runStrata(['simulate', '--devices', '1', '--profile', 'fleet', '--url', 'http://127.0.0.1:9']),
      2,
      /no API key/,
    )
  })
})
