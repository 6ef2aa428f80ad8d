// Plumbing shared by the server peers: a pinned child process (bench/broker's proc.ts does the
// tracking and cleanup), a keep-alive HTTP client, readiness, and folder sizes.
import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import http from 'node:http'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pinned, sleep, stopChild, track } from '../../broker/proc.js'
import {
  type Batch,
  type DataSpec,
  SCRATCH_BASE,
  SCRATCH_POINTS,
  scratchBatch,
  scratchFound,
} from '../data.js'
import type { RecoveryResult } from '../engine.js'

/** Servers and embedded-engine hosts run on this core; the harness runs on the other. */
export const ENGINE_CORE = 0
export const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..')

export interface ServerProc {
  readonly pid: number
  output(): string
  alive(): boolean
  /** SIGKILL, resolves once it has exited. */
  kill9(): Promise<void>
  /** SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>
}

export function spawnServer(cmd: string, args: string[]): ServerProc {
  const [file, argv] = pinned(ENGINE_CORE, cmd, args)
  const child: ChildProcess = track(spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot }))
  let tail = ''
  const keep = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const alive = () => child.exitCode === null && child.signalCode === null
  return {
    pid: child.pid as number,
    output: () => tail.trim(),
    alive,
    async kill9() {
      if (alive()) child.kill('SIGKILL')
      await exited
    },
    stop: () => stopChild(child, 10_000),
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })

export interface HttpReply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** One HTTP request on a kept-alive loopback connection; rejects on network errors only. */
export function request(url: string, method = 'GET', body?: string): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (b: Buffer) => parts.push(b))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body !== undefined) req.setHeader('content-length', Buffer.byteLength(body))
    req.end(body)
  })
}

/** The same, failing unless the status is 2xx. */
export async function requestOk(url: string, method = 'GET', body?: string): Promise<string> {
  const r = await request(url, method, body)
  if (r.status < 200 || r.status > 299) {
    throw new Error(`${method} ${url.slice(0, 160)}: HTTP ${r.status} ${r.body.slice(0, 300)}`)
  }
  return r.body
}

/** Polls `url` until it answers 2xx; fails early if the process exits. */
export async function waitHttp(url: string, proc: ServerProc, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (!proc.alive()) throw new Error(`exited before it answered ${url}:\n${proc.output().slice(-1500)}`)
    try {
      const r = await request(url)
      if (r.status >= 200 && r.status < 300) return
    } catch {
      // not listening yet
    }
    await sleep(10)
  }
  throw new Error(`no answer from ${url} after ${timeoutMs} ms:\n${proc.output().slice(-1500)}`)
}

/** Sum of the sizes of the regular files under `dir` that `keep` accepts (path relative to dir). */
export function filesSize(dir: string, keep: (rel: string) => boolean = () => true): number {
  let total = 0
  const walk = (d: string, rel: string) => {
    let names: string[]
    try {
      names = readdirSync(d)
    } catch {
      return
    }
    for (const name of names) {
      const path = join(d, name)
      const r = rel ? `${rel}/${name}` : name
      const st = statSync(path, { throwIfNoEntry: false })
      if (!st) continue
      if (st.isDirectory()) walk(path, r)
      else if (st.isFile() && keep(r)) total += st.size
    }
  }
  walk(dir, '')
  return total
}

/** Epoch ms to the seconds the Prometheus-style APIs take. */
export const seconds = (ms: number): string => String(ms / 1000)

/**
 * The servers' recovery test: a writer keeps sending small batches to a scratch series, the
 * server gets SIGKILL mid-stream, and the clock runs from the restart's spawn until `latest`
 * answers for every probed series (polled every 10 ms, so the figure is good to ~10 ms).
 */
export async function recoverServer(
  spec: DataSpec,
  io: {
    write(batch: Batch): Promise<void>
    kill9(): Promise<void>
    /** Spawns the server again on the same data (without waiting for it). */
    respawn(): Promise<ServerProc>
    latest(series: number[]): Promise<Float64Array>
    readBack(series: number): Promise<{ ts: Float64Array; values: Float64Array }>
  },
  probe: number[],
  timeoutMs = 300_000,
): Promise<RecoveryResult> {
  let writing = true
  let written = 0
  const writer = (async () => {
    for (let seq = 0; writing; seq++) {
      try {
        await io.write(scratchBatch(spec, seq, SCRATCH_POINTS))
        written++
      } catch {
        return
      }
    }
  })()
  while (written < 3) await sleep(5)
  await sleep(200)
  await io.kill9()
  writing = false
  await writer
  const t0 = performance.now()
  const proc = await io.respawn()
  const deadline = t0 + timeoutMs
  let answered = 0
  while (performance.now() < deadline) {
    if (!proc.alive()) throw new Error(`exited after the restart:\n${proc.output().slice(-1500)}`)
    try {
      const v = await io.latest(probe)
      answered = v.filter((x) => !Number.isNaN(x)).length
      if (answered === probe.length) {
        const ms = performance.now() - t0
        // `written` counts the batches whose request got its 2xx before the kill.
        const got = await io.readBack(SCRATCH_BASE)
        return {
          ms,
          answered,
          note: 'spawn to first full answer, polled every 10 ms',
          acked: {
            points: written * SCRATCH_POINTS,
            found: scratchFound(spec, written, SCRATCH_POINTS, got),
          },
        }
      }
    } catch {
      // not up yet
    }
    await sleep(10)
  }
  throw new Error(`no full answer ${timeoutMs} ms after the restart (${answered}/${probe.length} series)`)
}

/**
 * What the server peers share around their own protocol: the process, its pid for CPU
 * accounting, stop, and the kill -9 recovery test over their write/latest/readBack.
 */
export abstract class ServerEngine {
  protected proc: ServerProc | null = null

  constructor(protected readonly spec: DataSpec) {}

  /** A fresh process on the same data (used again by the recovery test). */
  protected abstract spawn(): Promise<ServerProc>
  abstract write(batch: Batch): Promise<void>
  abstract latest(series: number[]): Promise<Float64Array>
  abstract readBack(series: number): Promise<{ ts: Float64Array; values: Float64Array }>

  killAndRecover(probe: number[]): Promise<RecoveryResult> {
    return recoverServer(
      this.spec,
      {
        write: (b) => this.write(b),
        kill9: async () => this.proc?.kill9(),
        respawn: () => this.spawn(),
        latest: (s) => this.latest(s),
        readBack: (s) => this.readBack(s),
      },
      probe,
    )
  }

  pid(): number | null {
    return this.proc?.pid ?? null
  }

  async stop(): Promise<void> {
    await this.proc?.stop()
    this.proc = null
  }
}
