import type { Duplex } from 'node:stream'
import type { Packet } from '@strata/protocol'
import { ReasonCode, validateTopicName } from '@strata/protocol'
import { Connection, type ConnectionHost, ConnState } from './connection.js'
import type { BrokerContext } from './context.js'
import { Counters } from './counters.js'
import { Delivery } from './delivery.js'
import { dispatch } from './dispatch.js'
import { Durability } from './durability.js'
import { KeepAliveSweep } from './keep-alive.js'
import { ConnectionRateLimiter, resolveLimits } from './limits.js'
import { silentLogger } from './logger.js'
import { makeStoredMessage } from './message.js'
import type {
  Broker,
  BrokerHooks,
  BrokerLimits,
  BrokerOptions,
  BrokerStats,
  ClientIdentity,
  ConnectionInfo,
  Logger,
  PublishedMessage,
} from './options.js'
import { MemoryStore } from './persistence/index.js'
import type { BrokerStore, RecoveredState } from './persistence/store.js'
import { RetainedIndex } from './retained.js'
import { Router } from './router.js'
import type { Session } from './session.js'
import { SessionRegistry } from './sessions.js'
import { SubscriptionIndex } from './subscriptions.js'
import { SysTopics } from './sys-topics.js'

/** How often the keep-alive sweep runs; keep-alive is checked to this precision. */
const SWEEP_MS = 500
/** How long close() lets streams drain before destroying them. */
const CLOSE_DRAIN_MS = 1000

/*
 * Module map (one job each):
 *   connection.ts       bytes <-> packets, batched writes, connect timeout
 *   dispatch.ts         packet -> flow, by connection state
 *   connect-flow.ts     CONNECT as named steps; CONNACK
 *   publish-flow.ts     inbound PUBLISH/PUBREL (QoS 0/1/2, aliases, authorization)
 *   subscribe-flow.ts   SUBSCRIBE/UNSUBSCRIBE, retained on subscribe
 *   disconnect-flow.ts  DISCONNECT from the client
 *   router.ts           one accepted message -> deliveries (overlaps, shared groups, retained set)
 *   delivery.ts         outbound QoS 0/1/2: window, packet ids, queue, redelivery, topic aliases
 *   durability.ts       acks only after store.commit(); back-pressure holds
 *   sessions.ts         session lifecycle: open/resume, expiry, wills, recovery
 *   subscriptions.ts / retained.ts   topic tries
 *   keep-alive.ts, limits.ts, sys-topics.ts
 */

/**
 * Creates a broker over a store (default: an in-memory one), recovering the
 * store's sessions, queues and retained messages first.
 */
export async function createBroker(options: BrokerOptions = {}): Promise<Broker> {
  const store = options.store ?? new MemoryStore()
  const state = await store.open()
  return new BrokerImpl(options, store, state)
}

class BrokerImpl implements Broker, BrokerContext, ConnectionHost {
  readonly limits: Readonly<BrokerLimits>
  readonly hooks: BrokerHooks
  readonly log: Logger
  readonly counters = new Counters()
  readonly subscriptions = new SubscriptionIndex<Session>()
  readonly retained = new RetainedIndex()
  readonly durability: Durability
  readonly delivery: Delivery
  readonly router: Router
  readonly sessions: SessionRegistry
  readonly connected = new Set<Connection>()
  private readonly all = new Set<Connection>()
  private readonly rate: ConnectionRateLimiter
  private readonly sweep: KeepAliveSweep
  private readonly sys: SysTopics
  private messageId: number
  private flushList: Connection[] = []
  private flushQueued = false
  private closing: Promise<void> | undefined

  constructor(
    options: BrokerOptions,
    readonly store: BrokerStore,
    state: RecoveredState,
  ) {
    this.limits = resolveLimits(options.limits)
    this.hooks = options.hooks ?? {}
    this.log = options.logger ?? silentLogger
    this.messageId = state.nextMessageId
    this.durability = new Durability(store, this.hooks, this.log)
    this.delivery = new Delivery(this)
    this.router = new Router(this, this.delivery)
    this.sessions = new SessionRegistry(this, this.delivery, this.router)
    const now = Date.now()
    for (const message of state.retained.values()) {
      // [MQTT-3.3.2-5] a retained message whose Message Expiry passed while we were down is gone.
      if (message.expiresAt !== undefined && message.expiresAt <= now) store.setRetained(message.topic, null)
      else this.retained.set(message)
    }
    this.sessions.recover(state)
    this.rate = new ConnectionRateLimiter(
      this.limits.connectionRatePerAddress,
      this.limits.connectionRateBurst,
    )
    let sweeps = 0
    this.sweep = new KeepAliveSweep(this.connected, SWEEP_MS, () => {
      if (++sweeps % 20 === 0) this.rate.sweep()
    })
    this.sweep.start()
    this.sys = new SysTopics(
      {
        counters: this.counters,
        retainedCount: () => this.retained.size,
        subscriptionsCount: () => this.subscriptions.size,
        sessionsCount: () => this.sessions.size,
      },
      options.version ?? 'strata',
      (topic, value) => this.publishSys(topic, value),
    )
    this.sys.start(options.sysInterval ?? 10)
  }

  nextMessageId(): number {
    return this.messageId++
  }

  handle(stream: Duplex, info: ConnectionInfo): void {
    if (this.closing !== undefined) {
      stream.destroy()
      return
    }
    const conn = new Connection(stream, info, this)
    if (this.all.size >= this.limits.maxConnections) conn.refuseWith = ReasonCode.QuotaExceeded
    else if (!this.rate.take(info.remoteAddress)) conn.refuseWith = ReasonCode.ConnectionRateExceeded
    this.all.add(conn)
  }

  // ConnectionHost
  packet(conn: Connection, packet: Packet): void {
    try {
      dispatch(this, conn, packet)
    } catch (err) {
      // A bug in a flow must cost one connection, never the broker.
      this.log.error({ err, clientId: conn.clientId }, 'packet handling failed')
      conn.protocolFailure(err)
    }
  }

  dispatch(conn: Connection, packet: Packet): void {
    this.packet(conn, packet)
  }

  closed(conn: Connection, reason: string): void {
    this.all.delete(conn)
    const session = conn.session
    if (!this.connected.delete(conn) || session === undefined) return
    this.counters.clientsConnected--
    // [MQTT-3.1.2-8] the will goes out unless a normal DISCONNECT discarded it [MQTT-3.1.2-10];
    // at shutdown publishWillsAtShutdown() has sent it already.
    const will = conn.discardWill || this.closing !== undefined ? undefined : conn.will
    conn.will = undefined
    if (this.closing === undefined) this.sessions.detach(session, conn, will, conn.identity)
    else session.connection = undefined
    const identity = conn.identity
    if (identity !== undefined && this.hooks.onDisconnect !== undefined) {
      try {
        this.hooks.onDisconnect(identity, reason)
      } catch (err) {
        this.log.error({ err }, 'onDisconnect hook threw')
      }
    }
    this.log.debug({ clientId: session.clientId, reason }, 'client disconnected')
  }

  scheduleFlush(conn: Connection): void {
    this.flushList.push(conn)
    if (this.flushQueued) return
    this.flushQueued = true
    // One write per connection per event-loop turn, however many packets the turn produced.
    setImmediate(() => this.flushAll())
  }

  private flushAll(): void {
    const list = this.flushList
    this.flushList = []
    this.flushQueued = false
    for (let i = 0; i < list.length; i++) (list[i] as Connection).flush()
  }

  async publish(message: PublishedMessage): Promise<void> {
    const invalid = validateTopicName(message.topic, this.limits.maxTopicLength, this.limits.maxTopicLevels)
    if (invalid !== undefined) throw new TypeError(`invalid topic: ${invalid}`)
    const stored = makeStoredMessage(
      this.nextMessageId(),
      message.topic,
      message.payload,
      message.qos,
      message.retain,
      message.properties,
      undefined,
      Date.now(),
    )
    this.counters.messagesReceived++
    this.router.publish(stored)
    // Resolves when durable (QoS > 0 and retained), and runs the onPublish tap like a client's PUBLISH.
    await this.durability.barrier(message)
  }

  private publishSys(topic: string, value: string): void {
    const stored = makeStoredMessage(
      this.nextMessageId(),
      topic,
      Buffer.from(value),
      0,
      true,
      undefined,
      undefined,
      Date.now(),
    )
    this.router.publish(stored, false)
  }

  stats(): BrokerStats {
    const c = this.counters
    return {
      clientsConnected: c.clientsConnected,
      clientsTotal: this.sessions.size,
      messagesReceived: c.messagesReceived,
      messagesSent: c.messagesSent,
      bytesReceived: c.bytesReceived,
      bytesSent: c.bytesSent,
      publishDropped: c.publishDropped,
      retainedCount: this.retained.size,
      subscriptionsCount: this.subscriptions.size,
      uptimeSeconds: Math.floor((Date.now() - c.startedAt) / 1000),
    }
  }

  /**
   * The broker is about to close every connection without a DISCONNECT from
   * the client, so each will goes out now [MQTT-3.1.2-8], delayed ones too
   * (their timers do not survive the restart), as Mosquitto does on shutdown.
   * Persistent subscribers get them journaled before the store closes.
   */
  private publishWillsAtShutdown(): void {
    for (const conn of this.connected) {
      const will = conn.will
      conn.will = undefined
      if (will !== undefined && !conn.discardWill && conn.identity !== undefined) {
        this.sessions.publishWill(will, conn.identity)
      }
    }
    this.sessions.publishPendingWills()
  }

  disconnectWhere(
    predicate: (client: ClientIdentity) => boolean,
    reasonCode: number,
    reason: string,
    options?: { discardWill?: boolean },
  ): number {
    let count = 0
    for (const conn of [...this.connected]) {
      if (conn.identity === undefined || !predicate(conn.identity)) continue
      if (options?.discardWill) conn.discardWill = true
      conn.disconnect(reasonCode, reason)
      count++
    }
    return count
  }

  endSession(clientId: string, reasonCode: number, reason: string): boolean {
    const session = this.sessions.get(clientId)
    if (session === undefined) return false
    const conn = session.connection
    this.sessions.discard(session)
    if (conn !== undefined) {
      conn.discardWill = true
      conn.disconnect(reasonCode, reason)
    }
    return true
  }

  reauthorizeSubscriptions(predicate: (client: ClientIdentity) => boolean): number {
    let removed = 0
    for (const conn of this.connected) {
      const identity = conn.identity
      if (identity === undefined || conn.session === undefined || !predicate(identity)) continue
      removed += this.sessions.reauthorize(conn.session, identity)
    }
    return removed
  }

  close(signal?: AbortSignal): Promise<void> {
    this.closing ??= this.shutdown(signal)
    return this.closing
  }

  private async shutdown(signal?: AbortSignal): Promise<void> {
    this.sweep.stop()
    this.sys.stop()
    this.publishWillsAtShutdown()
    this.sessions.shutdown()
    const conns = [...this.all]
    const closedStreams = conns.map(
      (c) =>
        new Promise<void>((resolve) =>
          c.stream.destroyed ? resolve() : c.stream.once('close', () => resolve()),
        ),
    )
    for (const conn of conns) {
      // MQTT 5 clients learn why: DISCONNECT 0x8B Server shutting down.
      if (conn.state === ConnState.Connected)
        conn.disconnect(ReasonCode.ServerShuttingDown, 'server shutting down')
      else conn.close('server shutting down')
    }
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_DRAIN_MS)
      signal?.addEventListener('abort', () => resolve(), { once: true })
    })
    await Promise.race([Promise.all(closedStreams), deadline])
    clearTimeout(timer)
    // A peer that never reads does not hold shutdown up.
    for (const conn of conns) if (!conn.stream.destroyed) conn.stream.destroy()
    await this.durability.drain()
    await this.store.close()
  }
}
