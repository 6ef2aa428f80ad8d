import type { Packet } from '@strata/protocol'
import type { Connection } from './connection.js'
import type { Counters } from './counters.js'
import type { Delivery } from './delivery.js'
import type { Durability } from './durability.js'
import type { BrokerHooks, BrokerLimits, Logger } from './options.js'
import type { BrokerStore } from './persistence/store.js'
import type { RetainedIndex } from './retained.js'
import type { Router } from './router.js'
import type { Session } from './session.js'
import type { SessionRegistry } from './sessions.js'
import type { SubscriptionIndex } from './subscriptions.js'

/** The broker's shared services, as every flow sees them. All members are set at construction. */
export interface BrokerContext {
  readonly limits: Readonly<BrokerLimits>
  readonly store: BrokerStore
  readonly hooks: BrokerHooks
  readonly log: Logger
  readonly counters: Counters
  readonly subscriptions: SubscriptionIndex<Session>
  readonly retained: RetainedIndex
  readonly sessions: SessionRegistry
  readonly router: Router
  readonly durability: Durability
  readonly delivery: Delivery
  /** Connections whose CONNECT was accepted. */
  readonly connected: Set<Connection>
  nextMessageId(): number
  /** Handles one packet of a connection (used to replay packets held during CONNECT). */
  dispatch(conn: Connection, packet: Packet): void
}
