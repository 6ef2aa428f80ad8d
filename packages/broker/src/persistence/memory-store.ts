import { StoreError } from './errors.js'
import { LiveState } from './live-state.js'
import type { BrokerStore, QueueEntry, RecoveredState, SessionRecord, StoredMessage } from './store.js'

/**
 * The store without durability: for tests and `--no-persistence`. It has the
 * semantics of LogStore (copies, reference counting, unreferenced messages
 * dropped after two commits) so that a broker tested on it behaves the same
 * on disk. `open()` on a new instance returns an empty state; `open()` again
 * after `close()` returns the state as it was at close, which lets a test
 * restart a broker in the same process.
 */
export class MemoryStore implements BrokerStore {
  private state = new LiveState()
  private isOpen = false

  async open(signal?: AbortSignal): Promise<RecoveredState> {
    signal?.throwIfAborted()
    if (this.isOpen) throw new StoreError('STRATA_STORE_FAILED', 'MemoryStore is already open')
    this.state.sweep()
    this.isOpen = true
    return this.state.toRecovered()
  }

  putMessage(message: StoredMessage): void {
    this.live().putMessage(message)
  }

  setRetained(topic: string, message: StoredMessage | null): void {
    this.live().setRetained(topic, message)
  }

  saveSession(session: SessionRecord): void {
    this.live().saveSession(session)
  }

  deleteSession(clientId: string): void {
    this.live().deleteSession(clientId)
  }

  enqueue(clientId: string, entry: QueueEntry): void {
    this.live().enqueue(clientId, entry)
  }

  updateDelivery(clientId: string, messageId: number, packetId: number, released: boolean): void {
    this.live().updateDelivery(clientId, messageId, packetId, released)
  }

  dequeue(clientId: string, messageId: number): void {
    this.live().dequeue(clientId, messageId)
  }

  setInboundQos2(clientId: string, packetId: number, pending: boolean): void {
    this.live().setInboundQos2(clientId, packetId, pending)
  }

  async commit(): Promise<void> {
    this.live().rotate()
  }

  async close(): Promise<void> {
    this.isOpen = false
  }

  private live(): LiveState {
    if (!this.isOpen) throw new StoreError('STRATA_STORE_CLOSED', 'the store is not open')
    return this.state
  }
}
