import type { Packet } from '@strata/protocol'
import type { Connection } from './connection.js'
import { Deque } from './deque.js'
import type { BrokerHooks, ClientIdentity, Logger, PublishedMessage } from './options.js'
import type { BrokerStore } from './persistence/store.js'
import type { Session } from './session.js'

/** One acknowledgement (or barrier) waiting for the store, and possibly for back-pressure. */
export interface PendingAck {
  readonly conn: Connection | undefined
  readonly packet: Packet | undefined
  /** For the onPublish hook, which runs once the message is durable. */
  readonly published: PublishedMessage | undefined
  readonly identity: ClientIdentity | undefined
  /** For broker.publish(): resolves its promise. */
  readonly resolve: (() => void) | undefined
  /** Inbound Receive Maximum accounting: released when the ack leaves. */
  readonly releasesInbound: boolean
  durable: boolean
  /** Held by a congested subscriber session (see delivery.ts). */
  held: boolean
  /** The ingest hook's durability promise: the ack also waits for it. */
  waitFor?: Promise<void>
}

/**
 * The durability guarantee: a PUBACK (QoS 1) or PUBREC (QoS 2) is written
 * only after `store.commit()` has resolved for every record the PUBLISH
 * caused (message body, queue entries of persistent subscribers, retained
 * value, inbound QoS 2 id). So an acknowledged message survives kill -9.
 *
 * Acks are not awaited one by one: records are buffered by the store, the
 * acks of one event-loop turn wait for one commit together (group commit),
 * and commits run one after another. Each connection sends its acks in the
 * order its PUBLISH packets arrived [MQTT-4.6.0-2]. Reading further packets
 * and serving other clients never waits on a commit.
 */
export class Durability {
  private pending: PendingAck[] = []
  private running = false

  constructor(
    private readonly store: BrokerStore,
    private readonly hooks: BrokerHooks,
    private readonly log: Logger,
  ) {}

  /** Sends `packet` on `conn` once everything recorded so far is durable (and the ack is not held). */
  ack(
    conn: Connection | undefined,
    packet: Packet | undefined,
    published?: PublishedMessage,
    identity?: ClientIdentity,
    releasesInbound = false,
  ): PendingAck {
    const p: PendingAck = {
      conn,
      packet,
      published,
      identity,
      resolve: undefined,
      releasesInbound,
      durable: false,
      held: false,
    }
    if (conn !== undefined && packet !== undefined) {
      conn.acks ??= new Deque()
      conn.acks.push(p)
    }
    this.pending.push(p)
    this.start()
    return p
  }

  /** Back-pressure: the ack waits until `session` releases it, and the publisher's later acks behind it. */
  hold(p: PendingAck, session: Session): void {
    p.held = true
    session.heldAcks ??= []
    session.heldAcks.push(p)
  }

  unhold(p: PendingAck): void {
    p.held = false
    if (p.conn !== undefined) this.flushAcks(p.conn)
  }

  /** Resolves once everything recorded so far is durable. */
  barrier(published?: PublishedMessage): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push({
        conn: undefined,
        packet: undefined,
        published,
        identity: undefined,
        resolve,
        releasesInbound: false,
        durable: false,
        held: false,
      })
      this.start()
    })
  }

  /** Waits for the pending commits (shutdown). */
  async drain(): Promise<void> {
    while (this.running || this.pending.length > 0) {
      if (!this.running) this.start()
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }

  private start(): void {
    if (this.running) return
    this.running = true
    // Let the rest of this turn's packets add their records before committing.
    setImmediate(() => void this.run())
  }

  private async run(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending
        this.pending = []
        let ok = true
        try {
          await this.store.commit()
        } catch (err) {
          ok = false
          this.log.error({ err }, 'store commit failed: acknowledgements withheld')
        }
        for (const p of batch) this.settle(p, ok)
      }
    } finally {
      this.running = false
    }
  }

  private settle(p: PendingAck, ok: boolean): void {
    const waitFor = p.waitFor
    if (ok && waitFor !== undefined) {
      // Durable in the journal; the ack also waits for the platform's store (ingest hook).
      p.waitFor = undefined
      waitFor.then(
        () => this.settle(p, true),
        (err: unknown) => {
          this.log.error({ err }, 'ingestion not durable: acknowledgement withheld')
          this.settle(p, false)
        },
      )
      return
    }
    if (!ok) {
      // Not durable: no ack; the client resends after reconnecting.
      p.conn?.close('store commit failed')
      p.resolve?.()
      return
    }
    p.durable = true
    if (p.conn !== undefined && p.packet !== undefined) this.flushAcks(p.conn)
    if (p.published !== undefined && this.hooks.onPublish !== undefined) {
      try {
        this.hooks.onPublish(p.identity, p.published)
      } catch (err) {
        this.log.error({ err }, 'onPublish hook threw')
      }
    }
    p.resolve?.()
  }

  /** Sends the connection's acks from the head while they are durable and not held. */
  private flushAcks(conn: Connection): void {
    const acks = conn.acks
    if (acks === undefined) return
    for (let head = acks.peek(); head?.durable && !head.held; head = acks.peek()) {
      acks.shift()
      if (head.releasesInbound) conn.inboundReleased()
      conn.send(head.packet as Packet)
    }
    if (acks.length === 0) conn.acks = undefined
  }
}
