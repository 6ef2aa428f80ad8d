/**
 * Optimistic concurrency over HTTP (RFC 9110 §8.8.3, §13.1.1). A record's `version` is its
 * strong ETag, `"<version>"`. PATCH and DELETE honour If-Match: `*`, or one or more strong
 * ETags. Without If-Match an update applies to whatever version is current: read, then write
 * naming that version, and read again if someone else wrote in between.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ConflictError } from '../registry/errors.js'
import { ApiError } from './errors.js'

export type Precondition =
  | { kind: 'none' }
  | { kind: 'any' }
  | { kind: 'versions'; versions: readonly number[] }

/** Attempts of an unconditional update that keeps losing races before it answers 409. */
const UNCONDITIONAL_ATTEMPTS = 3

export const etagOf = (version: number): string => `"${version}"`

/** Sets the ETag of a versioned record and returns the record, for `return withEtag(...)`. */
export function withEtag<T extends { version: number }>(reply: FastifyReply, record: T): T {
  reply.header('etag', etagOf(record.version))
  return record
}

const badIfMatch = (message: string): ApiError =>
  new ApiError(400, 'STRATA_API_INVALID_REQUEST', `If-Match ${message}`, 'headers.if-match')

export function parseIfMatch(request: FastifyRequest): Precondition {
  const header = request.headers['if-match']
  if (header === undefined) return { kind: 'none' }
  const value = header.trim()
  if (value === '*') return { kind: 'any' }
  const versions: number[] = []
  for (const part of value.split(',')) {
    const tag = part.trim()
    if (tag.startsWith('W/')) {
      throw badIfMatch('takes strong ETags only: send the ETag exactly as received, without W/')
    }
    const m = /^"([1-9][0-9]{0,15})"$/.exec(tag)
    const version = m?.[1] === undefined ? Number.NaN : Number(m[1])
    if (!Number.isSafeInteger(version)) {
      const shown = tag.length > 40 ? `${tag.slice(0, 40)}…` : tag
      throw badIfMatch(`must be * or ETags such as "3" (quotes included); got ${JSON.stringify(shown)}`)
    }
    versions.push(version)
  }
  return { kind: 'versions', versions }
}

function preconditionFailed(current: number, versions: readonly number[]): ApiError {
  return new ApiError(
    412,
    'STRATA_REGISTRY_CONFLICT',
    `the record is at version ${current} (ETag ${etagOf(current)}), not ${versions.map(etagOf).join(' or ')}`,
  )
}

/**
 * Runs `write(expectedVersion)` under the request's precondition. A single ETag goes straight
 * to the store, which compares atomically (ConflictError, mapped to 412); a list or `*` reads
 * first, then writes naming the version it read.
 */
export async function conditionalUpdate<T extends { version: number }>(
  pre: Precondition,
  read: () => Promise<T>,
  write: (expectedVersion: number) => Promise<T>,
): Promise<T> {
  if (pre.kind === 'versions' && pre.versions.length === 1) return write(pre.versions[0] as number)
  if (pre.kind === 'versions' || pre.kind === 'any') {
    const current = await read()
    if (pre.kind === 'versions' && !pre.versions.includes(current.version)) {
      throw preconditionFailed(current.version, pre.versions)
    }
    return write(current.version)
  }
  for (let attempt = 1; ; attempt++) {
    const current = await read()
    try {
      return await write(current.version)
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err
      if (attempt >= UNCONDITIONAL_ATTEMPTS) {
        throw new ApiError(
          409,
          'STRATA_REGISTRY_CONFLICT',
          `the record changed ${attempt} times while this update was applied; retry`,
          undefined,
          { cause: err },
        )
      }
    }
  }
}

/** Deletes under the request's precondition; without If-Match the delete is unconditional. */
export async function conditionalDelete(
  pre: Precondition,
  read: () => Promise<{ version: number }>,
  remove: (expectedVersion?: number) => Promise<void>,
): Promise<void> {
  if (pre.kind === 'none') return remove(undefined)
  if (pre.kind === 'versions' && pre.versions.length === 1) return remove(pre.versions[0])
  const current = await read()
  if (pre.kind === 'versions' && !pre.versions.includes(current.version)) {
    throw preconditionFailed(current.version, pre.versions)
  }
  return remove(current.version)
}
