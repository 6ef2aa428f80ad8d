import type { Counters } from './counters.js'

/** Values behind the $SYS topics that are not plain counters. */
export interface SysSource {
  readonly counters: Counters
  retainedCount(): number
  subscriptionsCount(): number
  sessionsCount(): number
}

/**
 * $SYS statistics in Mosquitto's names (mosquitto(8), "BROKER STATUS"),
 * published retained every `intervalSeconds` so a new subscriber sees the
 * last values at once. Clients cannot publish under $SYS (publish-flow.ts).
 */
export class SysTopics {
  private timer: NodeJS.Timeout | undefined
  private lastReceived = 0
  private lastAt = Date.now()
  private load1 = 0

  constructor(
    private readonly source: SysSource,
    private readonly version: string,
    private readonly publish: (topic: string, value: string) => void,
  ) {}

  start(intervalSeconds: number): void {
    if (intervalSeconds <= 0) return
    this.publishAll()
    this.timer = setInterval(() => this.publishAll(), intervalSeconds * 1000)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  /** The topic/value pairs, as published. */
  values(): Array<[string, string]> {
    const c = this.source.counters
    const now = Date.now()
    const elapsed = (now - this.lastAt) / 1000
    if (elapsed > 0) {
      // Exponentially weighted per-minute rate, as Mosquitto's load/…/1min.
      const rate = ((c.messagesReceived - this.lastReceived) / elapsed) * 60
      const alpha = 1 - Math.exp(-elapsed / 60)
      this.load1 += alpha * (rate - this.load1)
      this.lastReceived = c.messagesReceived
      this.lastAt = now
    }
    return [
      ['$SYS/broker/version', this.version],
      ['$SYS/broker/uptime', `${Math.floor((now - c.startedAt) / 1000)} seconds`],
      ['$SYS/broker/clients/connected', String(c.clientsConnected)],
      ['$SYS/broker/clients/total', String(this.source.sessionsCount())],
      ['$SYS/broker/clients/maximum', String(c.clientsMaximum)],
      ['$SYS/broker/messages/received', String(c.messagesReceived)],
      ['$SYS/broker/messages/sent', String(c.messagesSent)],
      ['$SYS/broker/publish/messages/dropped', String(c.publishDropped)],
      ['$SYS/broker/bytes/received', String(c.bytesReceived)],
      ['$SYS/broker/bytes/sent', String(c.bytesSent)],
      ['$SYS/broker/retained messages/count', String(this.source.retainedCount())],
      ['$SYS/broker/subscriptions/count', String(this.source.subscriptionsCount())],
      ['$SYS/broker/load/messages/received/1min', this.load1.toFixed(2)],
    ]
  }

  publishAll(): void {
    for (const [topic, value] of this.values()) this.publish(topic, value)
  }
}
