// The harness's side of an embedded engine: an Engine whose calls go over IPC to host.ts,
// running pinned to the engine core. kill -9 hits the host while it writes; a new host then
// opens the same data and times its own recovery.
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pinned, sleep, track } from '../broker/proc.js'
import {
  type Batch,
  type BatchSource,
  type DataSpec,
  SCRATCH_BASE,
  SCRATCH_POINTS,
  scratchFound,
} from './data.js'
import {
  type Engine,
  type IngestStats,
  type MinuteAverages,
  type RecoveryResult,
  Unsupported,
} from './engine.js'
import type { EmbeddedName } from './engines/embedded.js'
import type { HostCall, HostReply } from './host.js'
import { ENGINE_CORE, repoRoot } from './servers/common.js'

const hostScript = join(fileURLToPath(new URL('.', import.meta.url)), 'host.ts')

class Host {
  private nextId = 1
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  private readonly exited: Promise<void>
  /** Scratch batches the host's crash writer reported acknowledged. */
  acked = 0

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', () => r()))
    child.on('message', (msg: HostReply) => {
      if ('acked' in msg) {
        this.acked = Math.max(this.acked, msg.acked)
        return
      }
      if (!('id' in msg)) return
      const w = this.waiting.get(msg.id)
      if (!w) return
      this.waiting.delete(msg.id)
      if ('error' in msg) w.reject(msg.unsupported ? new Unsupported(msg.error) : new Error(msg.error))
      else w.resolve(msg.result)
    })
    child.once('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`engine host exited (${code ?? signal})`))
      this.waiting.clear()
    })
  }

  static async spawn(): Promise<Host> {
    const [file, argv] = pinned(ENGINE_CORE, process.execPath, ['--import', 'tsx', hostScript])
    const child = track(
      spawn(file, argv, {
        cwd: repoRoot,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      }),
    )
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`engine host exited (${code}) before it was ready`))
      child.once('exit', onExit)
      child.once('message', () => {
        child.off('exit', onExit)
        resolve()
      })
    })
    return new Host(child)
  }

  get pid(): number {
    return this.child.pid as number
  }

  call<T>(method: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.child.send({ id, method, args } satisfies HostCall)
    })
  }

  async kill9(): Promise<void> {
    // The channel closes once everything the host sent before dying has been read: waiting for
    // it too means no acknowledgement is still on its way when this returns.
    const drained = this.child.connected
      ? new Promise<void>((r) => this.child.once('disconnect', () => r()))
      : Promise.resolve()
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exited
    await drained
  }

  async stop(): Promise<void> {
    this.child.disconnect()
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    await this.exited
    clearTimeout(t)
  }
}

export class RemoteEngine implements Engine {
  private host: Host | null = null
  private dir = ''

  constructor(
    readonly name: EmbeddedName,
    private readonly spec: DataSpec,
    /** Whether the engine persists anything that a restart could recover. */
    private readonly recovers: boolean,
  ) {}

  private get h(): Host {
    if (!this.host) throw new Error(`${this.name}: not started`)
    return this.host
  }

  private async open(): Promise<Host> {
    const host = await Host.spawn()
    await host.call('create', this.name)
    this.host = host
    return host
  }

  async start(dir: string): Promise<void> {
    this.dir = dir
    await (await this.open()).call('start', dir)
  }

  write(batch: Batch): Promise<void> {
    return this.h.call('write', batch)
  }
  ingest(source: BatchSource): Promise<IngestStats> {
    return this.h.call('ingest', source)
  }
  flushForSize(): Promise<void> {
    return this.h.call('flushForSize')
  }
  sizeOnDisk(): Promise<number> {
    return this.h.call('sizeOnDisk')
  }
  queryRange1mAvg(series: number, fromMs: number, toMs: number): Promise<MinuteAverages> {
    return this.h.call('queryRange1mAvg', series, fromMs, toMs)
  }
  queryRange1mAvgMany(series: number[], fromMs: number, toMs: number): Promise<MinuteAverages[]> {
    return this.h.call('queryRange1mAvgMany', series, fromMs, toMs)
  }
  latest(series: number[]): Promise<Float64Array> {
    return this.h.call('latest', series)
  }
  readBack(series: number): Promise<{ ts: Float64Array; values: Float64Array }> {
    return this.h.call('readBack', series)
  }

  async killAndRecover(probe: number[]): Promise<RecoveryResult> {
    if (!this.recovers) throw new Unsupported(`${this.name} persists nothing to recover`)
    const killed = this.h
    await killed.call('crashWrites', this.spec)
    await sleep(200)
    await killed.kill9()
    this.host = null
    const host = await this.open()
    const r = await host.call<Omit<RecoveryResult, 'acked'>>('recover', this.dir, probe)
    const got = await host.call<{ ts: Float64Array; values: Float64Array }>('readBack', SCRATCH_BASE)
    const points = killed.acked * SCRATCH_POINTS
    return { ...r, acked: { points, found: scratchFound(this.spec, killed.acked, SCRATCH_POINTS, got) } }
  }

  pid(): number | null {
    return this.host?.pid ?? null
  }

  async stop(): Promise<void> {
    if (!this.host) return
    try {
      await this.host.call('stop')
    } finally {
      await this.host.stop()
      this.host = null
    }
  }
}
