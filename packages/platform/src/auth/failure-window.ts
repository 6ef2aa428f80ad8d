/**
 * Failed-attempt limits shared by the HTTP login (per username, per address) and MQTT
 * CONNECT (per device, template or user name).
 */

/** Keys tracked at most; the oldest is forgotten beyond. */
const MAX_TRACKED = 10_000

/**
 * Failed attempts per key in a sliding window: the times of the last `limit` failures, so an
 * attacker who keeps trying is locked out until `windowMs` after their limit-th last failure.
 * Bounded: beyond MAX_TRACKED keys the oldest is forgotten (a flood of usernames from one
 * address is stopped by that address's own limit first).
 */
export class FailureWindow {
  readonly #hits = new Map<string, number[]>()

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  #recent(key: string, nowMs: number): number[] | undefined {
    const list = this.#hits.get(key)
    if (!list) return undefined
    while (list.length > 0 && (list[0] as number) <= nowMs - this.windowMs) list.shift()
    if (list.length > 0) return list
    this.#hits.delete(key)
    return undefined
  }

  /** Whole seconds until the key may try again; 0 if it may now. */
  retryAfter(key: string, nowMs: number): number {
    const list = this.#recent(key, nowMs)
    if (!list || list.length < this.limit) return 0
    const oldest = list[list.length - this.limit] as number
    return Math.max(1, Math.ceil((oldest + this.windowMs - nowMs) / 1000))
  }

  add(key: string, nowMs: number): void {
    let list = this.#recent(key, nowMs)
    if (!list) {
      if (this.#hits.size >= MAX_TRACKED) this.#hits.delete(this.#hits.keys().next().value as string)
      list = []
      this.#hits.set(key, list)
    }
    list.push(nowMs)
    if (list.length > this.limit) list.shift()
  }

  /** Takes back one attempt counted at `at` (a success, counted in advance). */
  remove(key: string, at: number): void {
    const list = this.#hits.get(key)
    const i = list ? list.lastIndexOf(at) : -1
    if (list && i >= 0) list.splice(i, 1)
  }

  clear(key?: string): void {
    if (key === undefined) this.#hits.clear()
    else this.#hits.delete(key)
  }
}
