/**
 * The management commands: everything but `up` and `passwd`. All of them but `admin` talk to
 * a running platform over its HTTP API (docs/cli.md).
 */
import type { Command } from 'commander'
import { adminCommand } from './admin.js'
import { apikeyCommand } from './apikey.js'
import { auditCommand } from './audit.js'
import { caCommand } from './ca.js'
import { groupCommand, typeCommand } from './catalog.js'
import { registerCredentials } from './credentials.js'
import { deviceCommand } from './device.js'
import { registerGrants } from './grants.js'
import { provisionCommand } from './provision.js'
import { telemetryCommand } from './telemetry.js'
import { loginCommand, userCommand } from './user.js'

export function registerManagement(program: Command): void {
  const device = deviceCommand(program)
  registerCredentials(device)
  registerGrants(device)
  typeCommand(program)
  groupCommand(program)
  provisionCommand(program)
  caCommand(program)
  userCommand(program)
  apikeyCommand(program)
  loginCommand(program)
  auditCommand(program)
  telemetryCommand(program)
  adminCommand(program)
}
