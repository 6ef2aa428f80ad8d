import type { Duplex } from 'node:stream'
import type { PeerCertificate } from 'node:tls'
import type { Properties, ProtocolVersion, QoS } from '@strata/protocol'
import type { BrokerStore } from './persistence/store.js'

/** The subset of pino's interface the broker logs through (pino satisfies it). */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  child(bindings: Record<string, unknown>): Logger
}

export type Transport = 'tcp' | 'tls' | 'ws' | 'wss' | 'memory'

/** What the transport adapter knows about a connection before any MQTT byte. */
export interface ConnectionInfo {
  transport: Transport
  remoteAddress: string
  remotePort?: number
  /** The verified client certificate (TLS with requestCert), if any. */
  certificate?: PeerCertificate
}

/** The client as the hooks see it once CONNECT is accepted. */
export interface ClientIdentity {
  clientId: string
  username?: string
  protocolVersion: ProtocolVersion
  connection: ConnectionInfo
  /** What `authenticate` attached (device id, roles...), for the authorize hooks. */
  principal?: unknown
}

export interface AuthenticateRequest {
  clientId: string
  username?: string
  password?: Buffer
  protocolVersion: ProtocolVersion
  connection: ConnectionInfo
}

export type AuthenticateResult =
  | {
      ok: true
      principal?: unknown
      /**
       * Who owns the session this client id names (`device:pump-7`, `user:ingest`...). A client
       * whose owner differs from the stored session's is refused (0x85) instead of resuming or
       * taking over someone else's subscriptions, queue and connection. Absent: no ownership.
       */
      sessionOwner?: string
      /** Caps the Session Expiry Interval for this client (0: its session ends with the connection). */
      maxSessionExpiry?: number
    }
  /** reasonCode: an MQTT 5 CONNACK reason code (0x86 bad credentials, 0x87 not authorized, 0x8A banned...). */
  | { ok: false; reasonCode: number; reason?: string }

/**
 * Authentication and authorization, implemented by the platform (a password
 * file today, the device registry next). The authorize hooks run on every
 * PUBLISH and SUBSCRIBE, so they are synchronous: anything they need must be
 * in memory already (the registry caches ACLs per connected client).
 */
export interface BrokerHooks {
  authenticate?(request: AuthenticateRequest): Promise<AuthenticateResult> | AuthenticateResult
  /** false: PUBACK/PUBREC 0x87 for MQTT 5; for 3.1.1 the connection is closed [MQTT-3.3.5-2]. */
  authorizePublish?(client: ClientIdentity, topic: string, qos: QoS, retain: boolean): boolean
  /** false: SUBACK 0x87 (MQTT 5) or 0x80 (3.1.1) for that filter. */
  authorizeSubscribe?(client: ClientIdentity, topicFilter: string, qos: QoS): boolean
  /** Called after a PUBLISH is authorized and, for QoS 1/2, made durable: the platform's tap. */
  onPublish?(client: ClientIdentity | undefined, message: PublishedMessage): void
  /**
   * The platform's ingestion (telemetry into storage), run on an authorized client PUBLISH before
   * it is routed. `message.payload` may be a view of the socket's buffer: copy what you keep.
   * Return undefined to let the message pass; `{ refuse }` to drop it (MQTT 5: PUBACK/PUBREC with
   * that reason code, e.g. 0x99 Payload format invalid; 3.1.1 cannot refuse, so it is acknowledged
   * and dropped); or `{ durable }`: the message is routed, and its PUBACK/PUBREC also waits for that
   * promise (the platform's own write-ahead log), which is how a lagging store slows publishers. A
   * rejected promise withholds the acknowledgement and closes the connection, as a failed journal
   * commit does, so the client sends the message again.
   */
  ingest?(client: ClientIdentity, message: PublishedMessage): IngestResult

  onConnect?(client: ClientIdentity): void
  onDisconnect?(client: ClientIdentity, reason: string): void
}

export type IngestResult = undefined | { refuse: number; reason?: string } | { durable: Promise<void> }

export interface PublishedMessage {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  properties?: Properties
}

/** Every limit is configurable; each default is documented in docs/broker.md. */
export interface BrokerLimits {
  /** Concurrent connections (including ones still in CONNECT). Default 100000. */
  maxConnections: number
  /** Largest packet accepted, and advertised as Maximum Packet Size. Default 1 MiB. */
  maxPacketSize: number
  /** Longest topic name or filter, in UTF-8 bytes. Default 1024. */
  maxTopicLength: number
  /** Most topic levels in a name or filter. Default 32. */
  maxTopicLevels: number
  /** Subscriptions one session may hold. Default 1000. */
  maxSubscriptionsPerClient: number
  /** Unacknowledged QoS 1/2 messages in flight to a client, and our Receive Maximum. Default 100. */
  maxInflight: number
  /** QoS 1/2 messages queued per persistent session (offline or over the window). Default 10000. */
  maxQueuedMessages: number
  /** Bytes buffered to a slow consumer before QoS 0 messages are dropped. Default 1 MiB. */
  maxOutgoingBufferBytes: number
  /** Time allowed from TCP accept to a complete CONNECT, in ms. Default 10000. */
  connectTimeoutMs: number
  /** New connections per source address per second (token bucket). 0 = unlimited. Default 50. */
  connectionRatePerAddress: number
  /** Burst for the per-address bucket. Default 100. */
  connectionRateBurst: number
  /** Topic Alias Maximum we advertise. Default 64. */
  topicAliasMaximum: number
  /** Maximum Session Expiry Interval accepted, seconds. Default 0xFFFFFFFF (no cap). */
  maxSessionExpiryInterval: number
  /** Server Keep Alive: if set, overrides a client's larger or zero keep-alive. Default undefined. */
  serverKeepAlive?: number
  /** Retained messages stored in total. Default 100000. */
  maxRetainedMessages: number
}

export interface BrokerOptions {
  store?: BrokerStore
  hooks?: BrokerHooks
  limits?: Partial<BrokerLimits>
  logger?: Logger
  /** Interval of $SYS statistics publishes in seconds; 0 disables. Default 10. */
  sysInterval?: number
  /** Identifies this broker in $SYS/broker/version. */
  version?: string
}

export interface BrokerStats {
  clientsConnected: number
  clientsTotal: number
  messagesReceived: number
  messagesSent: number
  bytesReceived: number
  bytesSent: number
  publishDropped: number
  retainedCount: number
  subscriptionsCount: number
  uptimeSeconds: number
}

export interface Broker {
  /** Serves one client over any duplex byte stream; the stream is owned by the broker from now on. */
  handle(stream: Duplex, info: ConnectionInfo): void
  /** Publishes as the broker itself (the platform, $SYS). Resolves when durable for QoS > 0. */
  publish(message: PublishedMessage): Promise<void>
  stats(): BrokerStats
  /**
   * Disconnects every connected client the predicate picks (a disabled device, a revoked
   * certificate): MQTT 5 clients first get DISCONNECT with `reasonCode` (0x87 Not authorized,
   * 0x8A Banned...), 3.1.1 clients are closed. Their wills are published as for any
   * server-side disconnect. Returns how many were disconnected.
   */
  disconnectWhere(
    predicate: (client: ClientIdentity) => boolean,
    reasonCode: number,
    reason: string,
    options?: { discardWill?: boolean },
  ): number
  /**
   * Ends a session for good (a deleted device): disconnects its client if connected (MQTT 5:
   * DISCONNECT with `reasonCode`), drops its subscriptions and queued messages, and never
   * publishes its will. Returns false if there was no such session.
   */
  endSession(clientId: string, reasonCode: number, reason: string): boolean
  /**
   * Asks `authorizeSubscribe` again for every subscription of the connected clients the
   * predicate picks, and removes the refused ones (a revoked grant). Returns how many were removed.
   */
  reauthorizeSubscriptions(predicate: (client: ClientIdentity) => boolean): number
  /**
   * Graceful shutdown: refuses new connections, sends MQTT 5 clients DISCONNECT
   * 0x8B Server shutting down, closes every stream, commits and closes the store.
   */
  close(signal?: AbortSignal): Promise<void>
}
