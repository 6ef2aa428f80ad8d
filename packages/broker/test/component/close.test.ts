import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { encodePacket, ReasonCode } from '@strata/protocol'
import { duplexPair, memoryInfo, RawClient, startBroker } from '../helpers.js'

describe('close()', () => {
  test('MQTT 5 clients get DISCONNECT 0x8B; 3.1.1 clients are closed; new streams are refused', async () => {
    const broker = await startBroker()
    const v5 = new RawClient(broker, 5)
    await v5.connect()
    const v4 = new RawClient(broker, 4)
    await v4.connect()
    await broker.close()
    const p5 = await v5.waitClosed()
    assert.equal((p5[0] as { reasonCode?: number }).reasonCode, ReasonCode.ServerShuttingDown)
    assert.deepEqual(await v4.waitClosed(), [])
    const late = new RawClient(broker, 5)
    await late.waitClosed()
  })

  test('resolves even when a peer never reads', async () => {
    const broker = await startBroker()
    const [client, server] = duplexPair(256)
    broker.handle(server, memoryInfo())
    client.write(
      encodePacket(
        {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: 5,
          clean: true,
          keepAlive: 0,
          clientId: 'deaf',
        },
        5,
      ),
    )
    client.write(
      encodePacket({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'd', qos: 0 }] }, 5),
    )
    const p = new RawClient(broker, 5)
    await p.connect()
    for (let i = 0; i < 50; i++)
      p.send({ type: 'publish', topic: 'd', payload: Buffer.alloc(1000), qos: 0, retain: false, dup: false })
    await p.drain(30)
    const t0 = Date.now()
    await broker.close()
    assert.ok(Date.now() - t0 < 3000)
    assert.ok(server.destroyed)
  })
})
