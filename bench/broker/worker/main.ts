// A generator worker process: forked by the parent (pinned to the generator's core by taskset),
// runs one job and answers the parent over IPC. Exits when the parent goes away.
import type { FromWorker, Job, ToWorker } from '../messages.js'
import { idleJob } from './idle.js'
import type { JobEnv, RunningJob } from './job.js'
import { latencyJob } from './latency.js'
import { gatedPublishers, subscribers } from './qos0.js'
import { qos1Publishers } from './qos1.js'

const send = (msg: FromWorker) => {
  // The parent may be gone already: it kills workers at the end of every trial.
  if (process.connected) process.send?.(msg, undefined, undefined, () => {})
}
const errors: string[] = []
let running: RunningJob | null = null

function begin(env: JobEnv, job: Job): Promise<RunningJob> {
  switch (job.kind) {
    case 'gated-publishers':
      return gatedPublishers(env, job)
    case 'subscribers':
      return subscribers(env, job)
    case 'qos1-publishers':
      return qos1Publishers(env, job)
    case 'latency':
      return latencyJob(env, job)
    case 'idle':
      return idleJob(env, job)
  }
}

process.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'setup': {
      const env: JobEnv = {
        target: msg.target,
        send,
        error: (m) => {
          if (errors.length < 10) errors.push(m)
        },
      }
      const timer = setTimeout(() => send({ type: 'failed', message: 'setup timed out' }), msg.timeoutMs)
      begin(env, msg.job).then(
        (job) => {
          clearTimeout(timer)
          running = job
          send({ type: 'ready', counters: job.counters })
        },
        (err: Error) => {
          clearTimeout(timer)
          send({ type: 'failed', message: err.message })
        },
      )
      break
    }
    case 'start':
      running?.start()
      break
    case 'credit':
      running?.credit(msg.total)
      break
    case 'stop':
      running?.stop()
      break
    case 'sample': {
      const cpu = process.cpuUsage()
      const counters = running?.counters ?? {
        sent: 0,
        acked: 0,
        received: 0,
        unique: 0,
        connected: 0,
        failed: 0,
      }
      const latency = running?.latency?.()
      send({
        type: 'sample',
        id: msg.id,
        counters: { ...counters },
        cpuUser: cpu.user,
        cpuSystem: cpu.system,
        ...(latency ? { latency } : {}),
        errors: [...errors],
      })
      break
    }
  }
})
// The parent owns this process: if it dies or disconnects, stop at once.
process.on('disconnect', () => process.exit(0))
