// The SDK must run in browsers over ws:// and wss://: its module graph may not import a
// Node module. esbuild (tsx's, already installed) bundles it for the browser platform,
// where any `node:` or Node built-in import is a build error, and mqtt resolves to its
// browser build.
//
// The SDK imports `@strata/protocol/telemetry` only: the package's root entry also holds
// the MQTT codec, which imports `node:buffer`. No alias is needed.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))

test('the SDK bundles for the browser with no Node module in its graph', async () => {
  const result = await build({
    entryPoints: [here('../src/index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  const inputs = Object.keys(result.metafile.inputs)
  assert.ok(
    inputs.some((p) => p.endsWith('mqtt/dist/mqtt.esm.js')),
    'mqtt resolves to its browser build',
  )
  assert.ok(!inputs.some((p) => p.startsWith('node:')))
  const code = result.outputFiles[0]?.text ?? ''
  assert.doesNotMatch(code, /from ["']node:|require\(["']node:/)
})
