// The telemetry durability test (issue 4): the whole ingest path (MQTT 5 QoS 1, the broker's
// ingest hook, the pipeline, the engine's write-ahead log) in a real `strata up` process, killed
// with SIGKILL while a device publishes. A PUBACK is the platform's promise that the point is
// durable, so after a restart on the same data dir every acknowledged point must be returned,
// bit for bit. Three rounds on the same data dir: each restart recovers what the previous kills
// left (log replay, windows sealed or half-sealed by the background check) and takes new writes.
import assert from 'node:assert/strict'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { TimeSeriesEngine } from '@strata/tsdb'
import type { MqttClient } from 'mqtt'
import { runStrata } from '../helpers/run-cli.js'
import { type StrataProcess, startStrata, stopStrata, tempDir } from '../helpers/strata-process.js'
import { connect, port, prng, sleep } from './lib.js'

const ROUNDS = 3
const SEED = 0x1c4a_0004
const DEVICE = 'crash-1'
const METRIC = 'v'
const PASSWORD = 'correct horse battery staple'
/** Outstanding QoS 1 publishes: enough that group commits share fsyncs and the kill finds some in flight. */
const WINDOW = 32
/** 500 ms apart, ending well over an hour back: the engine's background check seals these windows while the test writes, so a kill can land in a seal too. */
const STEP_MS = 500
const FIRST_TS = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000

/** Point number `seq`: a unique timestamp and a value that is not a short decimal (so bit-exactness means something). */
const pointAt = (seq: number): { ts: number; value: number } => ({
  ts: FIRST_TS + seq * STEP_MS,
  value: seq / 7 + 0.1,
})

const httpBase = (proc: StrataProcess): string => {
  const p = proc.ports.get('HTTP (API)') ?? [...proc.ports].find(([name]) => name.startsWith('HTTP'))?.[1]
  if (p === undefined) throw new Error(`no HTTP listener in ${JSON.stringify([...proc.ports])}`)
  return `http://127.0.0.1:${p}`
}

async function call<T>(base: string, token: string | null, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return { text, json: () => JSON.parse(text) as T }
}

const login = async (base: string): Promise<string> =>
  (
    await call<{ token: string }>(base, null, 'POST', '/api/auth/login', {
      username: 'root',
      password: PASSWORD,
    })
  ).json().token

/**
 * Every point of the device's metric through the HTTP API (raw NDJSON, paged by `next`): the
 * query path the platform serves, after a restart.
 */
async function storedViaApi(base: string, token: string): Promise<Map<number, number>> {
  const out = new Map<number, number>()
  let from: number | null = FIRST_TS - 1
  const to = FIRST_TS + 1e9
  while (from !== null) {
    const q = `from=${from}&to=${to}&limit=100000`
    const { text } = await call(base, token, 'GET', `/api/devices/${DEVICE}/telemetry/${METRIC}?${q}`)
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    const last = lines[lines.length - 1] as { done?: boolean; next?: number | null; error?: unknown }
    assert.equal(last.done, true, `a complete answer (last line: ${JSON.stringify(last)})`)
    for (const line of lines.slice(1, -1)) {
      const { ts, values } = line as { ts: number[]; values: number[] }
      for (let i = 0; i < ts.length; i++) out.set(ts[i] as number, values[i] as number)
    }
    from = last.next ?? null
  }
  return out
}

/** Every point of the device's metric, read by opening the engine's directory (the platform stopped). */
async function storedInEngine(dataDir: string): Promise<Map<number, number>> {
  const engine = await TimeSeriesEngine.open(join(dataDir, 'tsdb'), { sealCheckMs: 0 })
  try {
    const out = new Map<number, number>()
    for await (const b of engine.raw(
      `${DEVICE}/${METRIC}`,
      Number.MIN_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
    )) {
      for (let i = 0; i < b.timestamps.length; i++) out.set(b.timestamps[i] as number, b.values[i] as number)
    }
    return out
  } finally {
    await engine.close()
  }
}

/** Whether the engine has sealed a window into chunk storage (a day file exists). */
async function sealed(dataDir: string): Promise<boolean> {
  return (await readdir(join(dataDir, 'tsdb'))).some((f) => /^chunks-.*\.db$/.test(f))
}

/** Acknowledged points absent from `stored` or different there (by float64 bits). */
function missing(acked: Map<number, number>, stored: Map<number, number>): string[] {
  const out: string[] = []
  for (const [ts, value] of acked) {
    const got = stored.get(ts)
    if (!Object.is(got, value)) out.push(`${ts}: ${value} -> ${got}`)
  }
  return out
}

/**
 * Publishes one point per QoS 1 message with at most WINDOW outstanding, records every point
 * whose PUBACK arrived (a refused one, reason code >= 0x80, is an error and not recorded), and
 * SIGKILLs the platform once `killAfter` acknowledgements have arrived this round. Resolves when
 * the connection closes.
 */
function publishUntilKilled(
  client: MqttClient,
  proc: StrataProcess,
  killAfter: number,
  next: () => number,
  acked: Map<number, number>,
): Promise<number> {
  return new Promise((resolve) => {
    let count = 0
    let outstanding = 0
    let killed = false
    const pump = (): void => {
      while (!killed && outstanding < WINDOW) {
        const p = pointAt(next())
        outstanding++
        client.publish(
          `devices/${DEVICE}/telemetry`,
          JSON.stringify([{ ts: p.ts, [METRIC]: p.value }]),
          { qos: 1 },
          (err) => {
            outstanding--
            if (err) return
            // Recorded even after the kill was sent: the PUBACK left the platform before it died.
            acked.set(p.ts, p.value)
            count++
            if (killed) return
            if (count >= killAfter) {
              killed = true
              proc.child.kill('SIGKILL')
              return
            }
            pump()
          },
        )
      }
    }
    client.once('close', () => {
      killed = true
      resolve(count)
    })
    pump()
  })
}

describe('telemetry: kill -9 under QoS 1 load, restart on the same data dir', { timeout: 60_000 }, () => {
  const random = prng(SEED)
  const acked = new Map<number, number>()
  let seq = 0
  let dir = ''
  let proc: StrataProcess | undefined
  let token = ''

  before(async () => {
    dir = await tempDir('strata-ingest-crash-')
    // The first admin is written into the data dir before the first start (no setup token).
    const admin = await runStrata(['admin', 'create', 'root', '--data-dir', dir], `${PASSWORD}\n`)
    assert.equal(admin.code, 0, admin.stderr)
    proc = await startStrata([], dir)
    const base = httpBase(proc)
    const session = await login(base)
    await call(base, session, 'POST', '/api/devices', { id: DEVICE })
    token = (
      await call<{ token: string }>(base, session, 'POST', `/api/devices/${DEVICE}/credentials`, {
        kind: 'token',
      })
    ).json().token
  })
  after(async () => {
    if (proc) await stopStrata(proc, 'SIGKILL')
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  for (let round = 1; round <= ROUNDS; round++) {
    // Drawn at definition time, so each round's moment depends only on SEED.
    const killAfter = 100 + Math.floor(random() * 1_400)

    const afterSeal = round === ROUNDS
    test(`round ${round} (seed ${SEED.toString(16)}, kill after ${killAfter} PUBACKs${afterSeal ? ', windows already sealed' : ''}): every acknowledged point is returned after the restart`, async (t) => {
      const running = proc as StrataProcess
      if (afterSeal) {
        // The points lie over an hour back, so the engine's background check (every 10 s) seals
        // their windows: wait for that, so this round's points are late points for sealed windows
        // and the kill lands after a seal and a log checkpoint (replay must skip what was sealed).
        const deadline = Date.now() + 20_000
        while (!(await sealed(dir))) {
          assert.ok(Date.now() < deadline, 'no window sealed within 20 s of the restart')
          await sleep(50)
        }
      }
      const client = await connect(`mqtt://127.0.0.1:${port(running, 'MQTT')}`, {
        clientId: DEVICE,
        username: DEVICE,
        password: token,
        protocolVersion: 5,
      })
      client.on('error', () => {})
      const count = await publishUntilKilled(client, running, killAfter, () => seq++, acked)
      client.end(true)
      assert.equal(await running.exited, 'SIGKILL')
      assert.ok(count >= killAfter, `${count} acknowledged before the kill`)

      proc = await startStrata([], dir)
      const base = httpBase(proc)
      const stored = await storedViaApi(base, await login(base))
      t.diagnostic(
        `${count} acknowledged this round, ${acked.size} in all, ${seq} sent, ${stored.size} stored`,
      )
      const lost = missing(acked, stored)
      assert.deepEqual(
        lost.slice(0, 20),
        [],
        `${lost.length} of ${acked.size} acknowledged points missing or changed after the restart`,
      )
      // Nothing appears that was never sent (a replay must not invent or shift points).
      const sent = new Set(Array.from({ length: seq }, (_, i) => pointAt(i).ts))
      const unknown = [...stored.keys()].filter((ts) => !sent.has(ts))
      assert.deepEqual(unknown.slice(0, 20), [], 'points that were never sent')
    })
  }

  test('the engine directory, opened directly after a clean stop, holds every acknowledged point bit for bit', async () => {
    assert.equal(await stopStrata(proc as StrataProcess), 0)
    proc = undefined
    const lost = missing(acked, await storedInEngine(dir))
    assert.deepEqual(lost.slice(0, 20), [], `${lost.length} of ${acked.size} acknowledged points missing`)
  })
})
