/**
 * One logical MQTT connection that survives its network connections. Each attempt is a
 * fresh mqtt.js client with its own reconnect turned off: this module decides when to try
 * again (jittered exponential back-off), re-makes the subscriptions it was asked to keep,
 * and fails every operation still waiting on a connection that ended, so callers (the
 * telemetry buffer) know exactly what was not acknowledged. mqtt.js's own offline queue and
 * in-flight resend are never used: a clean start each time, no state hidden in two places.
 *
 * Runs in browsers over ws:// and wss:// (mqtt.js's browser build); nothing here imports
 * a Node module.
 */
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt'
import { abortable } from './abort.js'
import type { Backoff } from './backoff.js'
import { Emitter } from './emitter.js'
import {
  ConnectionLostError,
  ConnectionRefusedError,
  DeviceClosedError,
  PublishRefusedError,
  SubscribeRefusedError,
} from './errors.js'
import type { Logger, Pem } from './options.js'

export interface ConnectionSettings {
  url: string
  clientId: string
  username?: string
  password?: string
  protocolVersion: 4 | 5
  keepaliveSeconds: number
  connectTimeoutMs: number
  tls: { ca?: Pem; cert?: Pem; key?: Pem; rejectUnauthorized?: boolean; servername?: string }
  backoff: Backoff
  logger?: Logger
}

/** A received PUBLISH, with the MQTT 5 properties a request/reply or a command needs. */
export interface InboundMessage {
  topic: string
  payload: Uint8Array
  retain: boolean
  contentType?: string
  responseTopic?: string
  correlationData?: Uint8Array
  userProperties?: Record<string, string | string[]>
}

export interface OutboundOptions {
  qos: 0 | 1
  contentType?: string
  correlationData?: Uint8Array
  responseTopic?: string
}

export interface DisconnectInfo {
  /** The server's DISCONNECT reason code (MQTT 5), when it sent one. */
  reasonCode?: number
  /** The transport error that ended it, if any. */
  error?: Error
  /** True when `close()` ended it. */
  closed?: boolean
}

export interface ConnectionEvents {
  /** CONNACK accepted and the kept subscriptions re-made. */
  connect: [{ reconnect: boolean }]
  disconnect: [DisconnectInfo]
  message: [InboundMessage]
  error: [Error]
}

type State = 'idle' | 'connecting' | 'connected' | 'waiting' | 'failed' | 'closed'

/**
 * CONNACK codes after which the same CONNECT cannot succeed: 3.1.1 return codes 1, 2, 4, 5
 * [MQTT-3.2.2.3]; MQTT 5 0x84 unsupported version, 0x85 client id, 0x86 bad credentials,
 * 0x87 not authorized, 0x8A banned, 0x8C bad authentication method [MQTT-3.2.2.2].
 */
function isPermanentRefusal(version: 4 | 5, code: number): boolean {
  return version === 5 ? [0x84, 0x85, 0x86, 0x87, 0x8a, 0x8c].includes(code) : [1, 2, 4, 5].includes(code)
}

/** The numeric reason code mqtt.js attaches to an error, if any. */
export function reasonCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const code = (err as { code?: unknown }).code
  if (typeof code === 'number') return code
  const granted = (err as { packet?: { granted?: unknown } }).packet?.granted
  if (Array.isArray(granted)) {
    const refused = granted.find((g): g is number => typeof g === 'number' && g >= 0x80)
    if (refused !== undefined) return refused
  }
  return undefined
}

/**
 * mqtt.js types payloads as Node Buffers but writes any Uint8Array (Node's sockets and its
 * browser stream both take one); this is the one place the SDK says so.
 */
const asMqttBytes = (bytes: Uint8Array): Buffer => bytes as unknown as Buffer

export class Connection {
  readonly events: Emitter<ConnectionEvents>
  private state: State = 'idle'
  private client: MqttClient | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private everConnected = false
  private failure: ConnectionRefusedError | undefined
  /** Rejecters of the operations waiting on the current network connection. */
  private pending = new Set<(err: Error) => void>()
  private readonly waiters = new Set<{ resolve: () => void; reject: (err: Error) => void }>()
  /** Filters re-subscribed at every connect (clean start: the broker keeps nothing). */
  private readonly kept = new Map<string, 0 | 1>()
  /** Network connections made after the first. */
  reconnects = 0

  constructor(private readonly settings: Readonly<ConnectionSettings>) {
    this.events = new Emitter<ConnectionEvents>((err) =>
      settings.logger?.error({ err: String(err) }, 'device event listener threw'),
    )
  }

  get connected(): boolean {
    return this.state === 'connected'
  }

  get closed(): boolean {
    return this.state === 'closed'
  }

  start(): void {
    if (this.state !== 'idle') return
    this.attempt()
  }

  /**
   * Resolves once connected. Rejects with the ConnectionRefusedError that stopped the
   * connection (a permanent refusal before it ever connected), with DeviceClosedError, or
   * with `signal.reason`.
   */
  whenConnected(signal?: AbortSignal): Promise<void> {
    if (this.state === 'connected') return Promise.resolve()
    if (this.state === 'closed') return Promise.reject(new DeviceClosedError())
    if (this.state === 'failed' && this.failure) return Promise.reject(this.failure)
    return abortable<void>(signal, (resolve, reject) => {
      const waiter = { resolve, reject }
      this.waiters.add(waiter)
      return () => this.waiters.delete(waiter)
    })
  }

  /**
   * Publishes on the current connection. QoS 1 resolves at PUBACK; rejects with
   * PublishRefusedError (PUBACK reason code 0x80 or more) or ConnectionLostError (not
   * connected, or the connection ended first: the message may or may not have arrived).
   */
  publish(topic: string, payload: Uint8Array | string, options: OutboundOptions): Promise<void> {
    const client = this.client
    if (this.state !== 'connected' || client === undefined)
      return Promise.reject(
        this.state === 'closed' ? new DeviceClosedError() : new ConnectionLostError('not connected'),
      )
    const opts: IClientPublishOptions = { qos: options.qos, retain: false }
    if (this.settings.protocolVersion === 5) {
      const properties: NonNullable<IClientPublishOptions['properties']> = {}
      if (options.contentType !== undefined) properties.contentType = options.contentType
      if (options.correlationData !== undefined)
        properties.correlationData = asMqttBytes(options.correlationData)
      if (options.responseTopic !== undefined) properties.responseTopic = options.responseTopic
      opts.properties = properties
    }
    return this.track((resolve, reject) => {
      client.publish(topic, typeof payload === 'string' ? payload : asMqttBytes(payload), opts, (err) => {
        if (!err) resolve()
        else {
          const code = reasonCodeOf(err)
          reject(
            code !== undefined && code >= 0x80
              ? new PublishRefusedError(code, topic, { cause: err })
              : new ConnectionLostError(err.message, { cause: err }),
          )
        }
      })
    })
  }

  /**
   * Subscribes on the current connection, waiting for one if needed. With `keep`, the
   * filter is subscribed again at every later connect. Rejects with SubscribeRefusedError
   * (and forgets a kept filter) when the broker refuses it.
   */
  async subscribe(
    filter: string,
    options: { qos?: 0 | 1; keep?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    const qos = options.qos ?? 1
    if (options.keep) this.kept.set(filter, qos)
    for (;;) {
      await this.whenConnected(options.signal)
      try {
        await this.subscribeNow(filter, qos)
        return
      } catch (err) {
        if (err instanceof SubscribeRefusedError) this.kept.delete(filter)
        if (!(err instanceof ConnectionLostError) || this.state === 'closed') throw err
        // The connection ended before SUBACK: try again on the next one.
      }
    }
  }

  /** Stops keeping `filter`; unsubscribes when connected (best effort). */
  async unsubscribe(filter: string): Promise<void> {
    this.kept.delete(filter)
    const client = this.client
    if (this.state !== 'connected' || client === undefined) return
    await this.track<void>((resolve) => {
      client.unsubscribe(filter, () => resolve())
    }).catch(() => undefined)
  }

  /**
   * Ends the connection (DISCONNECT when connected) and stops reconnecting. Operations still
   * waiting reject with DeviceClosedError. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.state === 'closed') return
    const wasConnected = this.state === 'connected'
    this.state = 'closed'
    clearTimeout(this.timer)
    const closed = new DeviceClosedError()
    for (const w of [...this.waiters]) w.reject(closed)
    this.failPending(closed)
    const client = this.client
    this.client = undefined
    if (wasConnected) this.events.emit('disconnect', { closed: true })
    if (client === undefined) return
    await new Promise<void>((resolve) => {
      // A graceful end waits for the PUBACKs of what is in flight; do not wait for long.
      const timer = setTimeout(() => {
        client.stream?.destroy()
        resolve()
      }, 1_000)
      client.end(false, {}, () => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  private subscribeNow(filter: string, qos: 0 | 1): Promise<void> {
    const client = this.client
    if (this.state !== 'connected' || client === undefined)
      return Promise.reject(new ConnectionLostError('not connected'))
    return this.track((resolve, reject) => {
      client.subscribe(filter, { qos }, (err, granted) => {
        const code = err ? reasonCodeOf(err) : granted?.find((g) => g.qos >= 0x80)?.qos
        if (code !== undefined && code >= 0x80)
          reject(new SubscribeRefusedError(code, filter, { cause: err }))
        else if (err) reject(new ConnectionLostError(err.message, { cause: err }))
        else resolve()
      })
    })
  }

  /** A promise that also rejects when the current network connection ends. */
  private track<T>(executor: (resolve: (v: T) => void, reject: (err: Error) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (err: Error): void => reject(err)
      this.pending.add(fail)
      executor(
        (v) => {
          this.pending.delete(fail)
          resolve(v)
        },
        (err) => {
          this.pending.delete(fail)
          reject(err)
        },
      )
    })
  }

  private failPending(err: Error): void {
    const pending = this.pending
    this.pending = new Set()
    for (const fail of pending) fail(err)
  }

  private clientOptions(): IClientOptions {
    const s = this.settings
    const options: IClientOptions = {
      clientId: s.clientId,
      protocolVersion: s.protocolVersion,
      clean: true,
      keepalive: s.keepaliveSeconds,
      connectTimeout: s.connectTimeoutMs,
      reconnectPeriod: 0, // this module reconnects, with back-off
      resubscribe: false, // ... and re-makes the subscriptions it keeps
      queueQoSZero: false,
    }
    if (s.username !== undefined) options.username = s.username
    if (s.password !== undefined) options.password = s.password
    if (s.tls.ca !== undefined) options.ca = s.tls.ca
    if (s.tls.cert !== undefined) options.cert = s.tls.cert
    if (s.tls.key !== undefined) options.key = s.tls.key
    if (s.tls.servername !== undefined) options.servername = s.tls.servername
    options.rejectUnauthorized = s.tls.rejectUnauthorized ?? true
    return options
  }

  private attempt(): void {
    if (this.state === 'closed') return
    this.state = 'connecting'
    let client: MqttClient
    try {
      client = mqtt.connect(this.settings.url, this.clientOptions())
    } catch (err) {
      // Options mqtt.js cannot use at all (a scheme this platform has no transport for).
      this.state = 'failed'
      this.failure = new ConnectionRefusedError(0, true, (err as Error).message, { cause: err })
      for (const w of [...this.waiters]) w.reject(this.failure)
      this.events.emit('error', this.failure)
      return
    }
    this.client = client
    const log = this.settings.logger
    let accepted = false
    let refused: ConnectionRefusedError | undefined
    let lastError: Error | undefined
    let serverReason: number | undefined
    const current = (): boolean => this.client === client

    client.on('connect', () => {
      if (!current()) return
      accepted = true
      this.state = 'connected'
      this.settings.backoff.reset()
      const reconnect = this.everConnected
      if (reconnect) this.reconnects++
      this.everConnected = true
      log?.debug({ url: this.settings.url, reconnect }, 'device connected')
      void this.afterConnect(client, reconnect)
    })
    client.on('message', (topic, payload, packet) => {
      if (!current()) return
      const p = packet.properties
      const message: InboundMessage = { topic, payload, retain: packet.retain }
      if (p?.contentType !== undefined) message.contentType = p.contentType
      if (p?.responseTopic !== undefined) message.responseTopic = p.responseTopic
      if (p?.correlationData !== undefined) message.correlationData = p.correlationData
      if (p?.userProperties !== undefined) message.userProperties = p.userProperties
      this.events.emit('message', message)
    })
    client.on('disconnect', (packet) => {
      if (current()) serverReason = packet.reasonCode
    })
    client.on('error', (err) => {
      if (!current()) return
      const code = reasonCodeOf(err)
      if (!accepted && code !== undefined) {
        const permanent = isPermanentRefusal(this.settings.protocolVersion, code)
        refused = new ConnectionRefusedError(
          code,
          permanent,
          `${err.message} (reason code 0x${code.toString(16)})`,
          {
            cause: err,
          },
        )
        this.events.emit('error', refused)
      } else {
        lastError = err
        this.events.emit('error', err)
      }
    })
    client.on('close', () => {
      if (!current()) return
      this.client = undefined
      this.failPending(new ConnectionLostError('the connection ended before the operation completed'))
      client.end(true) // releases mqtt.js's callbacks; its reconnect is off
      if (accepted) {
        const info: DisconnectInfo = {}
        if (serverReason !== undefined) info.reasonCode = serverReason
        if (lastError !== undefined) info.error = lastError
        log?.debug({ reasonCode: serverReason, err: lastError?.message }, 'device disconnected')
        this.events.emit('disconnect', info)
      }
      if (this.state === 'closed') return
      if (refused?.permanent && !this.everConnected) {
        // Wrong credentials or client id before ever connecting: retrying cannot help, and
        // would count against the platform's failed-CONNECT limit.
        this.state = 'failed'
        this.failure = refused
        for (const w of [...this.waiters]) w.reject(refused)
        log?.error({ reasonCode: refused.reasonCode }, 'device connection refused; not retrying')
        return
      }
      this.state = 'waiting'
      const delay = this.settings.backoff.next()
      log?.debug({ delay }, 'device reconnecting after back-off')
      this.timer = setTimeout(() => this.attempt(), delay)
    })
  }

  private async afterConnect(client: MqttClient, reconnect: boolean): Promise<void> {
    for (const [filter, qos] of [...this.kept]) {
      try {
        await this.subscribeNow(filter, qos)
      } catch (err) {
        if (this.client !== client) return
        if (err instanceof SubscribeRefusedError) this.kept.delete(filter)
        this.events.emit('error', err as Error)
      }
    }
    if (this.client !== client || this.state !== 'connected') return
    for (const w of [...this.waiters]) w.resolve()
    this.events.emit('connect', { reconnect })
  }
}
