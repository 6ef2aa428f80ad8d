import { StoreError } from './errors.js'
import type { QueueEntry, RecoveredState, SessionRecord, StoredMessage, StoredSubscription } from './store.js'

/**
 * The live persistent state with message reference counts: what every store
 * implementation applies its records to. MemoryStore is this and nothing
 * more; LogStore rebuilds it by replaying its journal and keeps it as a
 * mirror (to skip no-op records, to know how much of the journal is dead,
 * and to tell compaction which unreferenced messages are still wanted).
 *
 * Everything stored is a copy of what the caller gave, and entries are
 * replaced rather than mutated, so a caller changing its own objects later
 * never changes the store behind the journal's back.
 */
interface Slot {
  message: StoredMessage
  /** Queue entries and retained slots that reference the message. */
  refs: number
  bytes: number
}

/** A record of the journal, decoded; also what a snapshot is made of. */
export type StoreRecord =
  | { type: 'put'; message: StoredMessage }
  | { type: 'retain'; topic: string; message: StoredMessage }
  | { type: 'retainRef'; topic: string; messageId: number }
  | { type: 'unretain'; topic: string }
  | { type: 'session'; session: SessionRecord }
  | { type: 'deleteSession'; clientId: string }
  | { type: 'enqueue'; clientId: string; entry: QueueEntry }
  | { type: 'update'; clientId: string; messageId: number; packetId: number; released: boolean }
  | { type: 'dequeue'; clientId: string; messageId: number }
  | { type: 'inbound'; clientId: string; packetId: number; pending: boolean }
  | { type: 'nextId'; nextMessageId: number }

const ENTRY_BYTES = 32

export class LiveState {
  readonly messages = new Map<number, Slot>()
  /** Topic to message id. */
  readonly retained = new Map<string, number>()
  readonly sessions = new Map<string, SessionRecord>()
  /** Per client, message id to entry; a Map keeps enqueue order and dequeues in O(1). */
  readonly queues = new Map<string, Map<number, QueueEntry>>()
  readonly inbound = new Map<string, Set<number>>()
  nextMessageId = 1
  /** Rough size of the live state as journal records: compaction pays off when the journal is much bigger. */
  approxBytes = 0

  // A message is put before the queue entries that reference it. One that
  // nothing references is "floating": kept for two generations (rotate() is
  // called once per flush or commit) in case its references come a little
  // later, then dropped, so that put-but-never-queued messages do not leak.
  private floatingNew = new Set<number>()
  private floatingOld = new Set<number>()

  hasMessage(id: number): boolean {
    return this.messages.has(id)
  }

  /** False when the id is already stored (the record would be a no-op). */
  putMessage(message: StoredMessage): boolean {
    if (this.messages.has(message.id)) return false
    this.addSlot(cloneMessage(message))
    this.floatingNew.add(message.id)
    return true
  }

  /** False when nothing changes (deleting a topic that has no retained message). */
  setRetained(topic: string, message: StoredMessage | null): boolean {
    const previous = this.retained.get(topic)
    if (message === null) {
      if (previous === undefined) return false
      this.retained.delete(topic)
      this.approxBytes -= ENTRY_BYTES + topic.length
      this.unref(previous)
      return true
    }
    if (!this.messages.has(message.id)) this.addSlot(cloneMessage(message))
    this.ref(message.id)
    this.retained.set(topic, message.id)
    if (previous !== undefined) this.unref(previous)
    else this.approxBytes += ENTRY_BYTES + topic.length
    return true
  }

  /** Retains a message already stored; false if it is not (replay of a reference whose body is gone). */
  setRetainedRef(topic: string, messageId: number): boolean {
    const slot = this.messages.get(messageId)
    if (slot === undefined) return false
    return this.setRetained(topic, slot.message)
  }

  saveSession(session: SessionRecord): void {
    const previous = this.sessions.get(session.clientId)
    if (previous !== undefined) this.approxBytes -= sessionBytes(previous)
    const copy = cloneSession(session)
    this.sessions.set(copy.clientId, copy)
    this.approxBytes += sessionBytes(copy)
  }

  deleteSession(clientId: string): boolean {
    const session = this.sessions.get(clientId)
    if (session !== undefined) {
      this.sessions.delete(clientId)
      this.approxBytes -= sessionBytes(session)
    }
    const queue = this.queues.get(clientId)
    if (queue !== undefined) {
      this.queues.delete(clientId)
      for (const id of queue.keys()) {
        this.approxBytes -= ENTRY_BYTES
        this.unref(id)
      }
    }
    const inbound = this.inbound.get(clientId)
    if (inbound !== undefined) {
      this.inbound.delete(clientId)
      this.approxBytes -= inbound.size * 8
    }
    return session !== undefined || queue !== undefined || inbound !== undefined
  }

  /** Throws if the message was never put (or was dropped as unreferenced): a broker bug. */
  enqueue(clientId: string, entry: QueueEntry): void {
    if (!this.messages.has(entry.messageId)) {
      throw new StoreError(
        'STRATA_STORE_UNKNOWN_MESSAGE',
        `enqueue for ${clientId}: message ${entry.messageId} is not stored (putMessage() it first, in the same tick)`,
      )
    }
    let queue = this.queues.get(clientId)
    if (queue === undefined) {
      queue = new Map()
      this.queues.set(clientId, queue)
    }
    const known = queue.has(entry.messageId)
    // Map.set on an existing key keeps its position: a re-enqueue updates in place.
    queue.set(entry.messageId, cloneEntry(entry))
    if (!known) {
      this.approxBytes += ENTRY_BYTES
      this.ref(entry.messageId)
    }
  }

  updateDelivery(clientId: string, messageId: number, packetId: number, released: boolean): boolean {
    const queue = this.queues.get(clientId)
    const entry = queue?.get(messageId)
    if (queue === undefined || entry === undefined) return false
    if (entry.packetId === packetId && entry.released === released) return false
    queue.set(messageId, { ...entry, packetId, released })
    return true
  }

  dequeue(clientId: string, messageId: number): boolean {
    const queue = this.queues.get(clientId)
    if (queue === undefined || !queue.delete(messageId)) return false
    if (queue.size === 0) this.queues.delete(clientId)
    this.approxBytes -= ENTRY_BYTES
    this.unref(messageId)
    return true
  }

  setInboundQos2(clientId: string, packetId: number, pending: boolean): boolean {
    let ids = this.inbound.get(clientId)
    if (!pending) {
      if (ids === undefined || !ids.delete(packetId)) return false
      if (ids.size === 0) this.inbound.delete(clientId)
      this.approxBytes -= 8
      return true
    }
    if (ids === undefined) {
      ids = new Set()
      this.inbound.set(clientId, ids)
    }
    if (ids.has(packetId)) return false
    ids.add(packetId)
    this.approxBytes += 8
    return true
  }

  /** Applies a replayed record. Replay is lenient about references to bodies that are gone. */
  apply(record: StoreRecord): void {
    switch (record.type) {
      case 'put':
        this.putMessage(record.message)
        return
      case 'retain':
        this.setRetained(record.topic, record.message)
        return
      case 'retainRef':
        this.setRetainedRef(record.topic, record.messageId)
        return
      case 'unretain':
        this.setRetained(record.topic, null)
        return
      case 'session':
        this.saveSession(record.session)
        return
      case 'deleteSession':
        this.deleteSession(record.clientId)
        return
      case 'enqueue':
        if (this.messages.has(record.entry.messageId)) this.enqueue(record.clientId, record.entry)
        return
      case 'update':
        this.updateDelivery(record.clientId, record.messageId, record.packetId, record.released)
        return
      case 'dequeue':
        this.dequeue(record.clientId, record.messageId)
        return
      case 'inbound':
        this.setInboundQos2(record.clientId, record.packetId, record.pending)
        return
      case 'nextId':
        this.nextMessageId = Math.max(this.nextMessageId, record.nextMessageId)
        return
    }
  }

  /** Drops messages that have stayed unreferenced for a whole generation. */
  rotate(): void {
    for (const id of this.floatingOld) this.dropIfUnreferenced(id)
    this.floatingOld = this.floatingNew
    this.floatingNew = new Set()
  }

  /** Drops every unreferenced message (end of recovery: no reference can follow any more). */
  sweep(): void {
    for (const id of this.floatingOld) this.dropIfUnreferenced(id)
    for (const id of this.floatingNew) this.dropIfUnreferenced(id)
    this.floatingOld = new Set()
    this.floatingNew = new Set()
  }

  /**
   * The state as records that rebuild it. Unreferenced messages are written
   * only if `keepUnreferenced` says so (the runtime mirror still waits for
   * their references), so a snapshot never carries garbage forward.
   */
  *records(keepUnreferenced: (id: number) => boolean): Generator<StoreRecord> {
    yield { type: 'nextId', nextMessageId: this.nextMessageId }
    for (const [id, slot] of this.messages) {
      if (slot.refs > 0 || keepUnreferenced(id)) yield { type: 'put', message: slot.message }
    }
    for (const [topic, messageId] of this.retained) yield { type: 'retainRef', topic, messageId }
    for (const session of this.sessions.values()) yield { type: 'session', session }
    for (const [clientId, queue] of this.queues) {
      for (const entry of queue.values()) yield { type: 'enqueue', clientId, entry }
    }
    for (const [clientId, ids] of this.inbound) {
      for (const packetId of ids) yield { type: 'inbound', clientId, packetId, pending: true }
    }
  }

  /** A copy the broker may mutate freely. */
  toRecovered(): RecoveredState {
    const messages = new Map<number, StoredMessage>()
    for (const [id, slot] of this.messages) if (slot.refs > 0) messages.set(id, cloneMessage(slot.message))
    const retained = new Map<string, StoredMessage>()
    for (const [topic, id] of this.retained) {
      const message = messages.get(id)
      if (message !== undefined) retained.set(topic, message)
    }
    const queues = new Map<string, QueueEntry[]>()
    for (const [clientId, queue] of this.queues) queues.set(clientId, [...queue.values()].map(cloneEntry))
    const inboundQos2 = new Map<string, number[]>()
    for (const [clientId, ids] of this.inbound) inboundQos2.set(clientId, [...ids])
    return {
      sessions: [...this.sessions.values()].map(cloneSession),
      messages,
      retained,
      queues,
      inboundQos2,
      nextMessageId: this.nextMessageId,
    }
  }

  private addSlot(message: StoredMessage): void {
    const bytes = 64 + message.topic.length + message.payload.length + (message.properties ? 64 : 0)
    this.messages.set(message.id, { message, refs: 0, bytes })
    this.approxBytes += bytes
    if (message.id >= this.nextMessageId) this.nextMessageId = message.id + 1
  }

  private ref(id: number): void {
    const slot = this.messages.get(id)
    if (slot !== undefined && slot.refs++ === 0) {
      this.floatingNew.delete(id)
      this.floatingOld.delete(id)
    }
  }

  private unref(id: number): void {
    const slot = this.messages.get(id)
    if (slot !== undefined && --slot.refs <= 0) {
      this.messages.delete(id)
      this.approxBytes -= slot.bytes
    }
  }

  private dropIfUnreferenced(id: number): void {
    const slot = this.messages.get(id)
    if (slot !== undefined && slot.refs === 0) {
      this.messages.delete(id)
      this.approxBytes -= slot.bytes
    }
  }
}

const sessionBytes = (s: SessionRecord): number =>
  64 + s.clientId.length + s.subscriptions.reduce((n, sub) => n + 16 + sub.topicFilter.length, 0)

// Copies keep only the fields that are set, so that every implementation
// returns the same shape (a journal cannot tell `undefined` from absent).

export function cloneMessage(m: StoredMessage): StoredMessage {
  const copy: StoredMessage = {
    id: m.id,
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    receivedAt: m.receivedAt,
  }
  if (m.properties !== undefined) copy.properties = { ...m.properties }
  if (m.expiresAt !== undefined) copy.expiresAt = m.expiresAt
  if (m.origin !== undefined) copy.origin = m.origin
  return copy
}

export function cloneEntry(e: QueueEntry): QueueEntry {
  const copy: QueueEntry = { messageId: e.messageId, qos: e.qos }
  if (e.subscriptionIdentifiers !== undefined) copy.subscriptionIdentifiers = [...e.subscriptionIdentifiers]
  if (e.retain !== undefined) copy.retain = e.retain
  if (e.packetId !== undefined) copy.packetId = e.packetId
  if (e.released !== undefined) copy.released = e.released
  return copy
}

export function cloneSubscription(s: StoredSubscription): StoredSubscription {
  const copy: StoredSubscription = {
    topicFilter: s.topicFilter,
    qos: s.qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
  }
  if (s.subscriptionIdentifier !== undefined) copy.subscriptionIdentifier = s.subscriptionIdentifier
  return copy
}

export function cloneSession(s: SessionRecord): SessionRecord {
  const copy: SessionRecord = {
    clientId: s.clientId,
    protocolVersion: s.protocolVersion,
    sessionExpiryInterval: s.sessionExpiryInterval,
    subscriptions: s.subscriptions.map(cloneSubscription),
  }
  if (s.disconnectedAt !== undefined) copy.disconnectedAt = s.disconnectedAt
  if (s.owner !== undefined) copy.owner = s.owner
  return copy
}
