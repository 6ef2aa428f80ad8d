import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { ReasonCode } from '@strata/protocol'
import fc from 'fast-check'
import type { Logger } from '../../src/index.js'
import { endClient, mqttClient, RawClient, startBroker } from '../helpers.js'

const warnings: object[] = []
const logger: Logger = {
  debug() {},
  info() {},
  warn: (obj) => warnings.push(obj),
  error() {},
  child: () => logger,
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

describe('malformed input', async () => {
  const broker = await startBroker({ logger, limits: { connectionRatePerAddress: 0 } })
  after(() => broker.close())

  test('v5: reserved flags set → DISCONNECT 0x81, logged with client id and address [MQTT-2.2.2-2]', async () => {
    warnings.length = 0
    const c = new RawClient(broker, 5)
    await c.connect({ clientId: 'bad-flags' })
    c.write([0x82 | 0x01, 0x02, 0x00, 0x01]) // SUBSCRIBE with flags 0011 instead of 0010
    const packets = await c.waitClosed()
    assert.equal((packets[0] as { reasonCode?: number }).reasonCode, ReasonCode.MalformedPacket)
    assert.ok(warnings.some((w) => (w as { clientId?: string }).clientId === 'bad-flags'))
    assert.ok(warnings.some((w) => (w as { remoteAddress?: string }).remoteAddress === '10.0.0.1'))
  })

  test('3.1.1: malformed packet closes the connection without a packet', async () => {
    const c = new RawClient(broker, 4)
    await c.connect()
    c.write([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]) // remaining length longer than 4 bytes
    assert.deepEqual(await c.waitClosed(), [])
  })

  test('server-to-client packets from a client: DISCONNECT 0x82', async () => {
    const c = new RawClient(broker, 5)
    await c.connect()
    c.send({ type: 'suback', packetId: 1, reasonCodes: [0] })
    const packets = await c.waitClosed()
    assert.equal(packets[0]?.type, 'disconnect')
  })

  test('random bytes after CONNECT never crash the broker, which still serves clients afterwards', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.boolean(), async (bytes, v5) => {
        const c = new RawClient(broker, v5 ? 5 : 4)
        await c.connect()
        c.write(Buffer.from(bytes))
        await c.drain(2)
        c.end()
      }),
      { seed: 7, numRuns: 150 },
    )
    const ok = await mqttClient(broker)
    await ok.publishAsync('still/alive', 'yes', { qos: 1 })
    await endClient(ok)
  })

  test('no growth after many bad connections: connections, sessions and timers are released', async () => {
    const round = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const c = new RawClient(broker, i % 2 ? 5 : 4)
        await c.connect({ clientId: `leak-${i}`, keepAlive: 30 })
        c.write([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])
        await c.waitClosed()
        c.end()
      }
      await new Promise((r) => setTimeout(r, 20))
    }
    await round(50)
    const before = { timers: timeouts(), stats: broker.stats() }
    await round(300)
    const after = broker.stats()
    assert.equal(after.clientsConnected, before.stats.clientsConnected)
    assert.equal(after.clientsTotal, before.stats.clientsTotal)
    assert.equal(after.subscriptionsCount, before.stats.subscriptionsCount)
    assert.ok(timeouts() <= before.timers + 2, `timers: ${before.timers} -> ${timeouts()}`)
  })
})
