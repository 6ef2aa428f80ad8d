// Fan-in and fan-out at QoS 0: publishers gated by the parent's credit, and counting subscribers.
// The gate keeps at most a fixed number of messages between publish and receipt, so each broker
// is driven at the highest rate it sustains without building unbounded queues (issue 2, section 6).
import type { Job } from '../messages.js'
import { PUBLISH, puback, publish, publishPayloadOffset } from '../wire.js'
import { type Conn, openConn, openMany } from './client.js'
import { type JobEnv, newCounters, type RunningJob, watchClose } from './job.js'

interface Pub {
  conn: Conn
  /** `batch` copies of the same PUBLISH, so that a batch is one write of a slice. */
  batchBytes: Buffer
  packetLength: number
  blocked: boolean
}

export async function gatedPublishers(
  env: JobEnv,
  job: Extract<Job, { kind: 'gated-publishers' }>,
): Promise<RunningJob> {
  const counters = newCounters()
  let closing = false
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
    const topic = job.topic.replace('{i}', String(job.firstIndex + i))
    const one = publish(topic, job.payloadSize, 0, env.target.level).bytes
    pubs.push({
      conn,
      batchBytes: Buffer.concat(Array.from({ length: job.batch }, () => one)),
      packetLength: one.length,
      blocked: false,
    })
  })
  let total = 0
  let cursor = 0
  let scheduled = false
  let running = false

  const schedule = () => {
    if (scheduled || !running) return
    scheduled = true
    setImmediate(pump)
  }
  // One pass gives each unblocked socket at most one write of up to `batch` packets.
  const pump = () => {
    scheduled = false
    if (!running) return
    let avail = total - counters.sent
    let writable = 0
    const n = pubs.length
    for (let k = 0; k < n && avail > 0; k++) {
      const p = pubs[cursor] as Pub
      cursor = cursor + 1 === n ? 0 : cursor + 1
      if (p.blocked) continue
      const m = Math.min(avail, job.batch)
      const ok = p.conn.socket.write(p.batchBytes.subarray(0, m * p.packetLength))
      counters.sent += m
      avail -= m
      if (ok) writable++
      else {
        p.blocked = true
        p.conn.socket.once('drain', () => {
          p.blocked = false
          schedule()
        })
      }
    }
    if (avail > 0 && writable > 0) schedule()
  }

  return {
    counters,
    start() {
      running = true
      schedule()
    },
    stop() {
      running = false
      closing = true
    },
    credit(t) {
      total = t
      schedule()
    },
  }
}

/**
 * Subscribers that count every PUBLISH and, at QoS 1, acknowledge each one (one write per chunk).
 * With `unique`, payloads carry (publisher index, sequence) and duplicates are not counted twice:
 * a broker that acknowledged a message and then dropped it has not delivered it.
 */
export async function subscribers(
  env: JobEnv,
  job: Extract<Job, { kind: 'subscribers' }>,
): Promise<RunningJob> {
  const counters = newCounters()
  const level = env.target.level
  let closing = false
  const seen: Uint8Array[] = []
  const markSeen = (pub: number, seq: number): boolean => {
    let bits = seen[pub]
    const byte = seq >>> 3
    if (!bits || byte >= bits.length) {
      const grown = new Uint8Array(Math.max(1024, (byte + 1) * 2))
      if (bits) grown.set(bits)
      seen[pub] = bits = grown
    }
    const mask = 1 << (seq & 7)
    if ((bits[byte] as number) & mask) return false
    bits[byte] = (bits[byte] as number) | mask
    return true
  }

  let lastReported = 0
  const report = () => {
    if (counters.received !== lastReported) {
      lastReported = counters.received
      env.send({ type: 'progress', received: counters.received })
    }
  }
  const timer = setInterval(report, 2)

  const conns = await openMany(
    job.count,
    64,
    async (i) => {
      const conn = await openConn(env.target, { clientId: `${job.idPrefix}${i}`, clean: job.clean })
      await conn.subscribe(job.filter, job.qos, level)
      return conn
    },
    (i, err) => {
      counters.failed++
      env.error(`subscriber ${i}: ${err.message}`)
    },
  )
  conns.forEach((conn, i) => {
    if (!conn) return
    counters.connected++
    watchClose(env, conn.socket, `subscriber ${i}`, () => closing)
    let acks: Buffer[] = []
    conn.handler = (first, buf, start, end) => {
      if (first >> 4 !== PUBLISH) return
      counters.received++
      if (job.unique) {
        const p = publishPayloadOffset(first, buf, start, level)
        if (p + 8 <= end && markSeen(buf.readUInt32BE(p), buf.readUInt32BE(p + 4))) counters.unique++
      }
      if ((first & 0x06) !== 0) {
        const idAt = start + 2 + buf.readUInt16BE(start)
        acks.push(puback(buf.readUInt16BE(idAt)))
      }
    }
    conn.afterChunk = () => {
      if (acks.length > 0) {
        conn.socket.write(acks.length === 1 ? (acks[0] as Buffer) : Buffer.concat(acks))
        acks = []
      }
      if (counters.received - lastReported >= 1024) report()
    }
  })

  return {
    counters,
    start() {},
    stop() {
      closing = true
      clearInterval(timer)
      report()
    },
    credit() {},
  }
}
