// Idle connections: CONNECT, CONNACK, then nothing (keep-alive 0 disables the keep-alive timer,
// [MQTT-3.1.2-24] only applies to a non-zero value). The parent reads the broker's RSS around it.
import type { Job } from '../messages.js'
import { openConn, openMany } from './client.js'
import { type JobEnv, newCounters, type RunningJob } from './job.js'

export async function idleJob(env: JobEnv, job: Extract<Job, { kind: 'idle' }>): Promise<RunningJob> {
  const counters = newCounters()
  let errors = 0
  const deadline = Date.now() + job.deadlineMs
  const conns = await openMany(
    job.count,
    job.concurrency,
    (i) =>
      Date.now() > deadline
        ? Promise.reject(new Error(`not attempted: ${job.deadlineMs} ms deadline passed`))
        : openConn(env.target, {
            clientId: `${job.idPrefix}${i}`,
            clean: true,
            localAddress: job.localAddress,
          }),
    (_i, err) => {
      counters.failed++
      // Thousands of identical errors say nothing more than the first few.
      if (errors++ < 5) env.error(err.message)
    },
  )
  for (const c of conns) if (c) counters.connected++
  return { counters, start() {}, stop() {}, credit() {} }
}
