import { ReasonCode } from '@strata/protocol'
import { type Connection, ConnState } from './connection.js'

/**
 * Keep-alive for every connection from one periodic sweep instead of a
 * timer per connection: a connection silent for 1.5x its keep-alive is
 * closed [MQTT-3.1.2-24] (MQTT 5: DISCONNECT 0x8D Keep Alive timeout).
 */
export class KeepAliveSweep {
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly connections: Set<Connection>,
    private readonly everyMs: number,
    private readonly extra: () => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sweep(Date.now()), this.everyMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  sweep(now: number): void {
    for (const conn of this.connections) {
      // A connection whose reading we paused (3.1.1 back-pressure) cannot show it is alive.
      if (conn.state !== ConnState.Connected || conn.keepAliveMs === 0 || conn.readingPaused) continue
      if (now - conn.lastSeen > conn.keepAliveMs * 1.5) {
        conn.disconnect(ReasonCode.KeepAliveTimeout, 'keep alive timeout')
      }
    }
    this.extra()
  }
}
