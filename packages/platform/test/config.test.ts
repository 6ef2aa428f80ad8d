import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { loadConfig } from '../src/config/load.js'
import { ConfigError, StrataError } from '../src/errors.js'
import { tempDir } from './helpers/strata-process.js'

describe('configuration', () => {
  test('defaults: no anonymous access, standard ports, data under ./data', async () => {
    const config = await loadConfig({ env: {} })
    assert.equal(config.allowAnonymous, false)
    assert.equal(config.mqtt.port, 1883)
    assert.equal(config.ws.port, 8083)
    assert.equal(config.http.port, 8080)
    assert.ok(config.dataDir.endsWith('/data'))
    assert.equal(config.passwordFile, join(config.dataDir, 'passwords'))
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.mqtt))
  })

  test('precedence: file < environment < flags', async () => {
    const dir = await tempDir()
    const file = join(dir, 'strata.json')
    await writeFile(file, JSON.stringify({ mqtt: { port: 1000 }, ws: { port: 2000 }, http: { port: 3000 } }))
    const config = await loadConfig({
      configFile: file,
      env: { STRATA_WS_PORT: '2001', STRATA_HTTP_PORT: '3001', STRATA_DATA: dir },
      flags: { 'http.port': '3002' },
    })
    assert.equal(config.mqtt.port, 1000)
    assert.equal(config.ws.port, 2001)
    assert.equal(config.http.port, 3002)
    assert.equal(config.dataDir, dir)
  })

  test('"off" disables a listener and 0 means any free port', async () => {
    const config = await loadConfig({ env: {}, flags: { 'ws.port': 'off', 'mqtt.port': '0' } })
    assert.equal(config.ws.port, null)
    assert.equal(config.mqtt.port, 0)
  })

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['port out of range', { 'mqtt.port': '70000' }, /mqtt\.port must be an integer from 0 to 65535/],
    ['port not a number', { 'mqtt.port': 'abc' }, /mqtt\.port must be an integer/],
    ['bad boolean', { allowAnonymous: 'yes' }, /allowAnonymous must be true or false/],
    ['bad log level', { logLevel: 'loud' }, /logLevel must be one of/],
    ['limit out of range', { 'limits.maxInflight': '0' }, /limits\.maxInflight must be an integer from 1/],
    ['unknown limit', { 'limits.maxUnicorns': '1' }, /unknown setting "limits\.maxUnicorns"/],
    [
      'retention out of range',
      { 'telemetry.retention.rawDays': '0' },
      /telemetry\.retention\.rawDays must be an integer from 1 to 36500, got "0"/,
    ],
    [
      'retention in the wrong unit',
      { 'telemetry.retention.hourDays': '157680000000' },
      /telemetry\.retention\.hourDays must be an integer from 1 to 36500/,
    ],
    [
      'unknown retention field',
      { 'telemetry.retention.rawMs': '1' },
      /unknown setting "telemetry\.retention\.rawMs" \(known: rawDays, minuteDays, hourDays\)/,
    ],
    [
      'retention not an object',
      { 'telemetry.retention': '7' },
      /telemetry\.retention must be an object like/,
    ],
    ['bad archive switch', { 'telemetry.archive': 'maybe' }, /telemetry\.archive must be true or false/],
  ]
  for (const [name, flags, message] of bad) {
    test(`rejects ${name} with a message naming the setting`, async () => {
      await assert.rejects(loadConfig({ env: {}, flags }), (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.equal(err.code, 'STRATA_CONFIG_INVALID')
        assert.match(err.message, message)
        assert.match(err.message, /^command line: /)
        return true
      })
    })
  }

  test('telemetry retention: keep everything by default, archive on; file values merge with flags, null removes', async () => {
    const defaults = await loadConfig({ env: {} })
    assert.deepEqual(defaults.telemetry.retention, {})
    assert.equal(defaults.telemetry.archive, true)
    const dir = await tempDir()
    const file = join(dir, 'strata.json')
    const recommended = { rawDays: 7, minuteDays: 90, hourDays: 1825 }
    await writeFile(file, JSON.stringify({ telemetry: { retention: recommended, archive: false } }))
    const fromFile = await loadConfig({ configFile: file, env: {} })
    assert.deepEqual(fromFile.telemetry.retention, recommended)
    assert.equal(fromFile.telemetry.archive, false)
    assert.ok(Object.isFrozen(fromFile.telemetry.retention))
    const merged = await loadConfig({
      configFile: file,
      env: {},
      flags: { 'telemetry.retention.rawDays': '30', 'telemetry.retention.hourDays': 'off' },
    })
    assert.deepEqual(merged.telemetry.retention, { rawDays: 30, minuteDays: 90 })
    await writeFile(file, JSON.stringify({ telemetry: { retention: { minuteDays: null, rawDays: 1.5 } } }))
    await assert.rejects(
      loadConfig({ configFile: file, env: {} }),
      /strata\.json: telemetry\.retention\.rawDays must be an integer from 1 to 36500, got 1\.5/,
    )
  })

  test('rejects unknown keys and invalid JSON in the config file, naming the file', async () => {
    const dir = await tempDir()
    const file = join(dir, 'strata.json')
    await writeFile(file, JSON.stringify({ mqtt: { port: 1 }, alowAnonymous: true }))
    await assert.rejects(loadConfig({ configFile: file, env: {} }), /unknown setting "alowAnonymous"/)
    await writeFile(file, '{ "mqtt": ')
    await assert.rejects(loadConfig({ configFile: file, env: {} }), (err: unknown) => {
      assert.ok(err instanceof StrataError)
      assert.match(err.message, /strata\.json is not valid JSON/)
      return true
    })
    await writeFile(file, '[1, 2]')
    await assert.rejects(loadConfig({ configFile: file, env: {} }), /must be a JSON object/)
    await assert.rejects(loadConfig({ configFile: join(dir, 'missing.json'), env: {} }), (err: unknown) => {
      assert.ok(err instanceof StrataError)
      assert.equal(err.code, 'STRATA_CONFIG_UNREADABLE')
      return true
    })
  })

  test('rejects a bad environment variable, naming the source', async () => {
    await assert.rejects(
      loadConfig({ env: { STRATA_MQTT_PORT: '-1' } }),
      /^ConfigError: environment: mqtt\.port/,
    )
  })
})
