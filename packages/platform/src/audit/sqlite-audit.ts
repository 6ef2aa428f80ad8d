/**
 * The audit log on the shared SQLite database (table `audit_log`, migration 4). Append-only:
 * there is no update or delete. `seq` is an AUTOINCREMENT key, so it only grows and is never
 * reused, even after rows are pruned; paging is a keyset on it, newest first.
 */
import { ValidationError } from '../registry/errors.js'
import { checkLimit } from '../registry/input.js'
import { checkJsonObject, type JsonObject } from '../registry/model.js'
import type { CallOptions, Page } from '../registry/repository.js'
import type { SqliteDb } from '../registry/sqlite-db.js'
import type { AuditEntry, AuditLog, AuditQuery, NewAuditEntry } from './model.js'

/** `device.create`, `provisioning_template.update`: a kind and a verb, lower case. */
const ACTION_PATTERN = /^[a-z][a-z0-9_-]{0,63}\.[a-z][a-z0-9_-]{0,63}$/
const MAX_TEXT = 256
/** Our own bearer secrets (access/sqlite-access.ts): a caller that logs one has a bug. */
const SECRET_PATTERN = /\b(stk_[0-9a-f]{16}_|sst_|ssu_)[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/

interface AuditRow {
  seq: number
  at: string
  actor: string
  action: string
  target_kind: string
  target_id: string
  details: string
}

function toEntry(r: AuditRow): AuditEntry {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    targetKind: r.target_kind,
    targetId: r.target_id,
    details: JSON.parse(r.details) as JsonObject,
  }
}

function checkText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TEXT || /\p{Cc}/u.test(value)) {
    throw new ValidationError(field, `must be 1 to ${MAX_TEXT} characters without control characters`)
  }
  return value
}

export function checkNewAuditEntry(value: unknown): NewAuditEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError('entry', 'must be an object')
  }
  const v = value as Record<string, unknown>
  const action = checkText(v.action, 'action')
  if (!ACTION_PATTERN.test(action)) {
    throw new ValidationError('action', `'${action}' is not <kind>.<verb> such as device.create`)
  }
  const details = checkJsonObject(v.details ?? {}, 'details')
  if (SECRET_PATTERN.test(JSON.stringify(details))) {
    throw new ValidationError(
      'details',
      'holds what looks like an API key or token; audit details never hold secrets',
    )
  }
  return {
    actor: checkText(v.actor, 'actor'),
    action,
    targetKind: checkText(v.targetKind, 'targetKind'),
    targetId: checkText(v.targetId, 'targetId'),
    details,
  }
}

/** Opaque to callers: `a:<seq>` in base64url, distinct from the registry's device cursors. */
function encodeCursor(seq: number): string {
  return Buffer.from(`a:${seq}`).toString('base64url')
}

function decodeCursor(cursor: unknown): number | null {
  if (cursor === undefined || cursor === null) return null
  const m =
    typeof cursor === 'string'
      ? /^a:([1-9]\d{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString())
      : null
  if (!m) throw new ValidationError('cursor', 'is not a cursor this audit log issued')
  return Number(m[1])
}

const FILTERS = [
  ['targetKind', 'target_kind'],
  ['targetId', 'target_id'],
  ['actor', 'actor'],
] as const

export function createAuditLog(db: SqliteDb): AuditLog {
  return {
    record(entry: NewAuditEntry, options?: CallOptions): Promise<AuditEntry> {
      return db.run(
        options,
        () => {
          const e = checkNewAuditEntry(entry)
          const { lastInsertRowid } = db
            .stmt(
              `INSERT INTO audit_log (at, actor, action, target_kind, target_id, details)
               VALUES (?, ?, ?, ?, ?, ?)`,
            )
            .run(db.timestamp(), e.actor, e.action, e.targetKind, e.targetId, JSON.stringify(e.details))
          return toEntry(db.stmt('SELECT * FROM audit_log WHERE seq = ?').get(lastInsertRowid) as AuditRow)
        },
        true,
      )
    },

    list(query: AuditQuery = {}, options?: CallOptions): Promise<Page<AuditEntry>> {
      return db.run(options, () => {
        const limit = checkLimit(query.limit)
        const before = decodeCursor(query.cursor)
        const where: string[] = []
        const params: Array<string | number> = []
        for (const [field, column] of FILTERS) {
          const value = query[field]
          if (value === undefined) continue
          where.push(`${column} = ?`)
          params.push(checkText(value, field))
        }
        if (before !== null) {
          where.push('seq < ?')
          params.push(before)
        }
        // At most 16 shapes of statement (3 filters and the cursor), so the statement cache holds them.
        const rows = db
          .stmt(
            `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`,
          )
          .all(...params, limit + 1) as AuditRow[]
        const more = rows.length > limit
        if (more) rows.pop()
        const last = rows.at(-1)
        return { items: rows.map(toEntry), nextCursor: more && last ? encodeCursor(last.seq) : null }
      })
    },
  }
}
