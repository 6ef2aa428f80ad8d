/**
 * The delivery ledger: every telemetry message is counted at each stage it passes, per device
 * type, so "where did my data go?" always has an answer (issue 4). Users of other platforms
 * complain most about data lost silently under load; here every drop is a counted stage.
 *
 * A message is `received`, then either `rejected` (a payload that does not decode) or `decoded`.
 * Each decoded point then has one fate: `sampled` or `shed` by back-pressure (pipeline.ts), or
 * `queued` for storage and later `stored` (durable) or, if storage fails, `failed`. A message is
 * counted at the fate of its points: `sampled` or `shed` if none of them was queued, else `queued`
 * then `stored`/`failed`. A message whose sender waits for an acknowledgement (QoS 1/2, HTTP) is
 * `acknowledged` when that acknowledgement is released. Points are counted beside messages.
 * Invariants the tests check, for messages and for points: received = rejected + decoded;
 * decoded = sampled + shed + queued; queued = stored + failed + (still queued: the pipeline's
 * queue depth).
 */

export const LEDGER_STAGES = [
  'received',
  'decoded',
  'rejected',
  'queued',
  'sampled',
  'shed',
  'stored',
  'failed',
  'acknowledged',
] as const
export type LedgerStage = (typeof LEDGER_STAGES)[number]

/** Device type label for devices without a type. */
export const UNTYPED = '(none)'

export interface LedgerCounts {
  messages: Record<LedgerStage, number>
  points: Record<LedgerStage, number>
}

export interface LedgerSnapshot {
  /** By device type id (UNTYPED for devices without one). */
  byType: Record<string, LedgerCounts>
  total: LedgerCounts
}

const zero = (): Record<LedgerStage, number> =>
  Object.fromEntries(LEDGER_STAGES.map((s) => [s, 0])) as Record<LedgerStage, number>

/** Called on every count: the platform mirrors the ledger into Prometheus counters. */
export type LedgerListener = (typeId: string, stage: LedgerStage, messages: number, points: number) => void

export class DeliveryLedger {
  readonly #byType = new Map<string, LedgerCounts>()
  readonly #listeners: LedgerListener[] = []

  /** Counts `messages` messages carrying `points` points at `stage` for devices of `typeId`. */
  count(typeId: string | null, stage: LedgerStage, messages: number, points: number): void {
    const type = typeId ?? UNTYPED
    let c = this.#byType.get(type)
    if (!c) {
      c = { messages: zero(), points: zero() }
      this.#byType.set(type, c)
    }
    c.messages[stage] += messages
    c.points[stage] += points
    for (const l of this.#listeners) l(type, stage, messages, points)
  }

  onCount(listener: LedgerListener): void {
    this.#listeners.push(listener)
  }

  snapshot(): LedgerSnapshot {
    const total: LedgerCounts = { messages: zero(), points: zero() }
    const byType: Record<string, LedgerCounts> = {}
    for (const [type, c] of this.#byType) {
      byType[type] = { messages: { ...c.messages }, points: { ...c.points } }
      for (const s of LEDGER_STAGES) {
        total.messages[s] += c.messages[s]
        total.points[s] += c.points[s]
      }
    }
    return { byType, total }
  }
}
