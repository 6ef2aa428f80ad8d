/**
 * A small typed client of the platform's HTTP API, for the management commands. Every call is
 * JSON in, JSON out; a refusal becomes one ApiError (the server's code and message), a
 * server that cannot be reached becomes one ServerUnreachableError naming the URL.
 */

/** The API's error body: `{statusCode, code, message, field?}` (src/api/errors.ts). */
interface ErrorBody {
  statusCode?: unknown
  code?: unknown
  message?: unknown
  field?: unknown
}

/** The server refused the call. `code` is its STRATA_* code, `message` written for a person. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** No answer at all: refused connection, unknown host, timeout. */
export class ServerUnreachableError extends Error {
  constructor(
    readonly url: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

export interface ApiClientOptions {
  /** Base URL of the platform, e.g. `http://127.0.0.1:8080`; the paths start with /api. */
  url: string
  /** API key or session token, sent as `Authorization: Bearer`; absent for login and setup. */
  token?: string
  /** Cancels every call made through this client. */
  signal?: AbortSignal
  /** Per-call limit. Default 30 000 ms. */
  timeoutMs?: number
}

export interface CallOptions {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | undefined>
  /** Sent as If-Match (the record's version, quoted as the API's ETag). */
  ifMatch?: number
}

/** What Node's fetch reports in `cause.code` when no HTTP answer came. */
const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
}

function unreachable(base: string, reason: string, cause?: unknown): ServerUnreachableError {
  return new ServerUnreachableError(
    base,
    `cannot reach the Strata API at ${base} (${reason}): is the platform running ("strata up")? ` +
      'Point at it with --url or STRATA_URL',
    { cause },
  )
}

export class ApiClient {
  readonly url: string
  readonly #token: string | undefined
  readonly #signal: AbortSignal | undefined
  readonly #timeoutMs: number

  constructor(options: ApiClientOptions) {
    this.url = options.url.replace(/\/+$/, '')
    this.#token = options.token
    this.#signal = options.signal
    this.#timeoutMs = options.timeoutMs ?? 30_000
  }

  get<T>(path: string, options?: CallOptions): Promise<T> {
    return this.request<T>('GET', path, undefined, options)
  }

  post<T>(path: string, body: unknown = {}, options?: CallOptions): Promise<T> {
    return this.request<T>('POST', path, body, options)
  }

  patch<T>(path: string, body: unknown, options?: CallOptions): Promise<T> {
    return this.request<T>('PATCH', path, body, options)
  }

  delete<T = void>(path: string, options?: CallOptions): Promise<T> {
    return this.request<T>('DELETE', path, undefined, options)
  }

  /** Sends one request; resolves with the parsed JSON body (undefined for 204). */
  async request<T>(method: string, path: string, body?: unknown, options?: CallOptions): Promise<T> {
    return parseJson(await this.#send(method, path, body, options, 'application/json')) as T
  }

  /**
   * A streamed NDJSON answer (the telemetry queries), one parsed value per line. The CLI reads
   * it whole: its queries are bounded by their `limit`.
   */
  async lines(method: string, path: string, body?: unknown, options?: CallOptions): Promise<unknown[]> {
    const text = await this.#send(method, path, body, options, 'application/x-ndjson')
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => parseJson(line))
  }

  async #send(
    method: string,
    path: string,
    body: unknown,
    options: CallOptions | undefined,
    accept: string,
  ): Promise<string> {
    const target = new URL(this.url + path)
    for (const [name, value] of Object.entries(options?.query ?? {})) {
      if (value !== undefined) target.searchParams.set(name, String(value))
    }
    const headers: Record<string, string> = { accept }
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (options?.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`
    const timeout = AbortSignal.timeout(this.#timeoutMs)
    const signal = this.#signal ? AbortSignal.any([this.#signal, timeout]) : timeout
    let response: Response
    let text: string
    try {
      response = await fetch(target, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      })
      text = await response.text()
    } catch (err) {
      this.#signal?.throwIfAborted()
      if (timeout.aborted) {
        throw unreachable(this.url, `no answer within ${Math.round(this.#timeoutMs / 1000)} s`, err)
      }
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause
      const code = String(cause?.code ?? '')
      const detail = code || String(cause?.message ?? (err as Error).message)
      throw unreachable(this.url, REASONS[code] ?? detail, err)
    }
    if (response.ok) return text
    throw toApiError(response.status, parseJson(text), `${method} ${target.pathname}`, this.url)
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** The server's error body, or (for a server that is not Strata's API) a description. */
function toApiError(status: number, body: unknown, call: string, base: string): ApiError {
  const e = (typeof body === 'object' && body !== null ? body : {}) as ErrorBody
  if (typeof e.code === 'string' && typeof e.message === 'string') {
    return new ApiError(status, e.code, e.message, typeof e.field === 'string' ? e.field : undefined)
  }
  return new ApiError(
    status,
    `HTTP_${status}`,
    `${call}: HTTP ${status} without the Strata API's error shape: is ${base} the HTTP port of a Strata ` +
      'platform with the API (point at it with --url)?',
  )
}

/** Path segment for an id or name given on the command line. */
export const seg = (value: string): string => encodeURIComponent(value)

/** A page of a list, as the API answers it. */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

/** A list answer: the API's `{items}` page, or a bare array. */
export function itemsOf<T>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[]
  const items = (body as { items?: unknown } | undefined)?.items
  return Array.isArray(items) ? (items as T[]) : []
}

/** Every page, following nextCursor from the first. */
export async function allPages<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = []
  let cursor: string | undefined
  do {
    const page = await fetchPage(cursor)
    items.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return items
}

/**
 * Every item of a list endpoint, whether it answers a bare array or `{items, nextCursor}`
 * pages; `json` is the answer as it came when there was one page, else all the items as one.
 */
export async function listAll<T>(client: ApiClient, path: string): Promise<{ items: T[]; json: unknown }> {
  const items: T[] = []
  let first: unknown
  let pages = 0
  let cursor: string | undefined
  do {
    const body = await client.get<unknown>(path, { query: { cursor } })
    if (pages++ === 0) first = body
    items.push(...itemsOf<T>(body))
    const next = Array.isArray(body) ? undefined : (body as { nextCursor?: unknown } | undefined)?.nextCursor
    cursor = typeof next === 'string' && next !== '' ? next : undefined
  } while (cursor)
  return { items, json: pages === 1 ? first : { items, nextCursor: null } }
}
