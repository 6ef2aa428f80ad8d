// The brokers under test, each configured for one way of logging in. As in bench/broker, every
// trial starts a fresh process pinned to the broker core, so no cache or session survives from
// one trial into the next (the cold-connect figures depend on it).
import { type ChildProcess, spawn } from 'node:child_process'
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BROKER_CORE } from '../broker/brokers.js'
import { freePort, pinned, removeDir, stopChild, track, trackDir, waitForPort } from '../broker/proc.js'
import type { Fixture } from './fixture.js'

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
export const MOSQUITTO = '/usr/sbin/mosquitto'
const STRATA_BIN = join(repoRoot, 'packages/platform/bin/strata.js')

export interface RunningServer {
  pid: number
  /** The MQTT port the case connects to: TLS for the mTLS cases, else TCP. */
  port: number
  alive(): boolean
  output(): string
  stop(): Promise<void>
}

export interface ServerSpec {
  broker: 'strata' | 'mosquitto'
  /** mTLS: a TLS listener that asks for client certificates (the only listener the case uses). */
  tls: boolean
  allowAnonymous: boolean
  /** Mosquitto only: password_file, acl_file. (Strata always has its password file and registry.) */
  passwordFile?: boolean
  aclFile?: boolean
}

function spawnPinned(cmd: string, args: string[]): { child: ChildProcess; output: () => string } {
  const [file, argv] = pinned(BROKER_CORE, cmd, args)
  const child = track(spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot }))
  let tail = ''
  const keep = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return { child, output: () => tail.trim() }
}

const tempDir = (name: string) => trackDir(mkdtempSync(join(tmpdir(), `strata-bench-auth-${name}-`)))

function running(child: ChildProcess, port: number, output: () => string, dir: string): RunningServer {
  return {
    pid: child.pid as number,
    port,
    output,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      await stopChild(child, 3000)
      removeDir(dir)
    },
  }
}

/** Strata's `up` logs one JSON line per listener with its port, then "Strata is up". */
function strataPorts(child: ChildProcess, timeoutMs: number): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const ports = new Map<string, number>()
    let buffered = ''
    const timer = setTimeout(() => reject(new Error(`not up after ${timeoutMs} ms`)), timeoutMs)
    const onExit = () => {
      clearTimeout(timer)
      reject(new Error(`exited (${child.exitCode ?? child.signalCode}) before it was up`))
    }
    child.once('exit', onExit)
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) {
        let entry: { msg?: string; listener?: string; port?: number }
        try {
          entry = JSON.parse(line)
        } catch {
          continue
        }
        if (entry.listener !== undefined && entry.port !== undefined) ports.set(entry.listener, entry.port)
        if (entry.msg === 'Strata is up') {
          clearTimeout(timer)
          child.off('exit', onExit)
          child.stdout?.off('data', onData)
          resolve(ports)
        }
      }
    }
    child.stdout?.on('data', onData)
  })
}

async function startStrata(spec: ServerSpec, fx: Fixture): Promise<RunningServer> {
  const dir = tempDir('strata')
  const data = join(dir, 'data')
  cpSync(fx.template, data, { recursive: true })
  const config = join(dir, 'strata.json')
  // Thousands of connects from one address: no per-address rate limit (as in bench/broker).
  writeFileSync(
    config,
    JSON.stringify({ limits: { connectionRatePerAddress: 0, maxConnections: 1_000_000 } }),
  )
  const args = [
    STRATA_BIN,
    'up',
    '--config',
    config,
    '--data-dir',
    data,
    '--host',
    '127.0.0.1',
    '--mqtt-port',
    spec.tls ? 'off' : '0',
    '--mqtts-port',
    spec.tls ? '0' : 'off',
    '--ws-port',
    'off',
    '--wss-port',
    'off',
    '--http-port',
    'off',
    '--sys-interval',
    '0',
    // info: the listener lines carry the ports; nothing is logged per accepted connection.
    '--log-level',
    'info',
    ...(spec.tls ? ['--tls-cert', fx.server.certFile, '--tls-key', fx.server.keyFile] : []),
    ...(spec.allowAnonymous ? ['--allow-anonymous'] : []),
  ]
  const { child, output } = spawnPinned(process.execPath, args)
  const server = running(child, 0, output, dir)
  try {
    const ports = await strataPorts(child, 30_000)
    const port = ports.get(spec.tls ? 'MQTT over TLS' : 'MQTT')
    if (port === undefined) throw new Error(`no listener port in its log: ${[...ports.keys()].join(', ')}`)
    return { ...server, port }
  } catch (err) {
    await server.stop()
    throw new Error(`strata: ${(err as Error).message}\n${output().slice(-1500)}`)
  }
}

async function startMosquitto(spec: ServerSpec, fx: Fixture): Promise<RunningServer> {
  const dir = tempDir('mosquitto')
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...(spec.tls
        ? [
            `cafile ${fx.platformCaFile}`,
            `certfile ${fx.server.certFile}`,
            `keyfile ${fx.server.keyFile}`,
            'require_certificate true',
            'use_identity_as_username true',
          ]
        : []),
      `allow_anonymous ${spec.allowAnonymous}`,
      ...(spec.passwordFile ? [`password_file ${fx.mosquittoPasswords}`] : []),
      ...(spec.aclFile ? [`acl_file ${fx.mosquittoAcl}`] : []),
      // The rest as in bench/broker/brokers.ts.
      'user root',
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 3600',
      'max_connections -1',
      'set_tcp_nodelay true',
      'connection_messages false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  )
  const { child, output } = spawnPinned(MOSQUITTO, ['-c', conf])
  const server = running(child, port, output, dir)
  try {
    await waitForPort(port, child, 10_000)
    return server
  } catch (err) {
    await server.stop()
    throw new Error(`mosquitto: ${(err as Error).message}\n${output().slice(-1500)}`)
  }
}

export function startServer(spec: ServerSpec, fx: Fixture): Promise<RunningServer> {
  return spec.broker === 'strata' ? startStrata(spec, fx) : startMosquitto(spec, fx)
}
