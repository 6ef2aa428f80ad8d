/**
 * Fuzz tests of the parser: random bytes and mutations of valid packets (bit
 * flips, truncation, insertions, length-byte changes), split at random chunk
 * boundaries. The parser may accept or reject, but it only ever throws
 * MqttProtocolError (never TypeError/RangeError), never holds more than
 * maxPacketSize bytes, and whatever it accepts re-encodes to bytes that
 * parse to the same packet. Seeded so a failure reproduces.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  encodePacket,
  MqttProtocolError,
  type Packet,
  PacketParser,
  type ProtocolVersion,
} from '../src/index.js'
import { anyPacket } from './helpers/arbitraries.js'
import { normalize } from './helpers/mqtt-packet-convert.js'

const MAX = 512

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; value: number }
  | { kind: 'delete'; at: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  // Bytes 1-4 are where the Remaining Length lives: bias a share of mutations there.
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.integer({ min: 1, max: 4 }),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
)

function mutate(bytes: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(bytes)
  for (const m of ms) {
    if (b.length === 0) break
    const at = m.at % b.length
    switch (m.kind) {
      case 'flip':
        b[at] = (b[at] as number) ^ (1 << m.bit)
        break
      case 'set':
        b[at] = m.value
        break
      case 'truncate':
        b = b.subarray(0, at)
        break
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from([m.value]), b.subarray(at)])
        break
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)])
        break
    }
  }
  return b
}

/** Pushes `bytes` in chunks cut at `cuts`; returns accepted packets, or the error thrown. */
function feed(
  bytes: Buffer,
  cuts: number[],
  version: ProtocolVersion | undefined,
): { packets: Packet[]; error?: unknown } {
  const parser = new PacketParser({
    maxPacketSize: MAX,
    ...(version !== undefined ? { protocolVersion: version } : {}),
  })
  const packets: Packet[] = []
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  let prev = 0
  try {
    for (const p of [...points, bytes.length]) {
      parser.push(bytes.subarray(prev, p), (pk) => packets.push(pk))
      prev = p
      assert.ok(parser.buffered <= MAX, `buffered ${parser.buffered} > ${MAX}`)
    }
  } catch (error) {
    return { packets, error }
  }
  return { packets }
}

function checkOutcome(bytes: Buffer, cuts: number[], version: ProtocolVersion | undefined): void {
  const { packets, error } = feed(bytes, cuts, version)
  if (error !== undefined && !(error instanceof MqttProtocolError)) throw error
  // Whatever was accepted is a real packet: it re-encodes and parses back the same.
  const level = version ?? (packets[0]?.type === 'connect' ? packets[0].protocolVersion : 5)
  for (const p of packets) {
    const again = feed(encodePacket(p, level), [], p.type === 'connect' ? undefined : level)
    assert.equal(again.error, undefined, String(again.error))
    assert.deepStrictEqual(normalize(again.packets[0] as Packet), normalize(p))
  }
}

for (const v of [4, 5] as const) {
  describe(`parser fuzz, MQTT ${v === 5 ? '5.0' : '3.1.1'}`, () => {
    test('mutated valid packets', () => {
      fc.assert(
        fc.property(
          fc.array(anyPacket(v), { minLength: 1, maxLength: 4 }),
          fc.array(mutation, { minLength: 1, maxLength: 4 }),
          fc.array(fc.nat(), { maxLength: 4 }),
          (packets, ms, cuts) => {
            const bytes = Buffer.concat(packets.map((p) => encodePacket(p, v)))
            checkOutcome(mutate(bytes, ms), cuts, v)
          },
        ),
        { seed: 0xf022 + v, numRuns: 3000 },
      )
    })

    test('random bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 4 }), (a, cuts) => {
          checkOutcome(Buffer.from(a), cuts, v)
        }),
        { seed: 0xb17e + v, numRuns: 3000 },
      )
    })

    test('random bytes after a valid fixed header', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 255 }),
          fc.uint8Array({ maxLength: 120 }),
          fc.array(fc.nat(), { maxLength: 3 }),
          (byte1, body, cuts) => {
            const bytes = Buffer.concat([Buffer.from([byte1, body.length]), body])
            checkOutcome(bytes, cuts, v)
          },
        ),
        { seed: 0xbead + v, numRuns: 3000 },
      )
    })
  })
}

test('mutated CONNECT packets on a server-side parser (level unknown)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(4 as const, 5 as const).chain((v) => anyPacket(v).map((p) => [v, p] as const)),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      fc.array(fc.nat(), { maxLength: 3 }),
      ([v, p], ms, cuts) => {
        const connect: Packet = {
          type: 'connect',
          protocolName: 'MQTT',
          protocolVersion: v,
          clean: true,
          keepAlive: 30,
          clientId: 'c',
        }
        const bytes = Buffer.concat([encodePacket(connect, v), encodePacket(p, v)])
        checkOutcome(mutate(bytes, ms), cuts, undefined)
      },
    ),
    { seed: 0xc0ec, numRuns: 3000 },
  )
})
