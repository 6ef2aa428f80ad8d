import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import mqttPacket from 'mqtt-packet'
import * as wire from '../broker/wire.js'

// The load generator encodes its packets by hand (so a bug in Strata's codec
// cannot hide on both sides): check them against mqtt-packet, a parser no one
// here wrote, at both protocol levels.
function parseAll(bytes: Buffer, protocolVersion: 4 | 5): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion })
  const out: mqttPacket.Packet[] = []
  const errors: Error[] = []
  parser.on('packet', (p) => out.push(p))
  parser.on('error', (e) => errors.push(e))
  parser.parse(bytes)
  assert.deepEqual(errors, [])
  return out
}

for (const level of [4, 5] as const) {
  describe(`bench wire packets, MQTT level ${level}`, () => {
    test('CONNECT, SUBSCRIBE, PUBLISH QoS 0/1, PUBACK parse as intended', () => {
      const [connect] = parseAll(
        wire.connect({ clientId: 'gen-1', clean: false, keepAlive: 30, level, sessionExpiry: 600 }),
        level,
      ) as [mqttPacket.IConnectPacket]
      assert.equal(connect.cmd, 'connect')
      assert.equal(connect.clientId, 'gen-1')
      assert.equal(connect.clean, false)
      assert.equal(connect.keepalive, 30)
      assert.equal(connect.protocolVersion, level)
      if (level === 5) assert.equal(connect.properties?.sessionExpiryInterval, 600)

      const [sub] = parseAll(wire.subscribe(7, 'bench/+/in', 1, level), level) as [
        mqttPacket.ISubscribePacket,
      ]
      assert.equal(sub.messageId, 7)
      assert.equal(sub.subscriptions[0]?.topic, 'bench/+/in')
      assert.equal(sub.subscriptions[0]?.qos, 1)

      const t1 = wire.publish('bench/1/in', 64, 1, level)
      t1.bytes.writeUInt16BE(513, t1.packetIdOffset)
      t1.bytes.fill(0x61, t1.payloadOffset)
      const t0 = wire.publish('bench/0/in', 16, 0, level)
      const [p1, p0, ack] = parseAll(Buffer.concat([t1.bytes, t0.bytes, wire.puback(513)]), level) as [
        mqttPacket.IPublishPacket,
        mqttPacket.IPublishPacket,
        mqttPacket.IPubackPacket,
      ]
      assert.equal(p1.topic, 'bench/1/in')
      assert.equal(p1.qos, 1)
      assert.equal(p1.messageId, 513)
      assert.equal(Buffer.from(p1.payload).toString(), 'a'.repeat(64))
      assert.equal(p0.qos, 0)
      assert.equal(p0.payload.length, 16)
      assert.equal(ack.cmd, 'puback')
      assert.equal(ack.messageId, 513)
    })

    test('PacketSplitter finds every packet however the stream is cut', () => {
      const packets = Array.from(
        { length: 50 },
        (_, i) => wire.publish(`t/${i}`, i * 7, (i % 2) as 0 | 1, level).bytes,
      )
      const stream = Buffer.concat(packets)
      for (const cut of [1, 2, 3, 7, 64, 1000, stream.length]) {
        const seen: number[] = []
        const splitter = new wire.PacketSplitter((first, _buf, start, end) => {
          assert.equal(first >> 4, wire.PUBLISH)
          seen.push(end - start)
        })
        for (let i = 0; i < stream.length; i += cut) splitter.push(stream.subarray(i, i + cut))
        assert.equal(seen.length, packets.length, `cut every ${cut} bytes`)
      }
    })
  })
}
