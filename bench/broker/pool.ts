// Generator workers seen from the parent: fork (pinned to the generator core), set up a job,
// sample counters and CPU, and kill.
import { type ChildProcess, fork } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Counters, FromWorker, Job, LatencyStats, Target, ToWorker } from './messages.js'
import { canPin, track } from './proc.js'

export const GENERATOR_CORE = 1

const workerScript = join(fileURLToPath(new URL('.', import.meta.url)), 'worker/main.ts')

export interface Sample {
  at: number
  counters: Counters
  /** CPU seconds (user + system) used by the worker so far. */
  cpu: number
  latency?: LatencyStats
  errors: string[]
}

export class GenWorker {
  /** Latest cumulative receive count reported by a subscriber job. */
  received = 0
  onProgress: (() => void) | null = null
  private nextId = 1
  private readonly waiting = new Map<number, (s: Sample) => void>()
  private readonly exited: Promise<void>
  private setupReply: ((msg: FromWorker) => void) | null = null

  constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', () => r()))
    child.on('message', (msg: FromWorker) => {
      switch (msg.type) {
        case 'progress':
          this.received = msg.received
          this.onProgress?.()
          break
        case 'sample': {
          const done = this.waiting.get(msg.id)
          this.waiting.delete(msg.id)
          done?.({
            at: performance.now(),
            counters: msg.counters,
            cpu: (msg.cpuUser + msg.cpuSystem) / 1e6,
            ...(msg.latency ? { latency: msg.latency } : {}),
            errors: msg.errors,
          })
          break
        }
        default:
          this.setupReply?.(msg)
      }
    })
  }

  send(msg: ToWorker): void {
    // A worker killed at the end of a trial may still be sent a late credit: ignore the EPIPE.
    if (this.child.connected) this.child.send(msg, (err) => err && undefined)
  }

  /** Opens the job's connections; resolves when they are all set up (or failed). */
  setup(target: Target, job: Job, timeoutMs: number): Promise<Counters> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`worker setup (${job.kind}) timed out`)),
        timeoutMs + 2000,
      )
      this.exited.then(() => reject(new Error(`worker (${job.kind}) exited during setup`)))
      this.setupReply = (msg) => {
        clearTimeout(timer)
        if (msg.type === 'ready') resolve(msg.counters)
        else if (msg.type === 'failed') reject(new Error(`worker setup (${job.kind}): ${msg.message}`))
      }
      this.send({ type: 'setup', target, job, timeoutMs })
    })
  }

  sample(timeoutMs = 5000): Promise<Sample> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        reject(new Error('worker did not answer a sample request'))
      }, timeoutMs)
      this.waiting.set(id, (s) => {
        clearTimeout(timer)
        resolve(s)
      })
      this.send({ type: 'sample', id })
    })
  }

  kill(): Promise<void> {
    this.onProgress = null
    this.child.kill('SIGKILL')
    return this.exited
  }
}

/** Forks `n` workers on the generator core. */
export function spawnWorkers(n: number): GenWorker[] {
  return Array.from({ length: n }, () => {
    const child = fork(workerScript, [], {
      // fork() runs execPath with [...execArgv, script]: put taskset in front of node.
      ...(canPin
        ? {
            execPath: '/usr/bin/taskset',
            execArgv: ['-c', String(GENERATOR_CORE), process.execPath, '--import', 'tsx'],
          }
        : { execArgv: ['--import', 'tsx'] }),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    return new GenWorker(track(child))
  })
}
