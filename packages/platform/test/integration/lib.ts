// Shared plumbing for the integration tests: child processes of peer tools,
// users in a data dir, and mqtt.js clients that never reconnect on their own.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import type { Duplex } from 'node:stream'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { type Packet, parser } from 'mqtt-packet'
import { STRATA_BIN, type StrataProcess } from '../helpers/strata-process.js'

export interface ToolResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunningTool {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves once stdout matches (rejects after timeoutMs, with the output so far). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>
  exited: Promise<ToolResult>
}

const stdbuf = spawnSync('sh', ['-c', 'command -v stdbuf'], { encoding: 'utf8' }).stdout.trim() || undefined

/** Starts a peer tool; its output is collected for assertions. */
export function spawnTool(command: string, args: string[], input?: string): RunningTool {
  // A pipe makes libc buffer stdout fully: stdbuf turns that into line
  // buffering, so "received SUBACK" can be waited for while the tool runs.
  const child = stdbuf
    ? spawn(stdbuf, ['-oL', command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const waiters = new Set<() => void>()
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString()
    for (const w of waiters) w()
  })
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  child.stdin?.on('error', () => {})
  child.stdin?.end(input ?? '')
  const exited = new Promise<ToolResult>((resolve) =>
    child.on('exit', (code, signal) => {
      for (const w of waiters) w()
      resolve({ code, signal, stdout, stderr })
    }),
  )
  const waitFor = (pattern: RegExp, timeoutMs = 10_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (pattern.test(stdout)) {
          done()
          resolve()
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done()
          reject(new Error(`${command} exited before printing ${pattern}: ${stdout}\n${stderr}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${command} did not print ${pattern} within ${timeoutMs} ms: ${stdout}\n${stderr}`))
      }, timeoutMs)
      const done = (): void => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  return { child, stdout: () => stdout, stderr: () => stderr, waitFor, exited }
}

/** Runs a peer tool to completion, killing it after timeoutMs. */
export async function runTool(
  command: string,
  args: string[],
  input?: string,
  timeoutMs = 15_000,
): Promise<ToolResult> {
  const tool = spawnTool(command, args, input)
  const timer = setTimeout(() => tool.child.kill('SIGKILL'), timeoutMs)
  try {
    return await tool.exited
  } finally {
    clearTimeout(timer)
  }
}

/** Adds an MQTT user with the real CLI (`strata passwd --password-stdin`). */
export async function addUser(dataDir: string, username: string, password: string): Promise<void> {
  const result = await runTool(
    process.execPath,
    [STRATA_BIN, 'passwd', '--data-dir', dataDir, '--password-stdin', username],
    `${password}\n`,
  )
  if (result.code !== 0) throw new Error(`strata passwd failed (${result.code}): ${result.stderr}`)
}

export function port(proc: StrataProcess, listener: string): number {
  const p = proc.ports.get(listener)
  if (p === undefined) throw new Error(`no "${listener}" listener in ${JSON.stringify([...proc.ports])}`)
  return p
}

/** Connects an mqtt.js client that never reconnects by itself (tests decide). */
export function connect(brokerUrl: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(brokerUrl, { reconnectPeriod: 0, connectTimeout: 5_000, ...options }, false)
}

export interface Received {
  topic: string
  payload: Buffer
  packet: mqtt.IPublishPacket
}

/** Collects every PUBLISH a client receives. */
export function collect(client: MqttClient): Received[] {
  const seen: Received[] = []
  client.on('message', (topic, payload, packet) => seen.push({ topic, payload, packet }))
  return seen
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls until predicate holds; throws with `what` after timeoutMs. */
export async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

/** Resident set size of a process in KiB (Linux /proc). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  if (!match?.[1]) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(match[1])
}

export function alive(proc: StrataProcess): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null
}

export interface RawOutcome {
  /** What the broker sent, decoded (as far as it decodes). */
  packets: Packet[]
  bytes: number
  /** The broker closed the connection (rather than the timeout ending the wait). */
  closed: boolean
}

/**
 * Writes raw bytes on a connected socket and records what the broker answers
 * until it closes the connection or timeoutMs passes (then the socket is
 * destroyed). Used to assert on the server's behaviour, not a client library's.
 */
export function exchange(
  socket: Duplex,
  chunks: Buffer[],
  options: { protocolVersion: 4 | 5; timeoutMs: number; until?: (p: Packet) => boolean },
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const outcome: RawOutcome = { packets: [], bytes: 0, closed: false }
    const decoder = parser({ protocolVersion: options.protocolVersion })
    decoder.on('packet', (p: Packet) => {
      outcome.packets.push(p)
      if (options.until?.(p)) finish(false)
    })
    decoder.on('error', () => {})
    let settled = false
    const finish = (closed: boolean): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      outcome.closed = closed
      socket.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(() => finish(false), options.timeoutMs)
    socket.on('data', (d: Buffer) => {
      outcome.bytes += d.length
      decoder.parse(d)
    })
    socket.on('error', () => {})
    socket.on('close', () => finish(true))
    for (const c of chunks) socket.write(c)
  })
}

/** mulberry32: a tiny seeded PRNG, so that a failing random test reproduces from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
