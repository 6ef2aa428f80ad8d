import { spawnSync } from 'node:child_process'
import type { TestContext } from 'node:test'

/**
 * Finds a real peer tool (mosquitto_pub, openssl...). Missing on a user's
 * machine: the test is skipped with a clear message. Missing in CI
 * (CI=true): the test fails, because scripts/test-services.sh installs it.
 */
export function requireTool(t: TestContext, name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim()
  if (found) return found
  const message = `${name} is not installed (Debian: run scripts/test-services.sh as root)`
  if (process.env.CI === 'true') throw new Error(`CI: ${message}`)
  t.skip(message)
  return undefined
}
