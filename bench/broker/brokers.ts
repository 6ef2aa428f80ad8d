// The brokers under test. Each trial starts a fresh broker on a free loopback port, pinned to
// core 0 (the generator runs on core 1), so that every figure is per core and no state leaks
// from one trial into the next.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, pinned, removeDir, stopChild, track, trackDir, waitForPort } from './proc.js'

export type BrokerName = 'strata' | 'mosquitto' | 'aedes'
export const BROKER_NAMES: readonly BrokerName[] = ['strata', 'mosquitto', 'aedes']

export const BROKER_CORE = 0

const here = fileURLToPath(new URL('.', import.meta.url))
const repoRoot = resolve(here, '../..')
const MOSQUITTO = '/usr/sbin/mosquitto'
const STRATA_BIN = join(repoRoot, 'packages/platform/bin/strata.js')

export interface RunningBroker {
  name: BrokerName
  pid: number
  port: number
  /** Last lines the broker wrote to stderr/stdout, for error messages. */
  output(): string
  alive(): boolean
  stop(): Promise<void>
}

export interface BrokerSpec {
  name: BrokerName
  /** Highest MQTT protocol level it accepts. */
  maxLevel: 4 | 5
  /** Why it cannot run here, or null. */
  unavailable(): string | null
  start(): Promise<RunningBroker>
}

function capture(child: ChildProcess): () => string {
  let tail = ''
  const keep = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-2000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return () => tail.trim()
}

async function launch(
  name: BrokerName,
  cmd: string,
  args: string[],
  port: number,
  dir: string,
  readyMs: number,
): Promise<RunningBroker> {
  const [file, argv] = pinned(BROKER_CORE, cmd, args)
  // stdin is a pipe that only this process holds: Aedes exits when it closes.
  const child = track(spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'], cwd: repoRoot }))
  const output = capture(child)
  const stop = async () => {
    await stopChild(child, 3000)
    removeDir(dir)
  }
  try {
    await waitForPort(port, child, readyMs)
  } catch (err) {
    await stop()
    throw new Error(`${name}: ${(err as Error).message}\n${output()}`)
  }
  return {
    name,
    pid: child.pid as number,
    port,
    output,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop,
  }
}

const tempDir = (name: string) => trackDir(mkdtempSync(join(tmpdir(), `strata-bench-${name}-`)))

const mosquitto: BrokerSpec = {
  name: 'mosquitto',
  maxLevel: 5,
  unavailable: () => (existsSync(MOSQUITTO) ? null : `${MOSQUITTO} not found (apt-get install mosquitto)`),
  async start() {
    const port = await freePort()
    const dir = tempDir('mosquitto')
    const conf = join(dir, 'mosquitto.conf')
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        // Running as root, Mosquitto would switch to user "mosquitto", which cannot write the temp dir.
        'user root',
        // Snapshots only (autosave): Mosquitto's PUBACK never waits for a disk write.
        'persistence true',
        `persistence_location ${dir}/`,
        'autosave_interval 3600',
        // Large enough that the QoS 1 scenario measures throughput, not the default 1000-message cap.
        'max_queued_messages 10000000',
        'max_connections -1',
        'set_tcp_nodelay true',
        'connection_messages false',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    )
    return launch('mosquitto', MOSQUITTO, ['-c', conf], port, dir, 10_000)
  },
}

const aedes: BrokerSpec = {
  name: 'aedes',
  maxLevel: 4,
  unavailable: () => (existsSync(join(repoRoot, 'node_modules/aedes')) ? null : 'aedes not installed'),
  async start() {
    const port = await freePort()
    const dir = tempDir('aedes')
    const script = join(here, 'aedes-server.ts')
    return launch('aedes', process.execPath, ['--import', 'tsx', script, String(port)], port, dir, 15_000)
  },
}

const strata: BrokerSpec = {
  name: 'strata',
  maxLevel: 5,
  unavailable: () =>
    existsSync(STRATA_BIN) ? null : `${STRATA_BIN} not found: Strata's CLI is not written or not built yet`,
  async start() {
    const port = await freePort()
    const dir = tempDir('strata')
    const config = join(dir, 'strata.json')
    // No per-address connection rate limit (the idle test opens thousands of connections
    // from a few addresses) and room for 19,000 connections. The offline-queue bound stays at
    // its default: a connected subscriber's queue is bounded by held acks, not cut.
    writeFileSync(
      config,
      JSON.stringify({
        limits: { connectionRatePerAddress: 0, maxConnections: 1_000_000 },
      }),
    )
    const args = [
      STRATA_BIN,
      'up',
      '--config',
      config,
      '--allow-anonymous',
      '--data-dir',
      join(dir, 'data'),
      '--host',
      '127.0.0.1',
      '--mqtt-port',
      String(port),
      '--http-port',
      '0',
      '--ws-port',
      '0',
      '--log-level',
      'warn',
    ]
    return launch('strata', process.execPath, args, port, dir, 30_000)
  },
}

export const BROKERS: Record<BrokerName, BrokerSpec> = { strata, mosquitto, aedes }
