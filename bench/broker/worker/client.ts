// One raw MQTT connection of the load generator: connect, CONNACK, SUBSCRIBE, then a swappable
// per-packet handler. No library client: its per-message cost would be the generator's bottleneck.
import net from 'node:net'
import type { Target } from '../messages.js'
import { CONNACK, connect, type PacketHandler, PacketSplitter, SUBACK, subscribe } from '../wire.js'

export interface ConnOptions {
  clientId: string
  clean: boolean
  keepAlive?: number
  localAddress?: string
  /** CONNACK must arrive within this many ms (default 10,000). */
  timeoutMs?: number
}

export class Conn {
  /** Replaced by the job once the connection is set up. */
  handler: PacketHandler = () => {}
  /** Called after each chunk has been split into packets: the place to flush batched replies. */
  afterChunk: (() => void) | null = null
  private readonly splitter = new PacketSplitter((h, b, s, e) => this.handler(h, b, s, e))

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.splitter.push(chunk)
      this.afterChunk?.()
    })
  }

  /** Resolves on the first packet of `type`, with its body. */
  expect(type: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const onClose = () => reject(new Error(`connection closed while waiting for packet type ${type}`))
      this.socket.once('close', onClose)
      this.handler = (first, buf, start, end) => {
        if (first >> 4 !== type) return
        this.socket.off('close', onClose)
        this.handler = () => {}
        resolve(buf.subarray(start, end))
      }
    })
  }

  async subscribe(filter: string, qos: 0 | 1, level: 4 | 5): Promise<void> {
    const reply = this.expect(SUBACK)
    this.socket.write(subscribe(1, filter, qos, level))
    const body = await reply
    // The return code follows the packet id (and in MQTT 5 the properties); >= 0x80 is a failure.
    const code = body[body.length - 1] as number
    if (code >= 0x80) throw new Error(`SUBSCRIBE ${filter} refused with 0x${code.toString(16)}`)
  }
}

/** Opens a TCP connection, sends CONNECT and waits for a successful CONNACK. */
export function openConn(target: Target, o: ConnOptions): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: target.host,
      port: target.port,
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    })
    // Without TCP_NODELAY small packets wait 20-40 ms behind delayed ACKs (docs ENVIRONMENT.md).
    socket.setNoDelay(true)
    const conn = new Conn(socket)
    const timer = setTimeout(
      () => fail(new Error(`no CONNACK within ${o.timeoutMs ?? 10_000} ms`)),
      o.timeoutMs ?? 10_000,
    )
    const fail = (err: Error) => {
      clearTimeout(timer)
      socket.destroy()
      reject(err)
    }
    socket.once('error', fail)
    conn.expect(CONNACK).then((body) => {
      // 3.1.1: [flags, return code]; 5.0: [flags, reason code, properties...].
      const code = body[1] as number
      socket.off('error', fail)
      socket.on('error', () => {})
      if (code !== 0) fail(new Error(`CONNACK refused ${o.clientId} with 0x${code.toString(16)}`))
      else {
        clearTimeout(timer)
        resolve(conn)
      }
    }, fail)
    socket.once('connect', () => {
      socket.write(
        connect({
          clientId: o.clientId,
          clean: o.clean,
          keepAlive: o.keepAlive ?? 0,
          level: target.level,
          sessionExpiry: o.clean ? 0 : 3600,
        }),
      )
    })
  })
}

/** Opens `count` connections with at most `concurrency` handshakes at a time. */
export async function openMany(
  count: number,
  concurrency: number,
  open: (i: number) => Promise<Conn>,
  onError: (i: number, err: Error) => void,
): Promise<(Conn | null)[]> {
  const out: (Conn | null)[] = new Array(count).fill(null)
  let next = 0
  const lane = async () => {
    while (next < count) {
      const i = next++
      try {
        out[i] = await open(i)
      } catch (err) {
        onError(i, err as Error)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane))
  return out
}
