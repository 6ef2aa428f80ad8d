import type { EventEmitter } from 'node:events'
import { once } from 'node:events'
import { Duplex } from 'node:stream'
import type { Packet, PacketOfType, ProtocolVersion, PublishPacket } from '@strata/protocol'
import { encodePacket, PacketParser } from '@strata/protocol'
import mqtt from 'mqtt'
import type { Broker, BrokerOptions, ConnectionInfo } from '../src/index.js'
import { createBroker } from '../src/index.js'

/**
 * One end of an in-memory byte pipe. Writes complete only once the peer
 * reads (like a socket with a full window), so a client that stops reading
 * makes the broker's writableLength grow: what the slow-consumer limit sees.
 */
class PipeEnd extends Duplex {
  peer!: PipeEnd
  private waiting: (() => void) | undefined

  override _read(): void {
    const cb = this.peer.waiting
    if (cb !== undefined) {
      this.peer.waiting = undefined
      cb()
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.peer.destroyed || this.peer.push(chunk)) cb()
    else this.waiting = cb
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null)
    cb()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const peer = this.peer
    if (!peer.destroyed) {
      peer.push(null)
      process.nextTick(() => peer.destroy())
    }
    cb(err)
  }
}

export function duplexPair(highWaterMark = 64 * 1024): [client: Duplex, server: Duplex] {
  const a = new PipeEnd({
    readableHighWaterMark: highWaterMark,
    writableHighWaterMark: highWaterMark,
    allowHalfOpen: false,
  })
  const b = new PipeEnd({
    readableHighWaterMark: highWaterMark,
    writableHighWaterMark: highWaterMark,
    allowHalfOpen: false,
  })
  a.peer = b
  b.peer = a
  return [a, b]
}

export const memoryInfo = (remoteAddress = '10.0.0.1'): ConnectionInfo => ({
  transport: 'memory',
  remoteAddress,
})

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  return createBroker({ sysInterval: 0, ...options })
}

/** An mqtt.js client over an in-memory stream into `broker`; resolves once connected (or on its error). */
export async function mqttClient(
  broker: Broker,
  options: mqtt.IClientOptions = {},
  info: ConnectionInfo = memoryInfo(),
): Promise<mqtt.MqttClient> {
  const client = new mqtt.MqttClient(
    () => {
      const [c, s] = duplexPair()
      broker.handle(s, info)
      return c as never
    },
    { protocolVersion: 5, reconnectPeriod: 0, keepalive: 0, connectTimeout: 5000, ...options },
  )
  await Promise.race([
    once(client as unknown as EventEmitter, 'connect'),
    once(client as unknown as EventEmitter, 'error').then(([err]: unknown[]) => {
      throw err
    }),
  ])
  return client
}

export async function endClient(client: mqtt.MqttClient): Promise<void> {
  await client.endAsync(true)
}

/** A client speaking raw packets through the codec, for what mqtt.js would never send. */
export class RawClient {
  readonly stream: Duplex
  readonly received: Packet[] = []
  closed = false
  private readonly parser: PacketParser
  private waiters: Array<() => void> = []

  constructor(
    broker: Broker,
    public version: ProtocolVersion = 5,
    info: ConnectionInfo = memoryInfo(),
  ) {
    const [c, s] = duplexPair()
    this.stream = c
    this.parser = new PacketParser({ protocolVersion: version })
    broker.handle(s, info)
    c.on('data', (chunk: Buffer) => {
      this.parser.push(chunk, (p) => this.received.push(p))
      this.wake()
    })
    c.on('end', () => this.onClose())
    c.on('close', () => this.onClose())
    c.on('error', () => this.onClose())
  }

  send(packet: Packet): void {
    this.stream.write(encodePacket(packet, this.version))
  }

  write(bytes: Buffer | number[]): void {
    this.stream.write(Buffer.from(bytes))
  }

  /** Sends CONNECT and returns the CONNACK. */
  async connect(
    fields: Partial<Extract<Packet, { type: 'connect' }>> = {},
  ): Promise<Extract<Packet, { type: 'connack' }>> {
    this.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: this.version,
      clean: true,
      keepAlive: 0,
      clientId: `raw-${Math.random().toString(36).slice(2)}`,
      ...fields,
    })
    return this.expect('connack')
  }

  /** The next received packet (in order), failing after `ms`. */
  async next(ms = 2000): Promise<Packet> {
    const deadline = Date.now() + ms
    while (this.received.length === 0) {
      if (this.closed) throw new Error('connection closed')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('timeout waiting for a packet')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
    return this.received.shift() as Packet
  }

  async expect<T extends Packet['type']>(type: T, ms = 2000): Promise<PacketOfType<T>> {
    const p = await this.next(ms)
    if (p.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(p)}`)
    return p as PacketOfType<T>
  }

  /** Resolves once the broker closed the connection; returns the packets it sent before. */
  async waitClosed(ms = 3000): Promise<Packet[]> {
    const deadline = Date.now() + ms
    while (!this.closed) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('timeout waiting for close')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50))
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
    return this.received.splice(0)
  }

  /** Waits `ms` and returns whatever arrived. */
  async drain(ms = 50): Promise<Packet[]> {
    await new Promise((r) => setTimeout(r, ms))
    return this.received.splice(0)
  }

  end(): void {
    this.stream.destroy()
  }

  private onClose(): void {
    this.closed = true
    this.wake()
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }
}

/** A PUBLISH packet for raw clients: `size` bytes of payload, packet id only when given. */
export const pub = (topic: string, qos: 0 | 1 | 2, packetId?: number, size = 1): PublishPacket => ({
  type: 'publish',
  topic,
  payload: Buffer.alloc(size, 120),
  qos,
  retain: false,
  dup: false,
  ...(packetId ? { packetId } : {}),
})

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls `fn` until it returns true, failing after `ms`. */
export async function until(fn: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`)
    await delay(5)
  }
}
