import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { BrokerStats } from '@strata/broker'
import { PlatformMetrics } from '../../src/metrics.js'
import { createFixture, type Fixture } from './fixture.js'

const STATS: BrokerStats = {
  clientsConnected: 3,
  clientsTotal: 10,
  messagesReceived: 100,
  messagesSent: 200,
  bytesReceived: 1000,
  bytesSent: 2000,
  publishDropped: 1,
  retainedCount: 4,
  subscriptionsCount: 5,
  uptimeSeconds: 60,
}

const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('PlatformMetrics', () => {
  test('broker figures are read lazily, once per scrape', async () => {
    let calls = 0
    const m = new PlatformMetrics({
      defaultMetrics: false,
      brokerStats: () => {
        calls++
        return STATS
      },
    })
    assert.equal(calls, 0)
    const text = await m.text()
    assert.equal(calls, 1)
    assert.equal(value(text, 'strata_broker_clients_connected'), 3)
    assert.equal(value(text, 'strata_broker_messages_received_total'), 100)
    assert.equal(value(text, 'strata_broker_bytes_sent_total'), 2000)
    assert.equal(value(text, 'strata_broker_subscriptions'), 5)
    assert.match(text, /# TYPE strata_broker_messages_sent_total counter/)
    await m.text()
    assert.equal(calls, 2)
  })

  test('counters for the broker auth code, with bounded labels', async () => {
    const m = new PlatformMetrics({ defaultMetrics: false })
    m.authFailures.inc({ transport: 'mqtt', reason: 'bad_password' })
    m.aclDenials.inc({ action: 'publish', principal: 'device' }, 2)
    m.provisioned.inc()
    m.observeHttp('BREW', '/api/devices/:id', 200, 0.01)
    const text = await m.text()
    assert.equal(value(text, 'strata_auth_failures_total{transport="mqtt",reason="bad_password"}'), 1)
    assert.equal(value(text, 'strata_acl_denials_total{action="publish",principal="device"}'), 2)
    assert.equal(value(text, 'strata_devices_provisioned_total'), 1)
    assert.match(
      text,
      /strata_http_request_duration_seconds_count\{method="OTHER",route="\/api\/devices\/:id"/,
    )
    assert.doesNotMatch(text, /strata_broker_/)
  })

  test('two instances do not share a registry; default metrics are on by default', async () => {
    const a = new PlatformMetrics()
    const b = new PlatformMetrics()
    a.provisioned.inc()
    assert.equal(value(await b.text(), 'strata_devices_provisioned_total'), 0)
    assert.match(await a.text(), /process_cpu_user_seconds_total/)
    assert.match(a.contentType, /^text\/plain/)
  })
})

describe('GET /metrics', () => {
  let f: Fixture
  before(async () => {
    f = await createFixture({ users: false })
  })
  after(() => f.close())

  test('is public text exposition with the HTTP histogram by route pattern, never the raw URL', async () => {
    await f.send('GET', '/api/devices/some-device-id')
    await f.send('GET', '/no/such/route/xyz')
    const r = await f.send('GET', '/metrics')
    assert.equal(r.status, 200)
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/)
    for (const name of [
      'strata_http_request_duration_seconds',
      'strata_auth_failures_total',
      'strata_acl_denials_total',
      'strata_devices_provisioned_total',
    ]) {
      assert.match(r.body, new RegExp(`# TYPE ${name} `), name)
    }
    assert.match(r.body, /route="\/api\/devices\/:id",status_code="401"/)
    assert.match(r.body, /route="\(unmatched\)",status_code="404"/)
    assert.doesNotMatch(r.body, /some-device-id|xyz/)
  })
})
