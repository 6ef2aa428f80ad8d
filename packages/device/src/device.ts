/**
 * StrataDevice: one device's session with the platform. It composes the parts, each in its
 * own module: the self-healing connection (connection.ts), the telemetry pipeline and its
 * offline buffer (telemetry.ts, buffer.ts), request/reply (rotation.ts), and the dispatch
 * of commands and config to handlers (here).
 */
import { abortable } from './abort.js'
import { Backoff } from './backoff.js'
import { Connection, type DisconnectInfo, type InboundMessage } from './connection.js'
import { Emitter } from './emitter.js'
import { ConnectionLostError, DeviceOptionsError, type PublishRefusedError } from './errors.js'
import { type Command, type CommandHandler, type ConfigHandler, deviceMessage } from './messages.js'
import {
  type CertificateAuth,
  checkDeviceOptions,
  type DeviceOptions,
  type ResolvedTelemetryOptions,
  resolveTelemetryOptions,
} from './options.js'
import type { TelemetryCallOptions, TelemetryInput } from './points.js'
import { type RotateCertificateOptions, type RotatedCertificate, rotateCertificate } from './rotation.js'
import { TelemetryPipeline } from './telemetry.js'

export interface DeviceStats {
  /** Connected now (CONNACK accepted). */
  connected: boolean
  /** Telemetry points held in the buffer: waiting, or sent and not yet acknowledged. */
  queuedPoints: number
  /** Their estimated size (the bound `telemetry.buffer.maxBytes` applies to). */
  queuedBytes: number
  inflightBatches: number
  /** Telemetry batches and points the broker acknowledged (PUBACK). */
  sentBatches: number
  sentPoints: number
  /** Points removed by the drop-oldest policy to make room. */
  droppedPoints: number
  /** Points of batches the broker refused for good (see the `error` event). */
  rejectedPoints: number
  /**
   * Batches sent again because no PUBACK came (the connection ended, or a transient
   * refusal). The broker may have had the first copy: each is a possible duplicate.
   */
  resentBatches: number
  /** Network connections made after the first. */
  reconnects: number
}

export interface DeviceEvents {
  connect: [{ reconnect: boolean }]
  disconnect: [DisconnectInfo]
  /** Connection refusals, transport errors, refused batches or subscriptions, handler failures. */
  error: [Error]
  /** Points dropped to make room: `points` now, `total` since the start. */
  drop: [{ points: number; total: number }]
}

export interface EventOptions {
  /** Default 1. QoS 0 is sent only when connected, and may be lost. */
  qos?: 0 | 1
  /** Waits for a connection and for the PUBACK until it aborts. */
  signal?: AbortSignal
}

export interface CloseOptions {
  /** Wait for the buffered telemetry to be acknowledged first (bounded by `signal`). Default false. */
  flush?: boolean
  signal?: AbortSignal
}

export class StrataDevice {
  readonly deviceId: string
  private readonly connection: Connection
  private readonly pipeline: TelemetryPipeline
  private readonly emitter: Emitter<DeviceEvents>
  private readonly commandHandlers = new Set<CommandHandler>()
  private readonly configHandlers = new Set<ConfigHandler>()
  private readonly protocolVersion: 4 | 5
  private readonly prefix: string
  private closing: Promise<void> | undefined

  /** Use createDevice() or connectDevice(). */
  constructor(options: DeviceOptions) {
    checkDeviceOptions(options)
    this.deviceId = options.deviceId
    this.protocolVersion = options.protocolVersion ?? 5
    this.prefix = `devices/${options.deviceId}/`
    const telemetry: Readonly<ResolvedTelemetryOptions> = resolveTelemetryOptions(options.telemetry)
    const logger = options.logger
    this.emitter = new Emitter<DeviceEvents>((err) =>
      logger?.error({ err: String(err) }, 'device event listener threw'),
    )
    const auth = options.auth
    const cert = 'cert' in auth ? (auth as CertificateAuth) : undefined
    const tls = { ...options.tls }
    if (cert) {
      tls.ca ??= cert.ca
      Object.assign(tls, { cert: cert.cert, key: cert.key })
    }
    let backoff: Backoff
    try {
      backoff = new Backoff(options.reconnect)
    } catch (err) {
      throw new DeviceOptionsError(`reconnect: ${(err as Error).message}`)
    }
    this.connection = new Connection({
      url: options.url,
      clientId: options.deviceId,
      ...('token' in auth ? { username: options.deviceId, password: auth.token } : {}),
      protocolVersion: this.protocolVersion,
      keepaliveSeconds: options.keepaliveSeconds ?? 60,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      tls,
      backoff,
      ...(logger ? { logger } : {}),
    })
    const connection = this.connection
    this.pipeline = new TelemetryPipeline(
      options.deviceId,
      telemetry,
      {
        get connected() {
          return connection.connected
        },
        publish: (topic, payload, o) => connection.publish(topic, payload, o),
      },
      {
        onDrop: (points) =>
          this.emitter.emit('drop', { points, total: this.pipeline.counters().droppedPoints }),
        onRejected: (err: PublishRefusedError, points) => {
          logger?.error({ reasonCode: err.reasonCode, points }, 'telemetry batch refused by the broker')
          this.emitter.emit('error', err)
        },
      },
    )
    const events = connection.events
    events.on('connect', (info) => {
      this.emitter.emit('connect', info)
      this.pipeline.pump()
    })
    events.on('disconnect', (info) => this.emitter.emit('disconnect', info))
    events.on('error', (err) => this.emitter.emit('error', err))
    events.on('message', (m) => this.dispatch(m))
    options.signal?.addEventListener('abort', () => void this.close(), { once: true })
    if (options.signal?.aborted) void this.close()
    else connection.start()
  }

  /** Listens to connect, disconnect, error and drop; returns the function that stops it. */
  on<K extends keyof DeviceEvents>(event: K, listener: (...args: DeviceEvents[K]) => void): () => void {
    return this.emitter.on(event, listener)
  }

  /** Resolves once connected; rejects when the device is closed, refused for good, or the signal aborts. */
  whenConnected(signal?: AbortSignal): Promise<void> {
    return this.connection.whenConnected(signal)
  }

  /**
   * Queues points for the next batch: an array of `{ metric, value, ts? }`, or a record of
   * metric → value at `options.ts` (default now). Invalid points throw TelemetryFormatError
   * and nothing of the call is queued; with `whenFull: 'reject'`, a full buffer throws
   * BufferFullError. Returns at once: the points are sent at least once, or counted as
   * dropped or rejected (see docs/device-sdk.md).
   */
  telemetry(input: TelemetryInput, options?: TelemetryCallOptions): void {
    this.pipeline.add(input, options)
  }

  /** Sends what is buffered now, at once, and resolves when all of it has left the buffer. */
  flush(signal?: AbortSignal): Promise<void> {
    return this.pipeline.flush(signal)
  }

  /**
   * Publishes `{"name", "ts", "data"}` to `devices/{id}/events` (JSON). At QoS 1 it resolves
   * at PUBACK, waiting for a connection and sending again after a lost one until `signal`
   * aborts: at least once. Events are not buffered beyond the call.
   */
  async event(name: string, data?: unknown, options: EventOptions = {}): Promise<void> {
    if (typeof name !== 'string' || name === '') throw new DeviceOptionsError('an event needs a name')
    const payload = JSON.stringify({ name, ts: Date.now(), ...(data === undefined ? {} : { data }) })
    const topic = `${this.prefix}events`
    const qos = options.qos ?? 1
    for (;;) {
      await this.connection.whenConnected(options.signal)
      const sent = this.connection.publish(topic, payload, { qos, contentType: 'application/json' })
      try {
        await abortable<void>(options.signal, (resolve, reject) => {
          sent.then(resolve, reject)
          return () => {}
        })
        return
      } catch (err) {
        if (!(err instanceof ConnectionLostError) || qos === 0) throw err
      }
    }
  }

  /**
   * Calls `handler` for each command on `devices/{id}/commands/#` (subscribed with the
   * first handler, and again at every reconnect). Commands sent while the device is offline
   * are not kept for it (clean session). Returns the function that removes the handler.
   */
  onCommand(handler: CommandHandler): () => void {
    return this.addHandler(this.commandHandlers, handler, `${this.prefix}commands/#`)
  }

  /** Calls `handler` for each message on `devices/{id}/config` (a retained one arrives at each connect). */
  onConfig(handler: ConfigHandler): () => void {
    return this.addHandler(this.configHandlers, handler, `${this.prefix}config`)
  }

  /** Asks the platform CA for a certificate for a new key (rotation.ts). */
  rotateCertificate(options: RotateCertificateOptions): Promise<RotatedCertificate> {
    return rotateCertificate(this.connection, this.deviceId, this.protocolVersion, options)
  }

  stats(): DeviceStats {
    const c = this.pipeline.counters()
    return {
      connected: this.connection.connected,
      queuedPoints: c.queuedPoints,
      queuedBytes: c.queuedBytes,
      inflightBatches: c.inflightBatches,
      sentBatches: c.sentBatches,
      sentPoints: c.sentPoints,
      droppedPoints: c.droppedPoints,
      rejectedPoints: c.rejectedPoints,
      resentBatches: c.resentBatches,
      reconnects: this.connection.reconnects,
    }
  }

  /**
   * Disconnects and stops reconnecting. Points still buffered are lost with the process:
   * pass `flush: true` (and a signal to bound the wait) to send them first, and read
   * `stats().queuedPoints` afterwards for what was left. Safe to call twice.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= (async () => {
      if (options.flush) await this.pipeline.flush(options.signal).catch(() => undefined)
      this.pipeline.stop()
      await this.connection.close()
    })()
    return this.closing
  }

  private addHandler<H>(set: Set<H>, handler: H, filter: string): () => void {
    if (typeof handler !== 'function') throw new DeviceOptionsError('a handler must be a function')
    set.add(handler)
    if (set.size === 1)
      this.connection.subscribe(filter, { qos: 1, keep: true }).catch((err: Error) => {
        if (!this.connection.closed) this.emitter.emit('error', err)
      })
    return () => {
      if (set.delete(handler) && set.size === 0) void this.connection.unsubscribe(filter)
    }
  }

  private dispatch(m: InboundMessage): void {
    const commands = `${this.prefix}commands/`
    if (m.topic.startsWith(commands)) {
      const command: Command = { ...deviceMessage(m), name: m.topic.slice(commands.length) }
      for (const h of [...this.commandHandlers]) this.run(() => h(command))
    } else if (m.topic === `${this.prefix}config`) {
      const config = deviceMessage(m)
      for (const h of [...this.configHandlers]) this.run(() => h(config))
    }
  }

  private run(call: () => void | Promise<void>): void {
    try {
      const result = call()
      if (result instanceof Promise) result.catch((err: unknown) => this.emitter.emit('error', toError(err)))
    } catch (err) {
      this.emitter.emit('error', toError(err))
    }
  }
}

const toError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)))

/** A device that connects (and reconnects) in the background; telemetry is buffered from the start. */
export function createDevice(options: DeviceOptions): StrataDevice {
  return new StrataDevice(options)
}

/**
 * A device, once connected. Rejects, and closes the device, on a permanent refusal
 * (ConnectionRefusedError: wrong token, not authorized...), or when `wait.signal` or
 * `options.signal` aborts first; transient failures (broker down) are retried with back-off
 * meanwhile. `wait.signal` bounds only this wait; `options.signal` is the device's lifetime.
 */
export async function connectDevice(
  options: DeviceOptions,
  wait: { signal?: AbortSignal } = {},
): Promise<StrataDevice> {
  const device = new StrataDevice(options)
  const signals = [wait.signal, options.signal].filter((s): s is AbortSignal => s !== undefined)
  try {
    await device.whenConnected(signals.length > 1 ? AbortSignal.any(signals) : signals[0])
    return device
  } catch (err) {
    await device.close()
    throw err
  }
}
