/**
 * `strata simulate`: N devices of a profile (building, factory, fleet) over real MQTT
 * connections through the device SDK, with realistic signals, a rate, faults on demand and a
 * live progress line. It makes what it needs on the platform first, over the API, with the
 * CLI's credentials (simulate-setup.ts), and keeps the device tokens it issued for the next
 * run (simulate-state.ts). The signals and the fleet runner are @strata/device/simulator's.
 */
import {
  checkFaults,
  DEFAULT_BURST,
  type FaultOptions,
  type FleetStats,
  PROFILE_NAMES,
  type Profile,
  profileOf,
  startFleet,
} from '@strata/device/simulator'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { ConfigError } from '../errors.js'
import { ID_PATTERN } from '../registry/model.js'
import { ApiClient } from './api-client.js'
import { EXIT_REFUSED, handled } from './exit.js'
import { positiveInt } from './input.js'
import { note, printFields, printJson } from './output.js'
import { clientOf, examples, type RemoteFlags, remote } from './remote.js'
import { Progress, summaryFields } from './simulate-progress.js'
import { type SetupResult, setUpSimulation } from './simulate-setup.js'
import { defaultStatePath, TokenStore } from './simulate-state.js'

const MAX_DEVICES = 100_000
/** Devices waiting for CONNACK at once: fast, without a thundering herd at the broker. */
const CONNECT_CONCURRENCY = 50
/** Connects a second: under the broker's default per-address limit (50), which all devices share. */
const CONNECT_RATE = 40
/** API requests in flight at once while setting up. */
const API_CONCURRENCY = 16
/** A note when no device has connected by then: the MQTT URL is probably wrong. */
const NO_CONNECT_WARNING_MS = 15_000
/** Exit code after Ctrl-C during the setup, as a shell reports a SIGINT. */
const EXIT_INTERRUPTED = 130

interface SimulateFlags extends RemoteFlags {
  devices: number
  profile: string
  rate?: number
  interval?: number
  duration?: number
  mqtt?: string
  prefix?: string
  seed: string
  stateFile?: string
  connectConcurrency: number
  connectRate: number
  faultDisconnect?: number
  faultBurst?: number | true
  faultBadPayload?: number
  faultClockSkew?: number
}

/** A number above 0 (decimals allowed), for --rate, --interval, --duration. */
function positiveNumber(value: string): number {
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(value) ? Number(value) : Number.NaN
  if (!(n > 0)) throw new InvalidArgumentError('Expected a number above 0.')
  return n
}

function fraction(value: string): number {
  const n = /^\d*(\.\d+)?$/.test(value) && value !== '' ? Number(value) : Number.NaN
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('Expected a fraction from 0 to 1, such as 0.05.')
  return n
}

function nonNegative(value: string): number {
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN
  if (!(n >= 0)) throw new InvalidArgumentError('Expected a number from 0 up.')
  return n
}

/** Milliseconds, possibly negative (a clock behind). */
function signedMs(value: string): number {
  if (!/^[+-]?\d{1,12}$/.test(value))
    throw new InvalidArgumentError('Expected whole milliseconds, such as -3600000.')
  return Number(value)
}

/** The MQTT URL: --mqtt, else the API's host on port 1883. */
function mqttUrl(flags: SimulateFlags): string {
  const raw = flags.mqtt ?? `mqtt://${new URL(flags.url).hostname}:1883`
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`--mqtt must be a URL such as mqtt://127.0.0.1:1883, got "${raw}"`)
  }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(url.protocol))
    throw new ConfigError(`--mqtt must start with mqtt://, mqtts://, ws:// or wss://, got "${raw}"`)
  return raw
}

/** `<prefix>-0001` ... `<prefix>-N`, zero-padded to at least four digits. */
export function deviceIds(prefix: string, count: number): string[] {
  const width = Math.max(4, String(count).length)
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(width, '0')}`)
}

interface Plan {
  profile: Profile
  rate: number
  ids: string[]
  mqtt: string
  faults: FaultOptions
}

/** Every flag checked, and their combinations, before any request. */
function planOf(flags: SimulateFlags): Plan {
  const profile = profileOf(flags.profile) as Profile // Commander's .choices() checked it
  if (flags.devices > MAX_DEVICES) throw new ConfigError(`--devices must be at most ${MAX_DEVICES}`)
  if (flags.rate !== undefined && flags.interval !== undefined)
    throw new ConfigError('give --rate or --interval, not both')
  const rate = flags.interval !== undefined ? 1 / flags.interval : (flags.rate ?? 1)
  if (rate > 100) throw new ConfigError('--rate must be at most 100 samples a second per device')
  const prefix = flags.prefix ?? `sim-${profile.name}`
  const ids = deviceIds(prefix, flags.devices)
  if (!ids.every((id) => ID_PATTERN.test(id)))
    throw new ConfigError(
      `--prefix "${prefix}" does not make valid device ids: start with a letter or digit, then A-Z a-z 0-9 . _ -`,
    )
  const faults: FaultOptions = {}
  if (flags.faultDisconnect) faults.disconnectPerMinute = flags.faultDisconnect
  if (flags.faultBadPayload) faults.badPayloadFraction = flags.faultBadPayload
  if (flags.faultClockSkew) faults.clockSkewMs = flags.faultClockSkew
  if (flags.faultBurst !== undefined) {
    const everyMs = flags.faultBurst === true ? DEFAULT_BURST.everyMs : flags.faultBurst * 1000
    faults.burst = { ...DEFAULT_BURST, everyMs, durationMs: Math.min(DEFAULT_BURST.durationMs, everyMs / 2) }
  }
  try {
    checkFaults(faults)
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
  return { profile, rate, ids, mqtt: mqttUrl(flags), faults }
}

/** On a terminal, `devices created 120/1000` rewritten in place while the setup runs. */
function setupProgress(): ((done: number, total: number, what: string) => void) | undefined {
  if (!process.stderr.isTTY) return undefined
  return (done, total, what) => process.stderr.write(`\r${what} ${done}/${total}\x1b[K`)
}

/** Ctrl-C (or SIGTERM) stops the run cleanly; a second one exits at once. */
function stopOnSignals(controller: AbortController): () => void {
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

async function simulate(flags: SimulateFlags): Promise<void> {
  const plan = planOf(flags)
  const api = clientOf(flags)
  const controller = new AbortController()
  const release = stopOnSignals(controller)
  try {
    await run(
      flags,
      plan,
      new ApiClient({ url: api.url, token: flags.apiKey?.trim(), signal: controller.signal }),
      controller,
    )
  } finally {
    release()
  }
}

async function run(
  flags: SimulateFlags,
  plan: Plan,
  client: ApiClient,
  controller: AbortController,
): Promise<void> {
  const store = await TokenStore.open(flags.stateFile ?? defaultStatePath())
  const typeId = `sim-${plan.profile.name}`
  let setup: SetupResult
  try {
    setup = await setUpSimulation(client, store, {
      profile: plan.profile,
      typeId,
      deviceIds: plan.ids,
      concurrency: API_CONCURRENCY,
      signal: controller.signal,
      onProgress: setupProgress(),
    })
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K')
  } catch (err) {
    if (!controller.signal.aborted) throw err
    note('strata: interrupted while setting up; the tokens issued so far are saved')
    process.exitCode = EXIT_INTERRUPTED
    return
  }
  note(
    `device type ${typeId}${setup.typeCreated ? ' created' : ''}; ${plan.ids.length} devices ` +
      `(${setup.devicesCreated} created); tokens: ${setup.tokensReused} reused, ${setup.tokensIssued} issued ` +
      `(kept in ${store.path})`,
  )
  note(
    `simulating ${plan.ids.length} ${plan.profile.name} devices on ${plan.mqtt} at ${plan.rate} samples/s each` +
      `${flags.duration ? ` for ${flags.duration} s` : ' until Ctrl-C'}`,
  )
  const stats = await runFleet(flags, plan, setup.tokens, controller)
  await forgetRefused(store, client.url, stats)
  if (flags.json) {
    const { tokens: _secrets, ...made } = setup
    printJson({
      profile: plan.profile.name,
      mqtt: plan.mqtt,
      rate: plan.rate,
      faults: plan.faults,
      setup: made,
      stats,
    })
  } else printFields(summaryFields(stats))
  if (stats.started > 0 && stats.refusedDevices.length === stats.started) {
    note(
      `strata: every device was refused at connect (${stats.lastErrors['connect-refused'] ?? 'bad credentials'})`,
    )
    process.exitCode = EXIT_REFUSED
  }
}

/** Runs the devices until the duration ends, Ctrl-C, or every device is refused; the final counters. */
async function runFleet(
  flags: SimulateFlags,
  plan: Plan,
  tokens: ReadonlyMap<string, string>,
  controller: AbortController,
): Promise<FleetStats> {
  const fleet = startFleet({
    url: plan.mqtt,
    devices: plan.ids.map((deviceId) => ({ deviceId, token: tokens.get(deviceId) as string })),
    profile: plan.profile,
    rate: plan.rate,
    faults: plan.faults,
    seed: flags.seed,
    utcOffsetMs: -new Date().getTimezoneOffset() * 60_000,
    connectConcurrency: flags.connectConcurrency,
    connectRate: flags.connectRate,
    signal: controller.signal,
  })
  const progress = new Progress({
    stats: () => fleet.stats(),
    out: process.stderr,
    tty: process.stderr.isTTY === true,
  })
  const deadline = flags.duration ? setTimeout(() => controller.abort(), flags.duration * 1000) : undefined
  let warned = false
  const watch = setInterval(() => {
    const s = fleet.stats()
    if (s.refusedDevices.length === s.devices) controller.abort()
    if (!warned && s.elapsedMs > NO_CONNECT_WARNING_MS && s.everConnected === 0) {
      warned = true
      progress.note(
        `strata: no device has connected to ${plan.mqtt} yet: is the platform's MQTT port there (--mqtt)?`,
      )
    }
  }, 1_000)
  await new Promise<void>((resolve) => {
    if (controller.signal.aborted) resolve()
    else controller.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  clearTimeout(deadline)
  clearInterval(watch)
  const stats = await fleet.stop()
  progress.stop()
  return stats
}

/** Tokens the platform refused for good are stale (a reset platform, a revoked token): drop them. */
async function forgetRefused(store: TokenStore, apiUrl: string, stats: FleetStats): Promise<void> {
  if (stats.refusedDevices.length === 0) return
  for (const id of stats.refusedDevices) store.delete(apiUrl, id)
  await store.save()
  note(
    `strata: ${stats.refusedDevices.length} devices were refused at connect; ` +
      'their saved tokens are forgotten, the next run issues new ones',
  )
}

export function simulateCommand(program: Command): Command {
  return examples(
    remote(
      program
        .command('simulate')
        .description('run simulated devices over MQTT: realistic signals, a rate, faults on demand')
        .requiredOption('--devices <n>', `how many devices, 1 to ${MAX_DEVICES}`, positiveInt())
        .addOption(
          new Option('--profile <profile>', 'what they are (docs/simulator.md)')
            .choices(PROFILE_NAMES)
            .makeOptionMandatory(),
        )
        .option('--rate <r>', 'samples per device per second (default 1)', positiveNumber)
        .option('--interval <seconds>', 'or: seconds between two samples of a device', positiveNumber)
        .option('--duration <seconds>', 'stop after this long (default: run until Ctrl-C)', positiveNumber)
        .option('--mqtt <url>', "the platform's MQTT listener (default: mqtt://<the --url host>:1883)")
        .option('--prefix <prefix>', 'device ids are <prefix>-0001... (default: sim-<profile>)')
        .option('--seed <seed>', 'makes the signals reproducible', 'strata')
        .option('--connect-concurrency <n>', 'devices connecting at once', positiveInt(), CONNECT_CONCURRENCY)
        .option(
          '--connect-rate <per-second>',
          "new connections a second (the broker's limits.connectionRatePerAddress is 50 by default)",
          positiveNumber,
          CONNECT_RATE,
        )
        .option('--state-file <file>', 'where the device tokens are kept (default: in the CLI config dir)')
        .option(
          '--fault-disconnect <per-minute>',
          "drop each device's socket this often a minute, on average",
          nonNegative,
        )
        .option(
          '--fault-burst [every-seconds]',
          'every 30 s (or as given), 5 s of 10x the rate',
          positiveNumber,
        )
        .option(
          '--fault-bad-payload <fraction>',
          'this fraction of samples is followed by an invalid payload',
          fraction,
        )
        .option(
          '--fault-clock-skew <ms>',
          "shift a quarter of the devices' timestamps by this much",
          signedMs,
        )
        .option('--json', 'print the summary as JSON'),
      false,
    ),
    [
      'strata simulate --devices 10 --profile building',
      'strata simulate --devices 1000 --profile factory --rate 2 --duration 300',
      'strata simulate --devices 50 --profile fleet --interval 5 --fault-disconnect 0.5 --fault-burst',
      'strata simulate --devices 5 --profile building --duration 30 --fault-bad-payload 0.2 --json',
    ],
    'Creates the device type sim-<profile> and the devices if missing, and a token for each device\n' +
      'that has none saved (in $STRATA_CONFIG_DIR, else ~/.config/strata, file mode 0600).\n' +
      'Needs an API key or session with devices:write and credentials:write (strata login).',
  ).action(handled(simulate))
}
