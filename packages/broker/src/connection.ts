import type { Duplex } from 'node:stream'
import type { Packet, ProtocolVersion, Will } from '@strata/protocol'
import { encodePacket, MqttProtocolError, PacketParser, ReasonCode } from '@strata/protocol'
import type { Counters } from './counters.js'
import type { Deque } from './deque.js'
import type { PendingAck } from './durability.js'
import type { BrokerLimits, ClientIdentity, ConnectionInfo, Logger } from './options.js'
import type { Session } from './session.js'

/** What a connection needs from the broker around it. */
export interface ConnectionHost {
  readonly limits: Readonly<BrokerLimits>
  readonly counters: Counters
  readonly log: Logger
  /** Every parsed packet, in order. */
  packet(conn: Connection, packet: Packet): void
  /** Once, when the connection is over; `abnormal` is false only after a normal DISCONNECT. */
  closed(conn: Connection, reason: string): void
  /** Queues the connection for the next batched flush. */
  scheduleFlush(conn: Connection): void
}

export enum ConnState {
  /** Waiting for CONNECT. */
  Connecting = 0,
  /** CONNECT received, hooks running; later packets are held. */
  Authenticating = 1,
  Connected = 2,
  Closed = 3,
}

/** How long a closing stream may take to drain before it is destroyed. */
const DRAIN_MS = 1000

/**
 * One client connection: bytes to packets through the codec's parser, packets
 * to bytes with writes batched per event-loop turn (syscalls are the costly
 * part on small machines: one `write` per turn however many packets), the
 * connect timeout, and what MQTT negotiated for it. It knows nothing of
 * sessions or routing: parsed packets go to the host.
 */
export class Connection {
  state = ConnState.Connecting
  version: ProtocolVersion = 4
  session: Session | undefined
  identity: ClientIdentity | undefined
  will: Will | undefined
  /** Set by the normal-DISCONNECT path so the close handler does not publish the will [MQTT-3.1.2-10]. */
  discardWill = false
  /** Keep-alive in ms (0 = none); the sweep closes the connection after 1.5x of silence [MQTT-3.1.2-24]. */
  keepAliveMs = 0
  lastSeen = Date.now()
  /** Why CONNECT will be refused before any hook runs (capacity, connection rate), as a v5 reason code. */
  refuseWith: number | undefined

  // Negotiated at CONNECT (MQTT 5 section 3.1.2.11).
  clientReceiveMaximum = 65535
  clientMaximumPacketSize = 268_435_460
  clientTopicAliasMaximum = 0
  requestProblemInformation = true
  /** Outbound topic aliases we assigned; inbound ones the client set. */
  aliasesOut: Map<string, number> | undefined
  aliasesIn: Map<number, string> | undefined
  /** Inbound QoS 1/2 PUBLISH not yet acknowledged (our Receive Maximum) [MQTT-3.3.4-9]. */
  inboundUnacked = 0
  /** 3.1.1 has no Receive Maximum to enforce: reading pauses instead while too many acks are pending. */
  readingPaused = false
  /** Acks of inbound QoS 1/2 PUBLISH, in arrival order, waiting for durability or back-pressure [MQTT-4.6.0-2]. */
  acks: Deque<PendingAck> | undefined
  /** Packets that arrived while CONNECT's hooks ran. */
  held: Packet[] | undefined

  private readonly parser: PacketParser
  private out: Buffer[] = []
  private outBytes = 0
  private flushQueued = false
  private closedReported = false
  private connectTimer: NodeJS.Timeout | undefined
  private drainTimer: NodeJS.Timeout | undefined

  constructor(
    readonly stream: Duplex,
    readonly info: ConnectionInfo,
    readonly host: ConnectionHost,
  ) {
    this.parser = new PacketParser({ maxPacketSize: host.limits.maxPacketSize })
    // Module-level listeners that find the connection on the stream: no closures per connection,
    // which matters at tens of thousands of idle connections.
    ;(stream as OwnedStream)[kConnection] = this
    stream.on('data', onStreamData)
    stream.on('error', onStreamError)
    stream.on('end', onStreamEnd)
    stream.on('close', onStreamClose)
    // A CONNECT not complete in time closes the socket, whether silent or trickled byte by byte.
    this.connectTimer = setTimeout(() => this.close('CONNECT timeout'), host.limits.connectTimeoutMs)
    this.connectTimer.unref()
  }

  get clientId(): string | undefined {
    return this.session?.clientId ?? this.identity?.clientId
  }

  get open(): boolean {
    return this.state !== ConnState.Closed
  }

  /** Bytes waiting to be written: ours not yet flushed plus the stream's own buffer. */
  get backlog(): number {
    return this.outBytes + this.stream.writableLength
  }

  connectDone(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer)
    this.connectTimer = undefined
  }

  /**
   * Back-pressure for a 3.1.1 client, which was never told a Receive Maximum
   * and so cannot be disconnected for exceeding one (mqtt.js v3 sends without
   * an in-flight limit): its socket is not read until acks have gone out.
   */
  pauseReading(): void {
    if (this.readingPaused || this.state === ConnState.Closed) return
    this.readingPaused = true
    this.stream.pause()
  }

  /** An inbound QoS 1/2 exchange is complete (its PUBACK or PUBCOMP left): one slot of our Receive Maximum is free. */
  inboundReleased(): void {
    // Clamped: a PUBREL for a QoS 2 PUBLISH of an earlier connection frees a slot this one never took.
    if (this.inboundUnacked > 0) this.inboundUnacked--
    if (this.readingPaused && this.inboundUnacked < this.host.limits.maxInflight) {
      this.readingPaused = false
      // Time spent paused was ours, not the client's silence (keep-alive).
      this.lastSeen = Date.now()
      if (this.state !== ConnState.Closed) this.stream.resume()
    }
  }

  setProtocolVersion(version: ProtocolVersion): void {
    this.version = version
    this.parser.protocolVersion = version
  }

  send(packet: Packet): void {
    if (this.state === ConnState.Closed) return
    this.write(encodePacket(packet, this.version))
  }

  /** Queues encoded bytes; they leave with everything else written in this turn. */
  write(buf: Buffer): void {
    if (this.state === ConnState.Closed) return
    this.out.push(buf)
    this.outBytes += buf.length
    if (!this.flushQueued) {
      this.flushQueued = true
      this.host.scheduleFlush(this)
    }
  }

  flush(): void {
    this.flushQueued = false
    const n = this.out.length
    if (n === 0 || this.stream.destroyed) {
      this.out.length = 0
      this.outBytes = 0
      return
    }
    const data = n === 1 ? (this.out[0] as Buffer) : Buffer.concat(this.out, this.outBytes)
    this.host.counters.bytesSent += this.outBytes
    this.out = []
    this.outBytes = 0
    this.stream.write(data)
  }

  /**
   * Server-initiated end, optionally with an MQTT 5 DISCONNECT first (only
   * once CONNECT is accepted or refused: a DISCONNECT before CONNACK is not
   * allowed [MQTT-3.2.0-1]).
   */
  disconnect(reasonCode: number, reason: string): void {
    if (this.state === ConnState.Closed) return
    if (this.version === 5 && this.state === ConnState.Connected) {
      const packet: Packet = { type: 'disconnect', reasonCode }
      // Reason String is allowed on DISCONNECT even without Request Problem Information [MQTT-3.1.2-29].
      if (reason) packet.properties = { reasonString: reason }
      this.send(packet)
    }
    this.close(reason)
  }

  /** Ends the stream after flushing; destroys it if the peer does not let it drain. */
  close(reason: string): void {
    if (this.state === ConnState.Closed) return
    this.flush()
    this.state = ConnState.Closed
    this.connectDone()
    if (!this.stream.destroyed) {
      this.stream.end()
      this.drainTimer = setTimeout(() => this.stream.destroy(), DRAIN_MS)
      this.drainTimer.unref()
    }
    this.closed(reason)
  }

  /** Immediate teardown (shutdown deadline). */
  destroy(): void {
    this.close('destroyed')
    this.stream.destroy()
  }

  /** @internal also called by the shared 'close' listener. */
  closed(reason: string): void {
    if (this.state !== ConnState.Closed) {
      this.state = ConnState.Closed
      this.connectDone()
    }
    if (this.stream.destroyed && this.drainTimer !== undefined) {
      clearTimeout(this.drainTimer)
      this.drainTimer = undefined
    }
    if (this.closedReported) return
    this.closedReported = true
    this.held = undefined
    this.out.length = 0
    this.outBytes = 0
    this.host.closed(this, reason)
  }

  /** @internal called by the shared stream listeners. */
  onData(chunk: Buffer): void {
    if (this.state === ConnState.Closed) return
    this.lastSeen = Date.now()
    this.host.counters.bytesReceived += chunk.length
    // The parser's callback is shared by all connections; `current` says whose packets these are.
    // Saved and restored because handling a packet can write to another in-memory stream, which
    // may deliver its data (and parse its packets) synchronously.
    const previous = current
    current = this
    try {
      this.parser.push(chunk, onParsedPacket)
    } catch (err) {
      this.protocolFailure(err)
    } finally {
      current = previous
    }
  }

  /** Malformed input or a broken rule: MQTT 5 gets DISCONNECT with the reason, 3.1.1 is closed [MQTT-4.13.1-1]. */
  protocolFailure(err: unknown): void {
    if (this.state === ConnState.Closed) return
    const reasonCode = err instanceof MqttProtocolError ? err.reasonCode : ReasonCode.UnspecifiedError
    const message = err instanceof Error ? err.message : String(err)
    this.host.log.warn(
      { clientId: this.clientId, remoteAddress: this.info.remoteAddress, reasonCode, err: message },
      'protocol violation, closing connection',
    )
    if (this.state === ConnState.Connecting && reasonCode === ReasonCode.UnsupportedProtocolVersion) {
      // [MQTT-3.1.2-2] CONNACK 0x84 (v5) / return code 1 (3.1.1), then close. The level is unknown
      // to us, so the 3.1.1 form is used: a 2-byte body both levels can read.
      this.write(Buffer.from([0x20, 0x02, 0x00, 0x01]))
      this.close(message)
      return
    }
    this.disconnect(reasonCode, message)
  }
}

const kConnection = Symbol('strata.connection')
type OwnedStream = Duplex & { [kConnection]: Connection }

let current: Connection | undefined

function onParsedPacket(packet: Packet): void {
  const conn = current as Connection
  conn.host.packet(conn, packet)
}
function onStreamData(this: Duplex, chunk: Buffer): void {
  ;(this as OwnedStream)[kConnection].onData(chunk)
}
function onStreamError(this: Duplex, err: Error): void {
  ;(this as OwnedStream)[kConnection].close(`stream error: ${err.message}`)
}
function onStreamEnd(this: Duplex): void {
  ;(this as OwnedStream)[kConnection].close('peer ended the stream')
}
function onStreamClose(this: Duplex): void {
  ;(this as OwnedStream)[kConnection].closed('stream closed')
}
