/**
 * Property tests: our codec against mqtt-packet, in both directions, for
 * every packet type at protocol levels 4 and 5 (issue 2, section 4).
 *   ours encode → mqtt-packet parse → same packet
 *   mqtt-packet generate → ours parse → same packet
 * plus ours encode → ours parse (round trip) and, where the two encoders have
 * no freedom (no properties), byte-identical output.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import mqttPacket from 'mqtt-packet'
import { encodedLength, encodePacket, type Packet, PacketParser, type ProtocolVersion } from '../src/index.js'
import { packetOf, typesFor } from './helpers/arbitraries.js'
import {
  fromMqtt,
  hitsUserPropertyQuirk,
  mqttPacketCanGenerate,
  normalize,
  toMqtt,
} from './helpers/mqtt-packet-convert.js'

const RUNS = 150

function parseWithMqttPacket(buf: Buffer, v: ProtocolVersion): Record<string, unknown>[] {
  const parser = mqttPacket.parser({ protocolVersion: v })
  const out: Record<string, unknown>[] = []
  let error: Error | undefined
  parser.on('packet', (p: unknown) => out.push(p as Record<string, unknown>))
  parser.on('error', (e: Error) => {
    error = e
  })
  parser.parse(buf)
  if (error !== undefined) throw error
  return out
}

function parseOurs(buf: Buffer, v: ProtocolVersion, isConnect: boolean): Packet[] {
  // A server-side parser learns the level from CONNECT; for other packets it is given.
  const parser = new PacketParser(isConnect ? {} : { protocolVersion: v })
  const out: Packet[] = []
  parser.push(buf, (p) => out.push(p))
  assert.equal(parser.buffered, 0)
  return out
}

/** AUTH Success without properties is sent in its short form, which mqtt-packet cannot parse (see converter). */
const mqttPacketCanParse = (p: Packet): boolean =>
  !(p.type === 'auth' && (p.reasonCode ?? 0) === 0 && p.properties === undefined)

const hasNoFreedom = (p: Packet, v: ProtocolVersion): boolean => {
  if (v !== 5) return true
  if ('properties' in p && p.properties !== undefined) return false
  if (p.type === 'connect' && p.will?.properties !== undefined) return false
  // mqtt-packet writes reason code + empty property length where we use short forms.
  return !['puback', 'pubrec', 'pubrel', 'pubcomp', 'disconnect', 'auth'].includes(p.type)
}

for (const v of [4, 5] as const) {
  describe(`cross-check with mqtt-packet, MQTT ${v === 5 ? '5.0' : '3.1.1'}`, () => {
    for (const type of typesFor(v)) {
      test(`${type}: ours encode → mqtt-packet parse`, () => {
        fc.assert(
          fc.property(packetOf(type, v), (packet) => {
            if (!mqttPacketCanParse(packet) || hitsUserPropertyQuirk(packet)) return
            const bytes = encodePacket(packet, v)
            assert.equal(encodedLength(packet, v), bytes.length)
            const parsed = parseWithMqttPacket(bytes, v)
            assert.equal(parsed.length, 1)
            assert.deepStrictEqual(
              normalize(fromMqtt(parsed[0] as Record<string, unknown>, v)),
              normalize(packet),
            )
          }),
          { seed: 0x5742 + v, numRuns: RUNS },
        )
      })

      test(`${type}: mqtt-packet generate → ours parse`, () => {
        fc.assert(
          fc.property(packetOf(type, v), (packet) => {
            if (!mqttPacketCanGenerate(packet)) return
            const bytes = mqttPacket.generate(toMqtt(packet, v) as unknown as mqttPacket.Packet, {
              protocolVersion: v,
            })
            const parsed = parseOurs(bytes, v, type === 'connect')
            assert.equal(parsed.length, 1)
            assert.deepStrictEqual(normalize(parsed[0] as Packet), normalize(packet))
            if (hasNoFreedom(packet, v)) assert.deepStrictEqual(encodePacket(packet, v), bytes)
          }),
          { seed: 0x4d51 + v, numRuns: RUNS },
        )
      })

      test(`${type}: ours encode → ours parse`, () => {
        fc.assert(
          fc.property(packetOf(type, v), (packet) => {
            const parsed = parseOurs(encodePacket(packet, v), v, type === 'connect')
            assert.deepStrictEqual(normalize(parsed[0] as Packet), normalize(packet))
          }),
          { seed: 0x7154 + v, numRuns: RUNS },
        )
      })
    }
  })
}
