/**
 * What `strata simulate` makes on the platform before the devices connect, idempotently: the
 * device type `sim-<profile>` with the profile's telemetry spec, the devices of the run, and a
 * token for each device that has no saved one. There is no bulk endpoint, so requests go a
 * bounded number at a time, and a rate-limit answer (429) waits and tries again rather than
 * failing a run of thousands of devices half-way.
 */
import type { MetricSpec, Profile } from '@strata/device/simulator'
import type { IssuedToken } from '../identity/model.js'
import type { Device, DeviceType, TelemetrySpec } from '../registry/model.js'
import { type ApiClient, ApiError, type Page, seg } from './api-client.js'
import type { TokenStore } from './simulate-state.js'

export interface SetupPlan {
  profile: Profile
  typeId: string
  deviceIds: readonly string[]
  /** Requests in flight at once. */
  concurrency: number
  signal: AbortSignal
  /** Called as work completes, for a progress note. */
  onProgress?: (done: number, total: number, what: string) => void
}

export interface SetupResult {
  typeCreated: boolean
  devicesCreated: number
  tokensIssued: number
  tokensReused: number
  /** Device id → token, for every device of the run. */
  tokens: Map<string, string>
}

// The profile's spec must be one the registry takes: checked here, at compile time.
const asTelemetrySpec = (specs: readonly MetricSpec[]): TelemetrySpec[] => specs.map((s) => ({ ...s }))

/** Runs `fn` on every item, `concurrency` at a time; the first failure stops the rest and is thrown. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let next = 0
  let failed = false
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      signal.throwIfAborted()
      const item = items[next++] as T
      try {
        await fn(item)
      } catch (err) {
        failed = true
        throw err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason)
      },
      { once: true },
    )
  })

/** `call`, tried again after a rate-limit answer (429), with a growing wait up to 30 s. */
async function patiently<T>(call: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call()
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 429) || attempt >= 20) throw err
      await sleep(Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 5)), signal)
    }
  }
}

/** Creates the profile's device type, or brings an existing one's telemetry spec up to date. */
async function ensureType(client: ApiClient, plan: SetupPlan): Promise<boolean> {
  const telemetry = asTelemetrySpec(plan.profile.telemetry)
  let existing: DeviceType | undefined
  try {
    existing = await client.get<DeviceType>(`/api/device-types/${seg(plan.typeId)}`)
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err
  }
  if (existing === undefined) {
    try {
      await client.post('/api/device-types', {
        id: plan.typeId,
        name: `Simulated ${plan.profile.name}`,
        telemetry,
      })
      return true
    } catch (err) {
      // Another simulator made it meanwhile.
      if (err instanceof ApiError && err.status === 409) return false
      throw err
    }
  }
  if (JSON.stringify(existing.telemetry) !== JSON.stringify(telemetry))
    await client.patch(`/api/device-types/${seg(plan.typeId)}`, { telemetry }, { ifMatch: existing.version })
  return false
}

/** The ids among `wanted` that exist already (one listing by id glob, a page of 1000 at a time). */
async function existingIds(
  client: ApiClient,
  wanted: readonly string[],
  prefix: string,
): Promise<Set<string>> {
  const found = new Set<string>()
  const want = new Set(wanted)
  let cursor: string | undefined
  do {
    const page = await client.get<Page<Device>>('/api/devices', {
      query: { selector: `id:${prefix}*`, limit: 1000, cursor },
    })
    for (const d of page.items) if (want.has(d.id)) found.add(d.id)
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return found
}

/** The common prefix of the ids (they share the run's `<prefix>-`). */
function commonPrefix(ids: readonly string[]): string {
  let p = ids[0] ?? ''
  for (const id of ids) while (!id.startsWith(p)) p = p.slice(0, -1)
  return p
}

export async function setUpSimulation(
  client: ApiClient,
  store: TokenStore,
  plan: SetupPlan,
): Promise<SetupResult> {
  const { signal, deviceIds } = plan
  const typeCreated = await ensureType(client, plan)
  const existing = await existingIds(client, deviceIds, commonPrefix(deviceIds))
  const missing = deviceIds.filter((id) => !existing.has(id))
  let done = 0
  let created = 0
  await pool(
    missing,
    plan.concurrency,
    async (id) => {
      try {
        await patiently(
          () =>
            client.post('/api/devices', {
              id,
              name: `Simulated ${plan.profile.name} ${id}`,
              typeId: plan.typeId,
              tags: { simulator: plan.profile.name },
            }),
          signal,
        )
        // A token saved for a device that did not exist belongs to a platform that was reset.
        store.delete(client.url, id)
        created++
      } catch (err) {
        // Made meanwhile by someone else: it exists, which is all this needs.
        if (!(err instanceof ApiError && err.status === 409)) throw err
      }
      done++
      plan.onProgress?.(done, missing.length, 'devices created')
    },
    signal,
  )

  const tokens = new Map<string, string>()
  const toIssue: string[] = []
  for (const id of deviceIds) {
    const saved = store.get(client.url, id)
    if (saved) tokens.set(id, saved.token)
    else toIssue.push(id)
  }
  let issued = 0
  try {
    await pool(
      toIssue,
      plan.concurrency,
      async (id) => {
        const result = await patiently(
          () =>
            client.post<IssuedToken>(`/api/devices/${seg(id)}/credentials`, {
              kind: 'token',
              label: 'strata simulate',
            }),
          signal,
        )
        store.set(client.url, id, {
          token: result.token,
          credentialId: result.credential.id,
          issuedAt: new Date().toISOString(),
        })
        tokens.set(id, result.token)
        issued++
        plan.onProgress?.(issued, toIssue.length, 'tokens issued')
      },
      signal,
    )
  } finally {
    // Keep what was issued even if a later request failed: the next run reuses it.
    if (issued > 0 || created > 0) await store.save()
  }
  return {
    typeCreated,
    devicesCreated: created,
    tokensIssued: issued,
    tokensReused: deviceIds.length - toIssue.length,
    tokens,
  }
}
