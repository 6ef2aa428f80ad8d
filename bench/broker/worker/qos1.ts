// QoS 1 publishers with a bounded window of unacknowledged messages each. Nothing else gates
// them: if the broker acknowledges faster than it delivers, they keep going, and the delivered
// fraction at the subscriber shows it. Payload: [u32 publisher index][u32 sequence][zeros].
import type { Job } from '../messages.js'
import { PUBACK, publish } from '../wire.js'
import { type Conn, openConn, openMany } from './client.js'
import { type JobEnv, newCounters, type RunningJob, watchClose } from './job.js'

interface Pub {
  conn: Conn
  index: number
  template: Buffer
  packetIdOffset: number
  payloadOffset: number
  seq: number
  inflight: number
}

export async function qos1Publishers(
  env: JobEnv,
  job: Extract<Job, { kind: 'qos1-publishers' }>,
): Promise<RunningJob> {
  const counters = newCounters()
  let running = false
  let closing = false
  // Packet ids cycle over 1..65535; a window below that keeps the in-flight ids distinct [MQTT-2.3.1-2].
  const window = Math.min(job.window, 65000)

  const fill = (p: Pub) => {
    const k = window - p.inflight
    if (!running || k <= 0) return
    const len = p.template.length
    const out = Buffer.allocUnsafe(k * len)
    for (let j = 0; j < k; j++) {
      const off = j * len
      p.template.copy(out, off)
      const seq = p.seq++
      out.writeUInt16BE((seq % 65535) + 1, off + p.packetIdOffset)
      out.writeUInt32BE(p.index, off + p.payloadOffset)
      out.writeUInt32BE(seq, off + p.payloadOffset + 4)
    }
    p.inflight += k
    counters.sent += k
    p.conn.socket.write(out)
  }

  const conns = await openMany(
    job.count,
    64,
    (i) => openConn(env.target, { clientId: `${job.idPrefix}${i}`, clean: true }),
    (i, err) => {
      counters.failed++
      env.error(`publisher ${i}: ${err.message}`)
    },
  )
  const pubs: Pub[] = []
  conns.forEach((conn, i) => {
    if (!conn) return
    counters.connected++
    watchClose(env, conn.socket, `publisher ${i}`, () => closing)
    const index = job.firstIndex + i
    const t = publish(job.topic.replace('{i}', String(index)), job.payloadSize, 1, env.target.level)
    const p: Pub = {
      conn,
      index,
      template: t.bytes,
      packetIdOffset: t.packetIdOffset,
      payloadOffset: t.payloadOffset,
      seq: 0,
      inflight: 0,
    }
    conn.handler = (first) => {
      if (first >> 4 !== PUBACK) return
      counters.acked++
      p.inflight--
    }
    conn.afterChunk = () => fill(p)
    pubs.push(p)
  })

  return {
    counters,
    start() {
      running = true
      for (const p of pubs) fill(p)
    },
    stop() {
      running = false
      closing = true
    },
    credit() {},
  }
}
