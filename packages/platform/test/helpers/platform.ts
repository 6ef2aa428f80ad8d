/**
 * The platform started in this process (real listeners on port 0, a temporary data dir),
 * for tests that drive the services directly and the broker through real MQTT clients.
 */
import { rm } from 'node:fs/promises'
import pino from 'pino'
import { loadConfig } from '../../src/config/load.js'
import { type PlatformTestHooks, type RunningPlatform, startPlatform } from '../../src/platform.js'
import { tempDir } from './strata-process.js'

export const silentLogger = pino({ level: 'silent' })

export interface TestPlatform extends RunningPlatform {
  dataDir: string
  /** Port of the listener whose name starts with `name` ("MQTT", "MQTT over TLS", "HTTP"...). */
  port(name: string): number
  /** Stops the platform and removes its data dir. */
  close(): Promise<void>
}

export async function startTestPlatform(
  settings: Record<string, unknown> = {},
  hooks: PlatformTestHooks = {},
): Promise<TestPlatform> {
  const dataDir = await tempDir('strata-platform-')
  const config = await loadConfig({
    env: {},
    flags: {
      dataDir,
      host: '127.0.0.1',
      'mqtt.port': '0',
      'mqtts.port': 'off',
      'ws.port': 'off',
      'wss.port': 'off',
      'http.port': '0',
      sysInterval: '0',
      ...settings,
    },
  })
  const platform = await startPlatform(config, silentLogger, hooks)
  return {
    ...platform,
    dataDir,
    port(name) {
      const l =
        platform.listeners.find((x) => x.name === name) ??
        platform.listeners.find((x) => x.name.startsWith(name))
      if (!l)
        throw new Error(`no listener named ${name}: ${platform.listeners.map((x) => x.name).join(', ')}`)
      return l.port
    },
    async close() {
      await platform.stop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
