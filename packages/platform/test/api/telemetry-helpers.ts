/**
 * A real platform (listeners on port 0) for the telemetry API tests: a reader's API key, devices
 * with tokens, and readers for the NDJSON answers.
 */
import assert from 'node:assert/strict'
import { fromJsonValue, type JsonValue } from '../../src/query/json.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'

export interface TelemetryTestPlatform {
  platform: TestPlatform
  /** http://127.0.0.1:<port> */
  base: string
  /** An API key with telemetry:read and devices:read. */
  reader: string
  /** Creates a device (tags, type) and returns its token. */
  device(id: string, options?: { tags?: Record<string, string>; typeId?: string }): Promise<string>
  close(): Promise<void>
}

export async function startTelemetryPlatform(): Promise<TelemetryTestPlatform> {
  const platform = await startTestPlatform()
  await platform.access.createUser({ username: 'reader', password: 'reader-password-123', role: 'viewer' })
  const { key } = await platform.access.createApiKey({
    name: 'reader',
    owner: 'reader',
    scopes: ['telemetry:read', 'devices:read'],
  })
  return {
    platform,
    base: `http://127.0.0.1:${platform.port('HTTP')}`,
    reader: key,
    async device(id, options = {}) {
      await platform.registry.createDevice({ id, ...options })
      return (await platform.identity.issueToken(id)).token
    },
    close: () => platform.close(),
  }
}

/** POSTs one telemetry message as a device. */
export function ingest(
  t: TelemetryTestPlatform,
  deviceId: string,
  token: string | undefined,
  contentType: string | undefined,
  body: string | Uint8Array,
): Promise<Response> {
  const headers: Record<string, string> = {}
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  if (contentType !== undefined) headers['content-type'] = contentType
  return fetch(`${t.base}/api/devices/${deviceId}/telemetry`, { method: 'POST', headers, body })
}

export interface DataLine {
  device?: string
  group?: Record<string, string | null>
  metric: string
  ts: number[]
  values: JsonValue[]
}

export interface Ndjson {
  header: Record<string, unknown>
  data: DataLine[]
  end: Record<string, unknown>
}

export function parseNdjson(text: string): Ndjson {
  assert.ok(text.endsWith('\n'), 'every line ends with a newline')
  const lines = text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  const header = lines[0] as Record<string, unknown>
  const end = lines[lines.length - 1] as Record<string, unknown>
  assert.equal(end.done, true, `the last line is the done line: ${JSON.stringify(end)}`)
  return { header, data: lines.slice(1, -1) as unknown as DataLine[], end }
}

/** GET (or POST a JSON body) with the reader's key; the answer parsed as NDJSON. */
export async function query(
  t: TelemetryTestPlatform,
  path: string,
  body?: unknown,
): Promise<{ status: number; ndjson: Ndjson; contentType: string | null }> {
  const res = await fetch(`${t.base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${t.reader}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  assert.equal(res.status, 200, text)
  return { status: res.status, ndjson: parseNdjson(text), contentType: res.headers.get('content-type') }
}

/** [ts, value] pairs of the data lines, values back to float64. */
export function pointsOf(data: readonly DataLine[]): [number, number][] {
  const out: [number, number][] = []
  for (const line of data) {
    assert.equal(line.ts.length, line.values.length)
    line.ts.forEach((ts, i) => {
      out.push([ts, fromJsonValue(line.values[i] as JsonValue)])
    })
  }
  return out
}

/** Bit-exact equality of float64 pairs (NaN equals NaN, -0 differs from 0). */
export function assertSamePoints(actual: [number, number][], expected: [number, number][], label = ''): void {
  assert.equal(
    actual.length,
    expected.length,
    `${label}: ${actual.length} points, expected ${expected.length}`,
  )
  actual.forEach(([ts, v], i) => {
    const [ets, ev] = expected[i] as [number, number]
    assert.equal(ts, ets, `${label}: point ${i} time`)
    assert.ok(Object.is(v, ev), `${label}: point ${i} at ${ts}: ${v} is not ${ev}`)
  })
}
