/**
 * The HTTP API's errors and its one table from error to status. Every error leaves as
 * `{ statusCode, code, message }` (+ `field` when one input is at fault): domain errors keep
 * their own codes (STRATA_REGISTRY_*, STRATA_ACCESS_*, STRATA_X509_*), failures of the HTTP
 * layer itself get the STRATA_API_* codes below. Anything unexpected is a 500 with a generic
 * message; its stack goes to the log, never to the client.
 */
import type { TelemetryErrorCode } from '@strata/protocol'
import type { FastifyError } from 'fastify'
import type { AccessErrorCode } from '../access/errors.js'
import type { QueryErrorCode } from '../query/errors.js'
import type { RegistryErrorCode } from '../registry/errors.js'

export const API_ERROR_CODES = [
  'STRATA_API_UNAUTHENTICATED',
  'STRATA_API_FORBIDDEN',
  'STRATA_API_INVALID_REQUEST',
  'STRATA_API_MALFORMED_JSON',
  'STRATA_API_BODY_TOO_LARGE',
  'STRATA_API_UNSUPPORTED_MEDIA_TYPE',
  'STRATA_API_NO_ROUTE',
  'STRATA_API_METHOD_NOT_ALLOWED',
  'STRATA_API_RATE_LIMITED',
  'STRATA_API_BUSY',
  'STRATA_API_INTERNAL',
  'STRATA_API_UNAVAILABLE',
] as const

export type ApiErrorCode = (typeof API_ERROR_CODES)[number]

/** The wire shape of every error answer. */
export interface ErrorBody {
  statusCode: number
  code: string
  message: string
  /** The input at fault: `body.name`, `querystring.limit`, `params.id`, `headers.if-match`. */
  field?: string
}

/**
 * An error the API raises itself; `code` may also be a registry code (412 on If-Match) or a
 * telemetry code (HTTP ingest answers a refused payload with the decoder's code).
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode | RegistryErrorCode | TelemetryErrorCode,
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

export const unauthenticated = (message = 'a valid bearer token is required'): ApiError =>
  new ApiError(401, 'STRATA_API_UNAUTHENTICATED', message)

export const forbidden = (message: string): ApiError => new ApiError(403, 'STRATA_API_FORBIDDEN', message)

/**
 * Status of each domain code. ConflictError is 412: the API raises it only when an If-Match
 * did not hold (an update without If-Match re-reads and retries instead, and answers 409 if
 * the record keeps moving), so it always means "your precondition failed".
 */
const DOMAIN_STATUS: Readonly<
  Record<RegistryErrorCode | AccessErrorCode | QueryErrorCode | 'STRATA_X509_INVALID', number>
> = {
  STRATA_REGISTRY_INVALID: 400,
  STRATA_REGISTRY_SELECTOR: 400,
  STRATA_REGISTRY_NOT_FOUND: 404,
  STRATA_REGISTRY_EXISTS: 409,
  STRATA_REGISTRY_CONFLICT: 412,
  STRATA_REGISTRY_IN_USE: 409,
  STRATA_REGISTRY_SCHEMA: 500,
  STRATA_ACCESS_DENIED: 401,
  STRATA_ACCESS_RATE_LIMITED: 429,
  STRATA_X509_INVALID: 400,
  STRATA_QUERY_INVALID: 400,
  STRATA_QUERY_TOO_LARGE: 400,
  STRATA_QUERY_UNSUPPORTED: 400,
}

const hasOwn = (o: object, k: string): boolean => Object.hasOwn(o, k)

/** What the error handler sends, plus whether the cause is a server fault worth a stack trace. */
export interface MappedError {
  body: ErrorBody
  headers: Record<string, string>
  /** true for 5xx: log the original error with its stack. */
  serverFault: boolean
}

interface ValidationIssue {
  instancePath?: string
  schemaPath?: string
  keyword?: string
  message?: string
  params?: Record<string, unknown>
}

/** `body.tags.floor` from a validation context and a JSON pointer (plus the property at fault). */
function fieldOf(context: string, issue: ValidationIssue): string {
  const path = (issue.instancePath ?? '')
    .split('/')
    .filter((p) => p !== '')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  const params = issue.params ?? {}
  const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v)
  const name =
    issue.keyword === 'required'
      ? first(params.requiredProperties ?? params.missingProperty)
      : issue.keyword === 'additionalProperties'
        ? first(params.additionalProperties ?? params.additionalProperty)
        : undefined
  if (typeof name === 'string') path.push(name)
  return [context, ...path].join('.')
}

function describeIssue(issue: ValidationIssue): string {
  const params = issue.params ?? {}
  switch (issue.keyword) {
    case 'required':
      return 'is required'
    case 'additionalProperties':
    case 'boolean':
      return 'is not a known field'
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`
    case 'enum':
      return Array.isArray(params.allowedValues)
        ? `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
        : 'is not one of the allowed values'
    case 'anyOf':
    case 'oneOf':
      return 'matches none of the accepted shapes'
    default:
      return issue.message ?? 'is not valid'
  }
}

const branchOf = (issue: ValidationIssue): string | undefined =>
  /^#\/anyOf\/(\d+)/.exec(issue.schemaPath ?? '')?.[1]

/**
 * One field and message out of a validator's issues. A union body (`anyOf`) reports one issue
 * per branch; branches whose discriminator (`kind`) did not match are noise, so they are
 * dropped first: `{kind: 'nope'}` gives "must be one of \"token\", \"certificate\"", and
 * `{kind: 'certificate'}` "needs csrPem or certificatePem".
 */
function summarize(context: string, all: readonly ValidationIssue[]): { field: string; message: string } {
  let issues = all.filter((i) => i.keyword !== 'anyOf' && i.keyword !== 'oneOf')
  const rejected = new Set(issues.filter((i) => i.keyword === 'const').map(branchOf))
  rejected.delete(undefined)
  if (rejected.size > 0) {
    const viable = issues.filter((i) => !rejected.has(branchOf(i)))
    if (viable.length === 0) {
      const consts = issues.filter((i) => i.keyword === 'const')
      const field = fieldOf(context, consts[0] ?? {})
      const allowed = [...new Set(consts.map((i) => JSON.stringify(i.params?.allowedValue)))]
      return { field, message: `${field} must be one of ${allowed.join(', ')}` }
    }
    const missing = viable.filter((i) => i.keyword === 'required')
    if (missing.length === viable.length && new Set(missing.map(branchOf)).size > 1) {
      const names = [...new Set(missing.map((i) => fieldOf(context, i).split('.').pop()))]
      return { field: fieldOf(context, missing[0] ?? {}), message: `${context} needs ${names.join(' or ')}` }
    }
    issues = viable
  }
  // A missing or unknown field says most.
  const rank = (i: ValidationIssue): number =>
    i.keyword === 'additionalProperties' || i.keyword === 'boolean' ? 0 : 1
  const issue = [...issues].sort((a, b) => rank(a) - rank(b))[0] ?? all[0]
  if (!issue) return { field: context, message: `${context} is not valid` }
  const field = fieldOf(context, issue)
  return { field, message: `${field} ${describeIssue(issue)}` }
}

const isFastifyError = (err: unknown): err is FastifyError & { validationContext?: string } =>
  err instanceof Error && typeof (err as { code?: unknown }).code === 'string'

/** Maps anything thrown on the request path to its answer. */
export function mapError(err: unknown): MappedError {
  const headers: Record<string, string> = {}
  const answer = (statusCode: number, code: string, message: string, field?: string): MappedError => {
    if (statusCode === 401) headers['www-authenticate'] = 'Bearer'
    const body: ErrorBody = { statusCode, code, message }
    if (field !== undefined) body.field = field
    return { body, headers, serverFault: statusCode >= 500 }
  }
  if (err instanceof ApiError) return answer(err.statusCode, err.code, err.message, err.field)
  if (!(err instanceof Error)) return answer(500, 'STRATA_API_INTERNAL', 'internal error')
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && hasOwn(DOMAIN_STATUS, code)) {
    const status = DOMAIN_STATUS[code as keyof typeof DOMAIN_STATUS]
    if (status >= 500) return answer(500, 'STRATA_API_INTERNAL', 'internal error')
    const retryAfter = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds
    if (status === 429 && typeof retryAfter === 'number')
      headers['retry-after'] = String(Math.ceil(retryAfter))
    const field = (err as { field?: unknown }).field
    return answer(status, code, err.message, typeof field === 'string' ? field : undefined)
  }
  if (!isFastifyError(err)) return answer(500, 'STRATA_API_INTERNAL', 'internal error')
  if (err.validation) {
    const { field, message } = summarize(err.validationContext ?? 'body', err.validation as ValidationIssue[])
    return answer(400, 'STRATA_API_INVALID_REQUEST', message, field)
  }
  switch (err.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return answer(414, 'STRATA_API_INVALID_REQUEST', 'a path segment is longer than 256 characters', 'url')
    case 'FST_ERR_BAD_URL':
      return answer(400, 'STRATA_API_INVALID_REQUEST', 'the URL path has a malformed %-escape', 'url')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return answer(
        400,
        'STRATA_API_MALFORMED_JSON',
        'the body is empty but the content type is JSON',
        'body',
      )
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return answer(400, 'STRATA_API_MALFORMED_JSON', 'the body is not valid JSON', 'body')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return answer(413, 'STRATA_API_BODY_TOO_LARGE', 'the body is larger than this server accepts')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return answer(
        415,
        'STRATA_API_UNSUPPORTED_MEDIA_TYPE',
        'send the body as application/json',
        'headers.content-type',
      )
  }
  // Fastify's JSON parser reports bad syntax (and `__proto__` keys) as a 400 SyntaxError without a code.
  if (err instanceof SyntaxError && err.statusCode === 400) {
    return answer(400, 'STRATA_API_MALFORMED_JSON', 'the body is not valid JSON', 'body')
  }
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) {
    // Fastify's own messages may quote the URL: keep the answer short.
    const message = err.message.length > 200 ? `${err.message.slice(0, 200)}…` : err.message
    return answer(status, 'STRATA_API_INVALID_REQUEST', message)
  }
  return answer(500, 'STRATA_API_INTERNAL', 'internal error')
}
