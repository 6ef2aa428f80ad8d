import { crc32 } from 'node:zlib'
import type { Properties, ProtocolVersion, QoS } from '@strata/protocol'
import type { StoreRecord } from './live-state.js'
import type { QueueEntry, SessionRecord, StoredMessage, StoredSubscription } from './store.js'

/**
 * Binary journal records.
 *
 *   record = length u32 LE | crc32 u32 LE | body (length bytes)
 *   body   = type u8 | type-specific fields
 *
 * The CRC covers the body. Numbers are little-endian; message ids and epoch
 * milliseconds are 48-bit (exact in a JS number); strings are u16 length +
 * UTF-8 (MQTT strings never exceed 65,535 bytes); payloads u32 length + raw
 * bytes. MQTT 5 properties are rare and varied, so they are compact JSON with
 * Buffers as `{"$b64": ...}`.
 *
 * Every flush ends with a COMMIT record that holds the byte length of its
 * batch: replay applies a batch only once its COMMIT is read (a batch is
 * atomic), and a COMMIT found after a bad record tells corruption in the
 * middle of the log from a torn tail (see journal-reader.ts).
 */
export const RecordType = {
  Put: 1,
  Retain: 2,
  RetainRef: 3,
  Unretain: 4,
  Session: 5,
  DeleteSession: 6,
  Enqueue: 7,
  Update: 8,
  Dequeue: 9,
  Inbound: 10,
  NextId: 11,
  Commit: 12,
} as const

export const RECORD_HEADER = 8
/** A COMMIT record: header, type, u32 batch length. */
export const COMMIT_RECORD_SIZE = RECORD_HEADER + 5
/** Larger than any MQTT packet (256 MiB) with room for the fields around its payload. */
export const MAX_RECORD_BODY = 300 * 1024 * 1024

const MSG_RETAIN = 1 << 2
const MSG_PROPS = 1 << 3
const MSG_EXPIRES = 1 << 4
const MSG_ORIGIN = 1 << 5

const ENTRY_HAS_RETAIN = 1 << 2
const ENTRY_RETAIN = 1 << 3
const ENTRY_HAS_PACKET_ID = 1 << 4
const ENTRY_HAS_RELEASED = 1 << 5
const ENTRY_RELEASED = 1 << 6
const ENTRY_SUB_IDS = 1 << 7

const SUB_NO_LOCAL = 1 << 2
const SUB_RAP = 1 << 3
const SUB_HAS_ID = 1 << 6

const SESSION_DISCONNECTED = 1
/** A flag bit added later: older journals never set it, so they read as sessions without an owner. */
const SESSION_OWNER = 2

/** Records are encoded straight into one growing buffer: a flush writes it with one system call. */
export class RecordBuffer {
  private buf: Buffer
  private len = 0
  private start = -1
  /** Records in the buffer (COMMIT excluded). */
  count = 0

  constructor(private readonly initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize)
  }

  get length(): number {
    return this.len
  }

  /**
   * Hands over the bytes written so far and starts a new buffer, so that the
   * handed-over one is never overwritten while an async write reads it.
   */
  take(): Buffer {
    const out = this.buf.subarray(0, this.len)
    this.buf = Buffer.allocUnsafe(Math.max(this.initialSize, Math.min(this.len, 16 * 1024 * 1024)))
    this.len = 0
    this.count = 0
    return out
  }

  write(record: StoreRecord): void {
    switch (record.type) {
      case 'put':
        this.begin(RecordType.Put)
        this.message(record.message)
        break
      case 'retain':
        this.begin(RecordType.Retain)
        this.str(record.topic)
        this.message(record.message)
        break
      case 'retainRef':
        this.begin(RecordType.RetainRef)
        this.str(record.topic)
        this.u48(record.messageId)
        break
      case 'unretain':
        this.begin(RecordType.Unretain)
        this.str(record.topic)
        break
      case 'session':
        this.begin(RecordType.Session)
        this.session(record.session)
        break
      case 'deleteSession':
        this.begin(RecordType.DeleteSession)
        this.str(record.clientId)
        break
      case 'enqueue':
        this.begin(RecordType.Enqueue)
        this.str(record.clientId)
        this.entry(record.entry)
        break
      case 'update':
        this.begin(RecordType.Update)
        this.str(record.clientId)
        this.u48(record.messageId)
        this.u16(record.packetId)
        this.u8(record.released ? 1 : 0)
        break
      case 'dequeue':
        this.begin(RecordType.Dequeue)
        this.str(record.clientId)
        this.u48(record.messageId)
        break
      case 'inbound':
        this.begin(RecordType.Inbound)
        this.str(record.clientId)
        this.u16(record.packetId)
        this.u8(record.pending ? 1 : 0)
        break
      case 'nextId':
        this.begin(RecordType.NextId)
        this.u48(record.nextMessageId)
        break
    }
    this.end()
    this.count++
  }

  /** Ends a batch: a COMMIT holding the batch's byte length (relative, so a batch can be copied elsewhere). */
  commit(batchStart = 0): void {
    const batchLength = this.len - batchStart
    this.begin(RecordType.Commit)
    this.u32(batchLength)
    this.end()
  }

  private begin(type: number): void {
    this.ensure(RECORD_HEADER + 1)
    this.start = this.len
    this.len += RECORD_HEADER
    this.buf[this.len++] = type
  }

  private end(): void {
    const bodyStart = this.start + RECORD_HEADER
    this.buf.writeUInt32LE(this.len - bodyStart, this.start)
    this.buf.writeUInt32LE(crc32(this.buf.subarray(bodyStart, this.len)), this.start + 4)
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(next, 0, 0, this.len)
    this.buf = next
  }

  private u8(v: number): void {
    this.ensure(1)
    this.buf[this.len++] = v
  }

  private u16(v: number): void {
    this.ensure(2)
    this.len = this.buf.writeUInt16LE(v, this.len)
  }

  private u32(v: number): void {
    this.ensure(4)
    this.len = this.buf.writeUInt32LE(v, this.len)
  }

  private u48(v: number): void {
    this.ensure(6)
    this.len = this.buf.writeUIntLE(v, this.len, 6)
  }

  private str(s: string): void {
    this.ensure(2 + s.length * 3)
    const n = this.buf.write(s, this.len + 2, 'utf8')
    if (n > 0xffff) throw new RangeError(`string of ${n} bytes exceeds the MQTT maximum of 65535`)
    this.buf.writeUInt16LE(n, this.len)
    this.len += 2 + n
  }

  private bytes(b: Uint8Array): void {
    this.ensure(4 + b.length)
    this.len = this.buf.writeUInt32LE(b.length, this.len)
    this.buf.set(b, this.len)
    this.len += b.length
  }

  private message(m: StoredMessage): void {
    let flags: number = m.qos
    if (m.retain) flags |= MSG_RETAIN
    if (m.properties !== undefined) flags |= MSG_PROPS
    if (m.expiresAt !== undefined) flags |= MSG_EXPIRES
    if (m.origin !== undefined) flags |= MSG_ORIGIN
    this.u8(flags)
    this.u48(m.id)
    this.u48(m.receivedAt)
    if (m.expiresAt !== undefined) this.u48(m.expiresAt)
    this.str(m.topic)
    if (m.origin !== undefined) this.str(m.origin)
    if (m.properties !== undefined) this.bytes(Buffer.from(encodeProperties(m.properties), 'utf8'))
    this.bytes(m.payload)
  }

  private entry(e: QueueEntry): void {
    let flags: number = e.qos
    if (e.retain !== undefined) flags |= ENTRY_HAS_RETAIN | (e.retain ? ENTRY_RETAIN : 0)
    if (e.packetId !== undefined) flags |= ENTRY_HAS_PACKET_ID
    if (e.released !== undefined) flags |= ENTRY_HAS_RELEASED | (e.released ? ENTRY_RELEASED : 0)
    if (e.subscriptionIdentifiers !== undefined) flags |= ENTRY_SUB_IDS
    this.u8(flags)
    this.u48(e.messageId)
    if (e.packetId !== undefined) this.u16(e.packetId)
    if (e.subscriptionIdentifiers !== undefined) {
      this.u16(e.subscriptionIdentifiers.length)
      for (const id of e.subscriptionIdentifiers) this.u32(id)
    }
  }

  private session(s: SessionRecord): void {
    this.str(s.clientId)
    this.u8(s.protocolVersion)
    this.u32(s.sessionExpiryInterval)
    this.u8(
      (s.disconnectedAt !== undefined ? SESSION_DISCONNECTED : 0) |
        (s.owner !== undefined ? SESSION_OWNER : 0),
    )
    if (s.disconnectedAt !== undefined) this.u48(s.disconnectedAt)
    if (s.owner !== undefined) this.str(s.owner)
    this.u32(s.subscriptions.length)
    for (const sub of s.subscriptions) {
      let flags: number = sub.qos | (sub.retainHandling << 4)
      if (sub.noLocal) flags |= SUB_NO_LOCAL
      if (sub.retainAsPublished) flags |= SUB_RAP
      if (sub.subscriptionIdentifier !== undefined) flags |= SUB_HAS_ID
      this.u8(flags)
      this.str(sub.topicFilter)
      if (sub.subscriptionIdentifier !== undefined) this.u32(sub.subscriptionIdentifier)
    }
  }
}

/** A decoded COMMIT, or a record to apply. */
export type DecodedRecord = StoreRecord | { type: 'commit'; batchLength: number }

/** Thrown by decodeRecord on a body whose CRC matched but whose fields do not parse. */
export class RecordFormatError extends Error {}

/** Decodes the body at buf[start, end) (CRC already checked). Payloads are copied out of buf. */
export function decodeRecord(buf: Buffer, start: number, end: number): DecodedRecord {
  const r = new Reader(buf, start, end)
  const type = r.u8()
  let record: DecodedRecord
  switch (type) {
    case RecordType.Put:
      record = { type: 'put', message: r.message() }
      break
    case RecordType.Retain: {
      const topic = r.str()
      record = { type: 'retain', topic, message: r.message() }
      break
    }
    case RecordType.RetainRef: {
      const topic = r.str()
      record = { type: 'retainRef', topic, messageId: r.u48() }
      break
    }
    case RecordType.Unretain:
      record = { type: 'unretain', topic: r.str() }
      break
    case RecordType.Session:
      record = { type: 'session', session: r.session() }
      break
    case RecordType.DeleteSession:
      record = { type: 'deleteSession', clientId: r.str() }
      break
    case RecordType.Enqueue: {
      const clientId = r.str()
      record = { type: 'enqueue', clientId, entry: r.entry() }
      break
    }
    case RecordType.Update: {
      const clientId = r.str()
      const messageId = r.u48()
      const packetId = r.u16()
      record = { type: 'update', clientId, messageId, packetId, released: r.u8() === 1 }
      break
    }
    case RecordType.Dequeue: {
      const clientId = r.str()
      record = { type: 'dequeue', clientId, messageId: r.u48() }
      break
    }
    case RecordType.Inbound: {
      const clientId = r.str()
      const packetId = r.u16()
      record = { type: 'inbound', clientId, packetId, pending: r.u8() === 1 }
      break
    }
    case RecordType.NextId:
      record = { type: 'nextId', nextMessageId: r.u48() }
      break
    case RecordType.Commit:
      record = { type: 'commit', batchLength: r.u32() }
      break
    default:
      throw new RecordFormatError(`unknown record type ${type}`)
  }
  if (r.pos !== end) throw new RecordFormatError(`record type ${type} has ${end - r.pos} trailing bytes`)
  return record
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end: number,
  ) {}

  private need(n: number): number {
    const at = this.pos
    if (at + n > this.end) throw new RecordFormatError('record body ends early')
    this.pos += n
    return at
  }

  u8(): number {
    return this.buf[this.need(1)] as number
  }

  u16(): number {
    return this.buf.readUInt16LE(this.need(2))
  }

  u32(): number {
    return this.buf.readUInt32LE(this.need(4))
  }

  u48(): number {
    return this.buf.readUIntLE(this.need(6), 6)
  }

  str(): string {
    const n = this.u16()
    const at = this.need(n)
    return this.buf.toString('utf8', at, at + n)
  }

  bytes(): Buffer {
    const n = this.u32()
    const at = this.need(n)
    // A copy: a view would keep the whole read chunk alive for one small payload.
    return Buffer.from(this.buf.subarray(at, at + n))
  }

  message(): StoredMessage {
    const flags = this.u8()
    const id = this.u48()
    const receivedAt = this.u48()
    const expiresAt = flags & MSG_EXPIRES ? this.u48() : undefined
    const topic = this.str()
    const origin = flags & MSG_ORIGIN ? this.str() : undefined
    const properties = flags & MSG_PROPS ? decodeProperties(this.bytes().toString('utf8')) : undefined
    const m: StoredMessage = {
      id,
      topic,
      payload: this.bytes(),
      qos: qos(flags),
      retain: (flags & MSG_RETAIN) !== 0,
      receivedAt,
    }
    if (properties !== undefined) m.properties = properties
    if (expiresAt !== undefined) m.expiresAt = expiresAt
    if (origin !== undefined) m.origin = origin
    return m
  }

  entry(): QueueEntry {
    const flags = this.u8()
    const e: QueueEntry = { messageId: this.u48(), qos: qos(flags) }
    if (flags & ENTRY_HAS_PACKET_ID) e.packetId = this.u16()
    if (flags & ENTRY_SUB_IDS) {
      const n = this.u16()
      const ids: number[] = []
      for (let i = 0; i < n; i++) ids.push(this.u32())
      e.subscriptionIdentifiers = ids
    }
    if (flags & ENTRY_HAS_RETAIN) e.retain = (flags & ENTRY_RETAIN) !== 0
    if (flags & ENTRY_HAS_RELEASED) e.released = (flags & ENTRY_RELEASED) !== 0
    return e
  }

  session(): SessionRecord {
    const clientId = this.str()
    const version = this.u8()
    if (version !== 3 && version !== 4 && version !== 5)
      throw new RecordFormatError(`protocol version ${version}`)
    const protocolVersion: ProtocolVersion = version
    const sessionExpiryInterval = this.u32()
    const flags = this.u8()
    const disconnectedAt = flags & SESSION_DISCONNECTED ? this.u48() : undefined
    const owner = flags & SESSION_OWNER ? this.str() : undefined
    const n = this.u32()
    const subscriptions: StoredSubscription[] = []
    for (let i = 0; i < n; i++) {
      const flags = this.u8()
      const rh = (flags >> 4) & 3
      if (rh !== 0 && rh !== 1 && rh !== 2) throw new RecordFormatError('retain handling 3')
      const sub: StoredSubscription = {
        topicFilter: this.str(),
        qos: qos(flags),
        noLocal: (flags & SUB_NO_LOCAL) !== 0,
        retainAsPublished: (flags & SUB_RAP) !== 0,
        retainHandling: rh,
      }
      if (flags & SUB_HAS_ID) sub.subscriptionIdentifier = this.u32()
      subscriptions.push(sub)
    }
    const s: SessionRecord = { clientId, protocolVersion, sessionExpiryInterval, subscriptions }
    if (disconnectedAt !== undefined) s.disconnectedAt = disconnectedAt
    if (owner !== undefined) s.owner = owner
    return s
  }
}

function qos(flags: number): QoS {
  const q = flags & 3
  if (q !== 0 && q !== 1 && q !== 2) throw new RecordFormatError('QoS 3')
  return q
}

export function encodeProperties(p: Properties): string {
  return JSON.stringify(p, function (this: Record<string, unknown>, key: string, value: unknown) {
    // JSON.stringify has already called Buffer#toJSON on `value`; the raw Buffer is this[key].
    const raw = this[key]
    return Buffer.isBuffer(raw) ? { $b64: raw.toString('base64') } : value
  })
}

export function decodeProperties(json: string): Properties {
  try {
    return JSON.parse(json, (_key, value: unknown) => {
      if (value !== null && typeof value === 'object' && '$b64' in value && typeof value.$b64 === 'string') {
        return Buffer.from(value.$b64, 'base64')
      }
      return value
    }) as Properties
  } catch (cause) {
    throw new RecordFormatError('properties are not valid JSON', { cause })
  }
}
