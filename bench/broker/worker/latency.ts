// Latency at a fixed rate. Publishers and the subscriber run in different processes, so that a
// burst of sends never delays the receive callback; both read CLOCK_MONOTONIC through
// process.hrtime.bigint(), which is one clock for every process on the machine. The pacing is
// open-loop (a late tick sends what it owes), so a stalled broker shows up in the tail instead of
// silently lowering the offered rate.
import type { Job, LatencyStats } from '../messages.js'
import { PUBLISH, publish, publishPayloadOffset } from '../wire.js'
import { openConn, openMany } from './client.js'
import { type JobEnv, newCounters, type RunningJob, watchClose } from './job.js'

type LatencyJob = Extract<Job, { kind: 'latency' }>

const now = () => process.hrtime.bigint()

export function latencyJob(env: JobEnv, job: LatencyJob): Promise<RunningJob> {
  return job.role === 'subscriber' ? subscriber(env, job) : publishers(env, job)
}

async function subscriber(env: JobEnv, job: LatencyJob): Promise<RunningJob> {
  const counters = newCounters()
  const level = env.target.level
  let closing = false
  // Only messages sent inside [from, until) count: the warm-up and the drain are left out.
  let from = BigInt(Number.MAX_SAFE_INTEGER) * 1000n
  let until = from
  const samples: number[] = []
  const sub = await openConn(env.target, { clientId: `${job.idPrefix}sub`, clean: true })
  await sub.subscribe(`${job.topicPrefix}/#`, 0, level)
  counters.connected++
  watchClose(env, sub.socket, 'subscriber', () => closing)
  sub.handler = (first, buf, start, end) => {
    if (first >> 4 !== PUBLISH) return
    const t = now()
    counters.received++
    const p = publishPayloadOffset(first, buf, start, level)
    if (p + 8 > end) return
    const sentAt = buf.readBigUInt64BE(p)
    if (sentAt >= from && sentAt < until) samples.push(Number(t - sentAt))
  }
  return {
    counters,
    start() {
      from = now() + BigInt(job.warmupMs) * 1_000_000n
      until = BigInt(Number.MAX_SAFE_INTEGER) * 1000n
    },
    stop() {
      until = now()
      closing = true
    },
    credit() {},
    latency(): LatencyStats {
      const sorted = Float64Array.from(samples).sort()
      const at = (q: number) =>
        sorted.length ? (sorted[Math.floor(q * (sorted.length - 1))] as number) : Number.NaN
      // Nanoseconds in the samples, microseconds out.
      return { count: sorted.length, p50: at(0.5) / 1000, p99: at(0.99) / 1000, max: at(1) / 1000 }
    },
  }
}

async function publishers(env: JobEnv, job: LatencyJob): Promise<RunningJob> {
  const counters = newCounters()
  let closing = false
  const conns = await openMany(
    job.publishers,
    64,
    (i) => openConn(env.target, { clientId: `${job.idPrefix}${i}`, clean: true }),
    (i, err) => {
      counters.failed++
      env.error(`publisher ${i}: ${err.message}`)
    },
  )
  const pubs = conns.flatMap((conn, i) => {
    if (!conn) return []
    counters.connected++
    watchClose(env, conn.socket, `publisher ${i}`, () => closing)
    const t = publish(`${job.topicPrefix}/${i}`, job.payloadSize, 0, env.target.level)
    return [{ socket: conn.socket, template: t.bytes, payloadOffset: t.payloadOffset }]
  })

  let timer: NodeJS.Timeout | null = null
  let cursor = 0
  let t0 = 0n
  const tick = () => {
    const due = Math.floor((Number(now() - t0) * job.rate) / 1e9) - counters.sent
    for (let k = 0; k < due; k++) {
      const p = pubs[cursor]
      if (!p) break
      cursor = cursor + 1 === pubs.length ? 0 : cursor + 1
      const out = Buffer.from(p.template)
      out.writeBigUInt64BE(now(), p.payloadOffset)
      p.socket.write(out)
      counters.sent++
    }
  }
  // A 1 ms timer: spinning on setImmediate would pace more smoothly, but measured here it starves
  // the subscriber's process on the shared generator core (p50 above 1 ms).
  return {
    counters,
    start() {
      t0 = now()
      timer = setInterval(tick, 1)
    },
    stop() {
      if (timer) clearInterval(timer)
      closing = true
    },
    credit() {},
  }
}
