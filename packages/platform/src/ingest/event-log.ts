/**
 * The event log: telemetry whose value is a string (a state name, an alarm text, a firmware
 * message) goes here, not to the numeric time-series engine. `EventStore` is what the pipeline
 * and the API use; `SqliteEventStore` is the embedded implementation (a PostgreSQL one can come
 * later behind the same interface).
 *
 * Durability matches the engine's write-ahead log: an append resolves only once its rows are on
 * disk, and appends are group-committed (every append of one event-loop turn shares one
 * transaction and one fdatasync), so a QoS 1 message's PUBACK waits for its strings exactly as it
 * waits for its numbers, at one fsync per batch rather than per message.
 */
import { type FileHandle, open } from 'node:fs/promises'
import Database from 'better-sqlite3'
import { ValidationError } from '../registry/errors.js'

/** One string value from one device. */
export interface TelemetryEvent {
  readonly deviceId: string
  readonly metric: string
  /** Milliseconds since the Unix epoch. */
  readonly ts: number
  readonly value: string
}

export interface EventQuery {
  deviceId: string
  metric?: string
  /** Inclusive, ms. Default: the beginning. */
  from?: number
  /** Exclusive, ms. Default: no end. */
  to?: number
  /** Page size. */
  limit: number
  /** `nextCursor` of the previous page. */
  cursor?: string
}

export interface StoredEvent {
  metric: string
  ts: number
  value: string
}

export interface EventPage {
  /** Oldest first (by timestamp, then arrival). */
  items: StoredEvent[]
  nextCursor: string | null
}

export interface EventStoreStats {
  /** Events appended but not yet durable. */
  pending: number
  /** Group commits done, and events they made durable. */
  commits: number
  events: number
  /** Events deleted by retention (age or count). */
  pruned: number
}

export interface EventStore {
  /** Resolves once every event is durable; rejects if they could not be stored. */
  append(events: readonly TelemetryEvent[]): Promise<void>
  query(query: EventQuery): Promise<EventPage>
  /** Applies retention now; resolves with the number of events deleted. */
  prune(): Promise<number>
  stats(): EventStoreStats
  /** Waits for pending appends, then closes. */
  close(): Promise<void>
}

export interface SqliteEventStoreOptions {
  /** Delete events whose timestamp is older than this (ms before now). Default 30 days. */
  retentionMs?: number
  /** Keep at most this many events: the oldest (by arrival) go first. Default 10,000,000. */
  maxEvents?: number
  /** fdatasync before an append resolves. Default true; false only for tests and benchmarks. */
  fsync?: boolean
  /** How often retention runs (ms); 0 = only when prune() is called. Default 60,000. */
  pruneEveryMs?: number
  now?: () => number
  /** Told about a failed background retention run (retried at the next one). */
  onError?: (err: unknown) => void
}

export const DEFAULT_EVENT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000
export const DEFAULT_MAX_EVENTS = 10_000_000
/** Rows deleted per statement by retention, so that a large backlog never blocks the event loop long. */
const PRUNE_CHUNK = 5_000

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
}

const encodeCursor = (ts: number, id: number): string => Buffer.from(`e:${ts}:${id}`).toString('base64url')

function decodeCursor(cursor: string): { ts: number; id: number } {
  const m = /^e:(-?\d{1,16}):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString())
  if (!m) throw new ValidationError('cursor', 'is not a cursor this event log issued')
  return { ts: Number(m[1]), id: Number(m[2]) }
}

export class SqliteEventStore implements EventStore {
  readonly #db: Database.Database
  readonly #path: string
  readonly #fsync: boolean
  readonly #retentionMs: number
  readonly #maxEvents: number
  readonly #now: () => number
  readonly #insert: Database.Statement
  readonly #insertMany: (events: readonly TelemetryEvent[]) => void
  #pending: TelemetryEvent[] = []
  #waiters: Waiter[] = []
  #running: Promise<void> | undefined
  #wal: FileHandle | undefined
  #timer: NodeJS.Timeout | undefined
  #pruning = false
  #closed = false
  readonly #stats: EventStoreStats = { pending: 0, commits: 0, events: 0, pruned: 0 }

  constructor(path: string, options: SqliteEventStoreOptions = {}) {
    this.#path = path
    this.#fsync = options.fsync ?? true
    this.#retentionMs = options.retentionMs ?? DEFAULT_EVENT_RETENTION_MS
    this.#maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS
    this.#now = options.now ?? Date.now
    this.#db = new Database(path)
    try {
      this.#db.pragma('journal_mode = WAL')
      // NORMAL writes the WAL without syncing it; durability comes from our own fdatasync of the
      // WAL file after each group commit, on libuv's thread pool (#sync), so the event loop never
      // waits for the disk. SQLite itself still syncs the WAL before every checkpoint and the
      // database file after it, so a checkpointed (older) commit is never lost either.
      this.#db.pragma(`synchronous = ${this.#fsync ? 'NORMAL' : 'OFF'}`)
      this.#db.exec(`
        CREATE TABLE IF NOT EXISTS events (
          id INTEGER PRIMARY KEY,
          device TEXT NOT NULL,
          metric TEXT NOT NULL,
          ts INTEGER NOT NULL,
          value TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS events_device_ts ON events(device, ts, id);
        CREATE INDEX IF NOT EXISTS events_device_metric_ts ON events(device, metric, ts, id);
        CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
      `)
      this.#insert = this.#db.prepare('INSERT INTO events (device, metric, ts, value) VALUES (?, ?, ?, ?)')
      this.#insertMany = this.#db.transaction((events: readonly TelemetryEvent[]) => {
        for (const e of events) this.#insert.run(e.deviceId, e.metric, e.ts, e.value)
      })
    } catch (err) {
      this.#db.close()
      throw err
    }
    const every = options.pruneEveryMs ?? 60_000
    if (every > 0) {
      this.#timer = setInterval(() => {
        this.prune().catch((err: unknown) => options.onError?.(err))
      }, every)
      this.#timer.unref()
    }
  }

  append(events: readonly TelemetryEvent[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the event log is closed'))
    if (events.length === 0) return Promise.resolve()
    for (const e of events) this.#pending.push(e)
    this.#stats.pending += events.length
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }))
    // Let the rest of this turn's messages join the same transaction and fsync.
    this.#running ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#run())
    return done
  }

  async #run(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const events = this.#pending
        const waiters = this.#waiters
        this.#pending = []
        this.#waiters = []
        try {
          this.#insertMany(events)
          if (this.#fsync) await this.#sync()
          this.#stats.commits++
          this.#stats.events += events.length
          for (const w of waiters) w.resolve()
        } catch (err) {
          for (const w of waiters) w.reject(err)
        } finally {
          this.#stats.pending -= events.length
        }
      }
    } finally {
      this.#running = undefined
    }
  }

  /** fdatasync of the WAL file: the frames the last commit wrote (through SQLite's own descriptor) reach the disk. */
  async #sync(): Promise<void> {
    // SQLite keeps the WAL file (same inode) while a connection is open: one handle serves until close.
    this.#wal ??= await open(`${this.#path}-wal`, 'r')
    await this.#wal.datasync()
  }

  async query(q: EventQuery): Promise<EventPage> {
    const where = ['device = ?']
    const args: Array<string | number> = [q.deviceId]
    if (q.metric !== undefined) {
      where.push('metric = ?')
      args.push(q.metric)
    }
    if (q.from !== undefined) {
      where.push('ts >= ?')
      args.push(q.from)
    }
    if (q.to !== undefined) {
      where.push('ts < ?')
      args.push(q.to)
    }
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor)
      where.push('(ts > ? OR (ts = ? AND id > ?))')
      args.push(c.ts, c.ts, c.id)
    }
    const rows = this.#db
      .prepare(
        `SELECT id, metric, ts, value FROM events WHERE ${where.join(' AND ')} ORDER BY ts, id LIMIT ?`,
      )
      .all(...args, q.limit + 1) as Array<{ id: number; metric: string; ts: number; value: string }>
    const more = rows.length > q.limit
    if (more) rows.length = q.limit
    const last = rows.at(-1)
    return {
      items: rows.map((r) => ({ metric: r.metric, ts: r.ts, value: r.value })),
      nextCursor: more && last ? encodeCursor(last.ts, last.id) : null,
    }
  }

  async prune(): Promise<number> {
    if (this.#closed || this.#pruning) return 0
    this.#pruning = true
    let deleted = 0
    try {
      const horizon = this.#now() - this.#retentionMs
      const byAge = this.#db.prepare(
        `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < ? LIMIT ${PRUNE_CHUNK})`,
      )
      const byCount = this.#db.prepare(
        `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= ? ORDER BY id LIMIT ${PRUNE_CHUNK})`,
      )
      // In chunks, yielding between them: a large backlog must not hold the event loop.
      const chunks = async (run: () => number): Promise<void> => {
        while (!this.#closed) {
          const n = run()
          deleted += n
          if (n < PRUNE_CHUNK) return
          await new Promise<void>((resolve) => setImmediate(resolve))
        }
      }
      await chunks(() => byAge.run(horizon).changes)
      if (this.#closed) return deleted
      // Ids grow with arrival: keeping the newest `maxEvents` ids keeps at most that many rows.
      const { hi } = this.#db.prepare('SELECT MAX(id) AS hi FROM events').get() as { hi: number | null }
      if (hi !== null && hi > this.#maxEvents) await chunks(() => byCount.run(hi - this.#maxEvents).changes)
    } finally {
      this.#pruning = false
    }
    this.#stats.pruned += deleted
    return deleted
  }

  stats(): EventStoreStats {
    return { ...this.#stats }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    while (this.#running) await this.#running
    await this.#wal?.close()
    this.#db.close()
  }
}
