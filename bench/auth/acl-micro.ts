// ACL cost per PUBLISH, in process: ns per call of the platform's authorizePublish hook, built
// by createMqttAuth on a registry of `devices` devices, for principals made by its own
// authenticate hook. A no-op called through the same loop is the baseline: what is left over
// it is the ACL's own cost. The registry's size should not matter: a device's ACL is computed
// once at CONNECT, and PUBLISH only reads it.

import { cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClientIdentity, Logger } from '@strata/broker'
import { createMqttAuth } from '../../packages/platform/src/auth/mqtt-auth.js'
import { PasswordFile } from '../../packages/platform/src/auth/password-file.js'
import { createIdentityService } from '../../packages/platform/src/identity/sqlite-identity.js'
import { loadOrCreatePlatformCa } from '../../packages/platform/src/identity/x509/index.js'
import { SqliteDb } from '../../packages/platform/src/registry/sqlite-db.js'
import { removeDir, trackDir } from '../broker/proc.js'
import { median } from '../broker/report.js'
import { deviceId, type Fixture } from './fixture.js'

/** The hook's signature; every call here is QoS 0, not retained, as in the end-to-end test. */
type Check = (client: ClientIdentity, topic: string, qos: 0, retain: boolean) => boolean

export interface MicroRow {
  name: string
  nsPerCall: number
  runs: number[]
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }

let sink = 0

/** ns per call of `check`, over `n` calls cycling through `topics` (a power-of-two count). */
function loop(check: Check, client: ClientIdentity, topics: string[], n: number, expect: boolean): number {
  const mask = topics.length - 1
  let allowed = 0
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) if (check(client, topics[i & mask] as string, 0, false)) allowed++
  const ns = Number(process.hrtime.bigint() - t0)
  if (allowed !== (expect ? n : 0)) throw new Error(`ACL micro: expected every call to return ${expect}`)
  sink += allowed
  return ns / n
}

const topics16 = (f: (k: number) => string) => Array.from({ length: 16 }, (_, k) => f(k))

export async function aclMicro(fx: Fixture, calls: number, rounds: number): Promise<MicroRow[]> {
  const dir = trackDir(mkdtempSync(join(tmpdir(), 'strata-bench-auth-micro-')))
  cpSync(fx.template, dir, { recursive: true })
  const db = new SqliteDb(join(dir, 'registry.db'), () => new Date())
  const ca = await loadOrCreatePlatformCa(join(dir, 'ca'))
  const identity = createIdentityService({ db, ca })
  const granted = deviceId(1)
  for (let g = 0; g < 10; g++)
    await identity.addGrant(granted, { topicFilter: `fleet/site-${g}/+/commands`, access: 'publish' })
  const auth = createMqttAuth({
    passwordFile: await PasswordFile.load(join(dir, 'passwords')),
    allowAnonymous: false,
    logger: silent,
    identity,
    // As the platform wires it: denial counters that cost a call.
    observer: { authFailed: () => {}, aclDenied: () => {} },
    watch: false,
  })
  try {
    const login = async (clientId: string, username: string, password: string): Promise<ClientIdentity> => {
      const connection = { transport: 'tcp' as const, remoteAddress: '127.0.0.1' }
      const request = { clientId, username, password: Buffer.from(password), protocolVersion: 4 as const }
      const result = await auth.hooks.authenticate?.({ ...request, connection })
      if (!result?.ok) throw new Error(`ACL micro: ${username} could not log in`)
      return { clientId, username, protocolVersion: 4, connection, principal: result.principal }
    }
    const plain = await login(deviceId(0), deviceId(0), fx.tokens[0] as string)
    const withGrants = await login(granted, granted, fx.tokens[1] as string)
    const user = await login('pub-0', fx.publisher.username, fx.publisher.password)
    const authorize = auth.hooks.authorizePublish as Check
    const noop: Check = (_client, topic) => topic.length > 0

    const cases: { name: string; check: Check; client: ClientIdentity; topics: string[]; expect: boolean }[] =
      [
        {
          name: 'baseline: no-op function, same loop',
          check: noop,
          client: plain,
          topics: topics16((k) => `devices/${deviceId(0)}/telemetry/s${k}`),
          expect: true,
        },
        {
          name: 'password-file user (one startsWith "$")',
          check: authorize,
          client: user,
          topics: topics16((k) => `devices/${deviceId(k)}/telemetry`),
          expect: true,
        },
        {
          name: 'device, own namespace (allowed)',
          check: authorize,
          client: plain,
          topics: topics16((k) => `devices/${deviceId(0)}/telemetry/s${k}`),
          expect: true,
        },
        {
          name: "device, another device's topic (denied)",
          check: authorize,
          client: plain,
          topics: topics16((k) => `devices/${deviceId(k + 2)}/telemetry`),
          expect: false,
        },
        {
          name: 'device + 10 grants, own namespace (allowed)',
          check: authorize,
          client: withGrants,
          topics: topics16((k) => `devices/${granted}/telemetry/s${k}`),
          expect: true,
        },
        {
          name: 'device + 10 grants, matches the 10th grant',
          check: authorize,
          client: withGrants,
          topics: topics16((k) => `fleet/site-9/line-${k}/commands`),
          expect: true,
        },
        {
          name: 'device + 10 grants, no grant matches (denied)',
          check: authorize,
          client: withGrants,
          topics: topics16((k) => `fleet/site-${k}/line-${k}/status`),
          expect: false,
        },
      ]
    const runs = cases.map(() => [] as number[])
    // Round 0 warms the JIT and is not counted; later rounds rotate the order against drift.
    for (let r = 0; r <= rounds; r++) {
      for (let k = 0; k < cases.length; k++) {
        const idx = (k + r) % cases.length
        const c = cases[idx] as (typeof cases)[number]
        const ns = loop(c.check, c.client, c.topics, calls, c.expect)
        if (r > 0) runs[idx]?.push(ns)
      }
    }
    if (sink < 0) console.log(sink)
    return cases.map((c, i) => ({ name: c.name, nsPerCall: median(runs[i] ?? []), runs: runs[i] ?? [] }))
  } finally {
    auth.close()
    db.close()
    removeDir(dir)
  }
}
