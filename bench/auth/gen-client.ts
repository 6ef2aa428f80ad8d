// The generator seen from the parent: fork it on the generator core, ask, await the answer.
import { type ChildProcess, fork } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GENERATOR_CORE } from '../broker/pool.js'
import { canPin, track } from '../broker/proc.js'
import type { FromGenerator, ToGenerator } from './messages.js'

const script = join(fileURLToPath(new URL('.', import.meta.url)), 'generator.ts')

type Reply<T extends FromGenerator['type']> = Extract<FromGenerator, { type: T }>

export class Generator {
  /** Errors the generator reported (first few, deduplicated), for the trial's notes. */
  readonly notes: string[] = []
  private readonly exited: Promise<void>
  private listener: ((msg: FromGenerator) => void) | null = null

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', () => r()))
    child.on('message', (msg: FromGenerator) => this.listener?.(msg))
  }

  /** Forks a generator pinned to the generator core (the broker runs on the other). */
  static start(): Generator {
    const child = fork(script, [], {
      // fork() runs execPath with [...execArgv, script]: put taskset in front of node.
      ...(canPin
        ? {
            execPath: '/usr/bin/taskset',
            execArgv: ['-c', String(GENERATOR_CORE), process.execPath, '--import', 'tsx'],
          }
        : { execArgv: ['--import', 'tsx'] }),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    return new Generator(track(child))
  }

  /**
   * Sends `msg` and resolves with the reply of type `done`; `onStarted` runs when the generator
   * starts timing (the parent samples the broker's CPU there and again on the reply).
   */
  ask<T extends FromGenerator['type']>(
    msg: ToGenerator,
    done: T,
    timeoutMs: number,
    onStarted?: () => void,
  ): Promise<Reply<T>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listener = null
        reject(new Error(`generator: no ${done} within ${Math.round(timeoutMs / 1000)} s`))
      }, timeoutMs)
      this.exited.then(() => reject(new Error(`generator exited before ${done}`)))
      this.listener = (reply) => {
        if (reply.type === 'started') return onStarted?.()
        clearTimeout(timer)
        this.listener = null
        if (reply.type === done) resolve(reply as Reply<T>)
        else if (reply.type === 'failed') reject(new Error(`generator: ${reply.message}`))
        else reject(new Error(`generator: expected ${done}, got ${reply.type}`))
      }
      this.child.send(msg)
    })
  }

  kill(): Promise<void> {
    this.child.kill('SIGKILL')
    return this.exited
  }
}
