/**
 * The audit log: who changed what, when. Append-only; read through the API.
 * `actor` is `user:NAME`, `apikey:ID`, `device:ID`, `claim:TEMPLATE` or `system`;
 * `action` is `<kind>.<verb>` such as `device.create`, `credential.revoke`, `user.update`.
 */
import type { JsonObject } from '../registry/model.js'
import type { CallOptions, Page } from '../registry/repository.js'

export interface AuditEntry {
  /** Grows by one per entry, in commit order. */
  seq: number
  at: string
  actor: string
  action: string
  targetKind: string
  targetId: string
  /** What changed (never a secret). */
  details: JsonObject
}

export type NewAuditEntry = Omit<AuditEntry, 'seq' | 'at'>

export interface AuditQuery {
  targetKind?: string
  targetId?: string
  actor?: string
  /** Newest first; `cursor` is the previous page's nextCursor. */
  cursor?: string | null
  /** 1..1000, default 100. */
  limit?: number
}

export interface AuditLog {
  record(entry: NewAuditEntry, options?: CallOptions): Promise<AuditEntry>
  list(query?: AuditQuery, options?: CallOptions): Promise<Page<AuditEntry>>
}
