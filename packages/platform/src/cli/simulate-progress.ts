/**
 * The simulator's live progress line and its end-of-run summary. On a terminal the line is
 * rewritten in place every second; otherwise (a log, CI) one line is written every few
 * seconds, so a log file is readable and not a wall of carriage returns. Both go to stderr:
 * stdout carries only the summary (or its JSON with --json).
 */
import type { FleetRates, FleetStats } from '@strata/device/simulator'
import { ratesBetween } from '@strata/device/simulator'

/** `65000` ms as `1m05s`; under a minute, `12.3s`. */
export function duration(ms: number): string {
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)}s`
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = String(Math.floor(s % 60)).padStart(2, '0')
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${rest}s` : `${m}m${rest}s`
}

const rate = (n: number): string => (n >= 100 ? String(Math.round(n)) : n.toFixed(1))

export function progressLine(s: FleetStats, r: FleetRates): string {
  return (
    `connected ${s.connected}/${s.devices}  msgs/s ${rate(r.messagesPerSecond)}  ` +
    `points/s ${rate(r.pointsPerSecond)}  errors ${s.errors}  reconnects ${s.reconnects}  ` +
    `elapsed ${duration(s.elapsedMs)}`
  )
}

export interface ProgressOptions {
  stats: () => FleetStats
  out: NodeJS.WritableStream
  tty: boolean
  /** Between lines when not a terminal. Default 5 s. */
  logEveryMs?: number
}

/** Writes the progress line until stopped. */
export class Progress {
  readonly #o: ProgressOptions
  readonly #timer: ReturnType<typeof setInterval>
  /** The counters at the last line written: its rates are averages since then. */
  #previous: FleetStats
  #lineShown = false

  constructor(o: ProgressOptions) {
    this.#o = o
    this.#previous = o.stats()
    this.#timer = setInterval(() => this.update(), 1_000)
    this.#timer.unref()
  }

  private update(): void {
    const now = this.#o.stats()
    if (!this.#o.tty && now.elapsedMs - this.#previous.elapsedMs < (this.#o.logEveryMs ?? 5_000)) return
    const line = progressLine(now, ratesBetween(this.#previous, now))
    this.#previous = now
    if (this.#o.tty) {
      // \x1b[K clears what a longer previous line left behind.
      this.#o.out.write(`\r${line}\x1b[K`)
      this.#lineShown = true
    } else {
      this.#o.out.write(`${line}\n`)
    }
  }

  /** Prints a note above the live line. */
  note(text: string): void {
    if (this.#o.tty && this.#lineShown) this.#o.out.write('\r\x1b[K')
    this.#o.out.write(`${text}\n`)
  }

  stop(): void {
    clearInterval(this.#timer)
    if (this.#o.tty && this.#lineShown) this.#o.out.write('\n')
  }
}

/** The summary: one `key: value` line each, what a person reads after Ctrl-C. */
export function summaryFields(s: FleetStats): Array<[string, string | number]> {
  const seconds = s.elapsedMs / 1000
  const per = (n: number): string => (seconds > 0 ? `${rate(n / seconds)}/s` : '-')
  const kinds = Object.entries(s.errorsByKind)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
  const fields: Array<[string, string | number]> = [
    ['devices', `${s.everConnected} of ${s.devices} connected`],
    ['elapsed', duration(s.elapsedMs)],
    ['samples', s.samples],
    ['messages', `${s.sentMessages} acknowledged (${per(s.sentMessages)})`],
    ['points', `${s.sentPoints} acknowledged (${per(s.sentPoints)})`],
    ['reconnects', s.reconnects],
    ['errors', kinds.length > 0 ? `${s.errors} (${kinds.join(', ')})` : s.errors],
  ]
  if (s.queuedPoints > 0 || s.droppedPoints > 0)
    fields.push(['unsent', `${s.queuedPoints} points still buffered, ${s.droppedPoints} dropped`])
  if (s.faultDisconnects > 0) fields.push(['dropped sockets', s.faultDisconnects])
  const b = s.badPayloads
  if (b.sent > 0)
    fields.push([
      'bad payloads',
      `${b.sent} sent, ${b.refused} refused by the platform, ${b.accepted} accepted, ${b.lost} lost with a connection`,
    ])
  for (const [kind, message] of Object.entries(s.lastErrors)) fields.push([`last ${kind}`, message])
  return fields
}
