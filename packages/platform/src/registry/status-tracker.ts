/**
 * Keeps devices' connection status and last-seen current from broker events without a
 * database write per message or per event: changes are collected in memory and written in
 * one recordStatus batch every `flushMs`; devices that stay connected get their last-seen
 * refreshed every `refreshMs` (a connected client is alive: the broker drops it after 1.5x
 * its keep-alive without a packet).
 */
import type { Logger } from '@strata/broker'
import type { RegistryRepository, StatusUpdate } from './repository.js'

export interface StatusTrackerOptions {
  registry: RegistryRepository
  logger: Logger
  /** Default 2000 ms. */
  flushMs?: number
  /** Default 60000 ms. */
  refreshMs?: number
  now?: () => Date
}

export class StatusTracker {
  readonly #registry: RegistryRepository
  readonly #log: Logger
  readonly #now: () => Date
  /** Connections per online device: a session takeover connects the new one before the old one is gone. */
  readonly #connections = new Map<string, number>()
  #pending = new Map<string, StatusUpdate>()
  #flushing: Promise<void> = Promise.resolve()
  readonly #flushTimer: NodeJS.Timeout
  readonly #refreshTimer: NodeJS.Timeout

  constructor(options: StatusTrackerOptions) {
    this.#registry = options.registry
    this.#log = options.logger
    this.#now = options.now ?? (() => new Date())
    this.#flushTimer = setInterval(() => void this.flush(), options.flushMs ?? 2000)
    this.#refreshTimer = setInterval(() => this.#refresh(), options.refreshMs ?? 60_000)
    this.#flushTimer.unref()
    this.#refreshTimer.unref()
  }

  /**
   * After a restart nobody is connected yet: a device the database still shows online
   * (the previous process was killed) is marked offline, keeping its last-seen.
   */
  async reset(): Promise<void> {
    const updates: StatusUpdate[] = []
    let cursor: string | null = null
    do {
      const page = await this.#registry.listDevices({ selector: 'online:true', limit: 1000, cursor })
      for (const d of page.items) {
        const status = await this.#registry.getStatus(d.id)
        updates.push({ deviceId: d.id, online: false, lastSeen: status.lastSeen })
      }
      cursor = page.nextCursor
    } while (cursor !== null)
    if (updates.length > 0) await this.#registry.recordStatus(updates)
  }

  connected(deviceId: string): void {
    this.#connections.set(deviceId, (this.#connections.get(deviceId) ?? 0) + 1)
    this.#pending.set(deviceId, { deviceId, online: true, lastSeen: this.#now().toISOString() })
  }

  disconnected(deviceId: string): void {
    const n = (this.#connections.get(deviceId) ?? 1) - 1
    if (n > 0) {
      this.#connections.set(deviceId, n)
      return
    }
    this.#connections.delete(deviceId)
    this.#pending.set(deviceId, { deviceId, online: false, lastSeen: this.#now().toISOString() })
  }

  isOnline(deviceId: string): boolean {
    return this.#connections.has(deviceId)
  }

  #refresh(): void {
    const lastSeen = this.#now().toISOString()
    for (const deviceId of this.#connections.keys()) {
      if (!this.#pending.has(deviceId)) this.#pending.set(deviceId, { deviceId, online: true, lastSeen })
    }
  }

  /** Writes what changed since the last flush; flushes never overlap. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.size === 0) return
      const batch = [...this.#pending.values()]
      this.#pending = new Map()
      try {
        await this.#registry.recordStatus(batch)
      } catch (err) {
        // Put the batch back unless newer news arrived for the same device meanwhile.
        for (const u of batch) if (!this.#pending.has(u.deviceId)) this.#pending.set(u.deviceId, u)
        this.#log.error(
          { err: (err as Error).message, devices: batch.length },
          'device status not recorded; retrying',
        )
      }
    })
    return this.#flushing
  }

  /** Stops the timers and writes every still-connected device as offline, now. */
  async close(): Promise<void> {
    clearInterval(this.#flushTimer)
    clearInterval(this.#refreshTimer)
    const lastSeen = this.#now().toISOString()
    for (const deviceId of this.#connections.keys())
      this.#pending.set(deviceId, { deviceId, online: false, lastSeen })
    this.#connections.clear()
    await this.flush()
  }
}
