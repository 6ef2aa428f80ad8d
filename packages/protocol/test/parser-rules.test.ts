/**
 * Table-driven tests of each parsing rule, tagged with the normative
 * statement it implements. Packets are written as hex so the bytes on the
 * wire are explicit.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MqttProtocolError, type Packet, PacketParser, type ProtocolVersion } from '../src/index.js'

/** "30 03 00 01 'a'" → bytes; quoted text is ASCII. */
function hex(spec: string): Buffer {
  const out: number[] = []
  for (const tok of spec.match(/'[^']*'|\S+/g) ?? []) {
    if (tok.startsWith("'")) out.push(...Buffer.from(tok.slice(1, -1), 'latin1'))
    else out.push(Number.parseInt(tok, 16))
  }
  return Buffer.from(out)
}

function parse(bytes: Buffer, version?: ProtocolVersion, maxPacketSize?: number): Packet[] {
  const parser = new PacketParser({
    ...(version !== undefined ? { protocolVersion: version } : {}),
    ...(maxPacketSize !== undefined ? { maxPacketSize } : {}),
  })
  const out: Packet[] = []
  parser.push(bytes, (p) => out.push(p))
  return out
}

function assertRejects(bytes: Buffer, version: ProtocolVersion | undefined, code: number): void {
  assert.throws(
    () => parse(bytes, version),
    (e: unknown) => {
      assert.ok(e instanceof MqttProtocolError, `expected MqttProtocolError, got ${String(e)}`)
      assert.equal(e.reasonCode, code, e.message)
      return true
    },
  )
}

const MALFORMED = 0x81
const PROTOCOL = 0x82
const UNSUPPORTED = 0x84

// v4 CONNECT prefix: protocol name "MQTT", level, then the flags byte follows.
const C4 = "00 04 'MQTT' 04"
const C5 = "00 04 'MQTT' 05"

interface Case {
  tag: string
  what: string
  bytes: string
  version?: ProtocolVersion
  code: number
}

const CASES: Case[] = [
  // Fixed header and framing (section 2.1, 1.5.5)
  {
    tag: 'MQTT-1.5.5',
    what: 'remaining length of 5 bytes',
    bytes: '30 ff ff ff ff 7f',
    version: 4,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-1.5.5-1',
    what: 'non-minimal remaining length',
    bytes: 'c0 80 00',
    version: 4,
    code: MALFORMED,
  },
  { tag: 'MQTT-2.2.1', what: 'reserved packet type 0', bytes: '00 00', version: 4, code: MALFORMED },
  { tag: 'MQTT-2.2.1', what: 'AUTH in 3.1.1', bytes: 'f0 00', version: 4, code: MALFORMED },
  { tag: 'MQTT-2.2.2-2', what: 'PUBREL flags 0', bytes: '60 02 00 01', version: 4, code: MALFORMED },
  {
    tag: 'MQTT-2.2.2-2',
    what: 'SUBSCRIBE flags 0',
    bytes: "80 06 00 01 00 01 'a' 00",
    version: 4,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-2.2.2-2',
    what: 'UNSUBSCRIBE flags 0',
    bytes: "a0 05 00 01 00 01 'a'",
    version: 4,
    code: MALFORMED,
  },
  { tag: 'MQTT-2.2.2-2', what: 'PINGREQ flags 1', bytes: 'c1 00', version: 4, code: MALFORMED },
  { tag: 'MQTT-2.2.2-2', what: 'CONNECT flags 2', bytes: `12 0c ${C4} 02 00 3c 00 00`, code: MALFORMED },
  { tag: 'MQTT-3.1.0-1', what: 'PINGREQ before CONNECT', bytes: 'c0 00', code: PROTOCOL },
  { tag: 'MQTT-3.1.0-1', what: 'PUBLISH before CONNECT', bytes: "30 03 00 01 'a'", code: PROTOCOL },
  // PUBLISH (3.3)
  { tag: 'MQTT-3.3.1-4', what: 'PUBLISH QoS 3', bytes: "36 05 00 01 'a' 00 01", version: 4, code: MALFORMED },
  {
    tag: 'MQTT-3.3.1-2',
    what: 'PUBLISH QoS 0 with DUP',
    bytes: "38 03 00 01 'a'",
    version: 4,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-2.2.1-3',
    what: 'PUBLISH QoS 1 packet id 0',
    bytes: "32 05 00 01 'a' 00 00",
    version: 4,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-1.5.4-1',
    what: 'topic with invalid UTF-8',
    bytes: '30 03 00 01 ff',
    version: 4,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-1.5.4-1',
    what: 'topic with UTF-16 surrogate',
    bytes: '30 05 00 03 ed a0 80',
    version: 4,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-1.5.4-1',
    what: 'topic with overlong encoding',
    bytes: '30 04 00 02 c0 af',
    version: 4,
    code: MALFORMED,
  },
  { tag: 'MQTT-1.5.4-2', what: 'topic with U+0000', bytes: '30 03 00 01 00', version: 4, code: MALFORMED },
  {
    tag: 'MQTT-2.1.4',
    what: 'topic longer than packet',
    bytes: "30 03 00 05 'a'",
    version: 4,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-2.1.4',
    what: 'PUBLISH QoS 1 cut in packet id',
    bytes: "32 04 00 01 'a' 00",
    version: 4,
    code: MALFORMED,
  },
  // Acknowledgements and empty packets
  { tag: 'MQTT-2.2.1-3', what: 'PUBACK packet id 0', bytes: '40 02 00 00', version: 4, code: PROTOCOL },
  {
    tag: 'MQTT-2.1.4',
    what: 'PUBACK 3.1.1 with extra byte',
    bytes: '40 03 00 01 00',
    version: 4,
    code: MALFORMED,
  },
  { tag: 'MQTT-2.1.4', what: 'PUBACK 3.1.1 too short', bytes: '40 01 00', version: 4, code: MALFORMED },
  {
    tag: 'MQTT-2.1.4',
    what: 'UNSUBACK 3.1.1 with extra byte',
    bytes: 'b0 03 00 01 00',
    version: 4,
    code: MALFORMED,
  },
  { tag: 'MQTT-2.1.4', what: 'PINGREQ with a body', bytes: 'c0 01 00', version: 4, code: MALFORMED },
  { tag: 'MQTT-2.1.4', what: 'DISCONNECT 3.1.1 with a body', bytes: 'e0 01 00', version: 4, code: MALFORMED },
  { tag: 'MQTT-3.2.2-1', what: 'CONNACK reserved flags', bytes: '20 02 02 00', version: 4, code: MALFORMED },
  {
    tag: 'MQTT-3.2.2-3',
    what: 'CONNACK 3.1.1 return code 6',
    bytes: '20 02 00 06',
    version: 4,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-3.9.3-2',
    what: 'SUBACK 3.1.1 return code 3',
    bytes: '90 03 00 01 03',
    version: 4,
    code: MALFORMED,
  },
  { tag: 'MQTT-3.4.2.1', what: 'PUBACK 5 reason 0x92', bytes: '40 03 00 01 92', version: 5, code: PROTOCOL },
  { tag: 'MQTT-3.6.2.1', what: 'PUBREL 5 reason 0x10', bytes: '62 03 00 01 10', version: 5, code: PROTOCOL },
  { tag: 'MQTT-3.14.2.1', what: 'DISCONNECT 5 reason 0x05', bytes: 'e0 01 05', version: 5, code: PROTOCOL },
  { tag: 'MQTT-3.15.2.1', what: 'AUTH reason 0x01', bytes: 'f0 01 01', version: 5, code: PROTOCOL },
  // SUBSCRIBE / UNSUBSCRIBE (3.8, 3.10)
  {
    tag: 'MQTT-3.8.3-3',
    what: 'SUBSCRIBE without filters',
    bytes: '82 02 00 01',
    version: 4,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-3.8.3-3',
    what: 'SUBSCRIBE 5 without filters',
    bytes: '82 03 00 01 00',
    version: 5,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-2.2.1-3',
    what: 'SUBSCRIBE packet id 0',
    bytes: "82 06 00 00 00 01 'a' 00",
    version: 4,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-3-8.3-4',
    what: 'SUBSCRIBE 3.1.1 reserved bits',
    bytes: "82 06 00 01 00 01 'a' 04",
    version: 4,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-3-8.3-4',
    what: 'SUBSCRIBE 3.1.1 QoS 3',
    bytes: "82 06 00 01 00 01 'a' 03",
    version: 4,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-3.8.3-5',
    what: 'SUBSCRIBE 5 reserved bits',
    bytes: "82 07 00 01 00 00 01 'a' 40",
    version: 5,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-3.8.3.1',
    what: 'SUBSCRIBE 5 Retain Handling 3',
    bytes: "82 07 00 01 00 00 01 'a' 30",
    version: 5,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-3.8.3.1',
    what: 'SUBSCRIBE 5 QoS 3',
    bytes: "82 07 00 01 00 00 01 'a' 03",
    version: 5,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-3.8.3-4',
    what: 'No Local on shared subscription',
    bytes: "82 10 00 01 00 00 0a '$share/g/a' 04",
    version: 5,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-2.1.4',
    what: 'SUBSCRIBE filter cut',
    bytes: "82 05 00 01 00 05 'a'",
    version: 4,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-2.1.4',
    what: 'SUBSCRIBE without options byte',
    bytes: "82 05 00 01 00 01 'a'",
    version: 4,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-3.10.3-2',
    what: 'UNSUBSCRIBE without filters',
    bytes: 'a2 02 00 01',
    version: 4,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-1.5.4-1',
    what: 'UNSUBSCRIBE filter invalid UTF-8',
    bytes: 'a2 05 00 01 00 01 80',
    version: 4,
    code: MALFORMED,
  },
  // MQTT 5 properties (2.2.2)
  {
    tag: 'MQTT-2.2.2.2',
    what: 'unknown property 0x07',
    bytes: "30 06 00 01 'a' 02 07 00",
    version: 5,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-2.2.2.2',
    what: 'Session Expiry in PUBLISH',
    bytes: "30 09 00 01 'a' 05 11 00 00 00 01",
    version: 5,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-2.2.2.2',
    what: 'Will Delay in CONNECT properties',
    bytes: `10 12 ${C5} 02 00 3c 05 18 00 00 00 01 00 00`,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-2.2.2.2',
    what: 'Topic Alias twice',
    bytes: "30 0a 00 01 'a' 06 23 00 01 23 00 02",
    version: 5,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-2.2.2.2',
    what: 'Content Type twice',
    bytes: "30 0c 00 01 'a' 08 03 00 01 'x' 03 00 01 'y'",
    version: 5,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-3.8.2.1.2',
    what: 'Subscription Identifier twice in SUBSCRIBE',
    bytes: "82 0b 00 01 04 0b 01 0b 02 00 01 'a' 00",
    version: 5,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-3.8.2.1.2',
    what: 'Subscription Identifier 0',
    bytes: "82 09 00 01 02 0b 00 00 01 'a' 00",
    version: 5,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-3.3.2.3.2',
    what: 'Payload Format Indicator 2',
    bytes: "30 06 00 01 'a' 02 01 02",
    version: 5,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-3.1.2.11.3',
    what: 'Receive Maximum 0',
    bytes: `10 10 ${C5} 02 00 3c 03 21 00 00 00 00`,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-3.1.2.11.4',
    what: 'Maximum Packet Size 0',
    bytes: `10 12 ${C5} 02 00 3c 05 27 00 00 00 00 00 00`,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-3.1.2.11.10',
    what: 'Authentication Data without Method',
    bytes: `10 11 ${C5} 02 00 3c 04 16 00 01 'd' 00 00`,
    code: PROTOCOL,
  },
  {
    tag: 'MQTT-1.5.5-1',
    what: 'property length not minimal',
    bytes: "30 05 00 01 'a' 80 00",
    version: 5,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-1.5.5',
    what: 'Subscription Identifier of 5 bytes',
    bytes: "30 0a 00 01 'a' 06 0b ff ff ff ff 01",
    version: 5,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-2.1.4',
    what: 'property length beyond packet',
    bytes: "30 05 00 01 'a' 09 01",
    version: 5,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-2.1.4',
    what: 'property value beyond property length',
    bytes: "30 07 00 01 'a' 02 02 00 00",
    version: 5,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-1.5.4-1',
    what: 'user property with invalid UTF-8',
    bytes: "30 0b 00 01 'a' 07 26 00 01 fe 00 01 'v'",
    version: 5,
    code: MALFORMED,
  },
  // CONNECT (3.1)
  {
    tag: 'MQTT-3.1.2-3',
    what: 'CONNECT reserved flag',
    bytes: `10 0c ${C4} 03 00 3c 00 00`,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-3.1.2-11',
    what: 'Will QoS without Will Flag',
    bytes: `10 0c ${C4} 0a 00 3c 00 00`,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-3.1.2-13',
    what: 'Will Retain without Will Flag',
    bytes: `10 0c ${C4} 22 00 3c 00 00`,
    code: MALFORMED,
  },
  { tag: 'MQTT-3.1.2-12', what: 'Will QoS 3', bytes: `10 0c ${C4} 1e 00 3c 00 00`, code: MALFORMED },
  {
    tag: 'MQTT-3.1.2-22',
    what: '3.1.1 password without user name',
    bytes: `10 0f ${C4} 42 00 3c 00 00 00 01 'p'`,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-3.1.2-2',
    what: 'protocol level 6',
    bytes: "10 0c 00 04 'MQTT' 06 02 00 3c 00 00",
    code: UNSUPPORTED,
  },
  {
    tag: 'MQTT-3.1.2-2',
    what: 'protocol level 2',
    bytes: "10 0c 00 04 'MQTT' 02 02 00 3c 00 00",
    code: UNSUPPORTED,
  },
  {
    tag: 'MQTT-3.1.2-1',
    what: 'protocol name MQTX',
    bytes: "10 0c 00 04 'MQTX' 04 02 00 3c 00 00",
    code: UNSUPPORTED,
  },
  {
    tag: 'MQTT-3.1.2-1',
    what: 'MQIsdp at level 4',
    bytes: "10 0e 00 06 'MQIsdp' 04 02 00 3c 00 00",
    code: UNSUPPORTED,
  },
  {
    tag: 'MQTT-2.1.4',
    what: 'CONNECT with trailing byte',
    bytes: `10 0d ${C4} 02 00 3c 00 00 00`,
    code: MALFORMED,
  },
  { tag: 'MQTT-2.1.4', what: 'CONNECT without client id', bytes: `10 0a ${C4} 02 00 3c`, code: MALFORMED },
  {
    tag: 'MQTT-2.1.4',
    what: 'CONNECT will without will payload',
    bytes: `10 0f ${C4} 06 00 3c 00 00 00 01 't'`,
    code: MALFORMED,
  },
  {
    tag: 'MQTT-1.5.4-2',
    what: 'client id with U+0000',
    bytes: `10 0d ${C4} 02 00 3c 00 01 00`,
    code: MALFORMED,
  },
]

describe('parser rejects each violation with its reason code', () => {
  for (const c of CASES) {
    test(`[${c.tag}] ${c.what} → 0x${c.code.toString(16)}`, () => {
      const bytes = hex(c.bytes)
      assertRejects(bytes, c.version, c.code)
      // Fed byte by byte the verdict is the same: framing must not change it.
      assert.throws(
        () => {
          const parser = new PacketParser(c.version !== undefined ? { protocolVersion: c.version } : {})
          for (let i = 0; i < bytes.length; i++) parser.push(bytes.subarray(i, i + 1), () => {})
        },
        (e: unknown) => e instanceof MqttProtocolError && e.reasonCode === c.code,
      )
    })
  }
})

describe('parser accepts valid forms', () => {
  test('[MQTT-3.1.2-2] a 3.1.1 CONNECT sets the parser protocol level', () => {
    const parser = new PacketParser()
    assert.equal(parser.protocolVersion, undefined)
    const out: Packet[] = []
    parser.push(hex(`10 0c ${C4} 02 00 3c 00 00 c0 00`), (p) => out.push(p))
    assert.equal(parser.protocolVersion, 4)
    assert.deepEqual(
      out.map((p) => p.type),
      ['connect', 'pingreq'],
    )
  })

  test('MQTT 3.1 ("MQIsdp", level 3) is accepted as a 3.1.1 variant', () => {
    const [p] = parse(hex("10 0e 00 06 'MQIsdp' 03 02 00 3c 00 00"))
    assert.equal(p?.type, 'connect')
    assert.equal(p?.type === 'connect' && p.protocolVersion, 3)
  })

  test('MQTT 5 allows a password without a user name (3.1.2.9)', () => {
    const [p] = parse(hex(`10 10 ${C5} 42 00 3c 00 00 00 00 01 'p'`))
    assert.ok(p?.type === 'connect', 'unexpected packet type')
    assert.equal(p.username, undefined)
    assert.deepEqual(p.password, Buffer.from('p'))
  })

  test('[MQTT-3.3.2-18] user properties keep order and repeated keys', () => {
    const [p] = parse(hex("30 13 00 01 'a' 0e 26 00 01 'k' 00 01 '1' 26 00 01 'k' 00 01 '2' 'x'"), 5)
    assert.ok(p?.type === 'publish', 'unexpected packet type')
    assert.deepEqual(p.properties?.userProperties, [
      ['k', '1'],
      ['k', '2'],
    ])
    assert.deepEqual(p.payload, Buffer.from('x'))
  })

  test('PUBLISH may carry several Subscription Identifiers (3.3.2.3.8)', () => {
    const [p] = parse(hex("30 08 00 01 'a' 04 0b 01 0b 02"), 5)
    assert.ok(p?.type === 'publish', 'unexpected packet type')
    assert.deepEqual(p.properties?.subscriptionIdentifiers, [1, 2])
  })

  test('MQTT 5 allows an empty topic (with a Topic Alias: the broker checks)', () => {
    const [p] = parse(hex('30 06 00 00 03 23 00 01'), 5)
    assert.ok(p?.type === 'publish', 'unexpected packet type')
    assert.equal(p.topic, '')
    assert.equal(p.properties?.topicAlias, 1)
  })

  for (const [what, bytes, expected] of [
    ['PUBACK Remaining Length 2 (3.4.2.1)', '40 02 00 07', { type: 'puback', packetId: 7 }],
    ['PUBACK Remaining Length 3', '40 03 00 07 10', { type: 'puback', packetId: 7, reasonCode: 0x10 }],
    ['PUBACK Remaining Length 4', '40 04 00 07 10 00', { type: 'puback', packetId: 7, reasonCode: 0x10 }],
    ['PUBREL Remaining Length 2', '62 02 00 07', { type: 'pubrel', packetId: 7 }],
    ['DISCONNECT Remaining Length 0 (3.14.2.1)', 'e0 00', { type: 'disconnect' }],
    ['DISCONNECT Remaining Length 1', 'e0 01 8b', { type: 'disconnect', reasonCode: 0x8b }],
    ['AUTH Remaining Length 0 (3.15.2.1)', 'f0 00', { type: 'auth' }],
    [
      'UNSUBACK with codes',
      'b0 05 00 07 00 00 11',
      { type: 'unsuback', packetId: 7, reasonCodes: [0, 0x11] },
    ],
  ] as const) {
    test(`MQTT 5 short form: ${what}`, () => {
      assert.deepEqual(parse(hex(bytes), 5), [expected])
    })
  }

  test('4-byte remaining length at the maximum is framed, then limited by maxPacketSize', () => {
    // 0xff 0xff 0xff 0x7f = 268,435,455: a legal header, over a small limit.
    assert.throws(
      () => parse(hex('30 ff ff ff 7f'), 4, 1024),
      (e: unknown) => e instanceof MqttProtocolError && e.reasonCode === 0x95,
    )
  })
})

describe('framing and buffering', () => {
  test('[MQTT-3.1.2-24] a packet over maxPacketSize is refused from its fixed header alone', () => {
    const parser = new PacketParser({ protocolVersion: 5, maxPacketSize: 100 })
    // Only the fixed header of a 1,000-byte PUBLISH arrives: the verdict comes before the body.
    assert.throws(
      () => parser.push(hex('30 e6 07'), () => {}),
      (e: unknown) => e instanceof MqttProtocolError && e.reasonCode === 0x95,
    )
  })

  test('maxPacketSize can be lowered after CONNECT', () => {
    const parser = new PacketParser()
    parser.push(hex(`10 0c ${C4} 02 00 3c 00 00`), () => {
      parser.maxPacketSize = 8
    })
    assert.throws(
      () => parser.push(hex("30 08 00 01 'a' 'hello'"), () => {}),
      (e: unknown) => e instanceof MqttProtocolError && e.reasonCode === 0x95,
    )
  })

  test('a packet wholly inside a chunk has a zero-copy payload; a split one is copied once', () => {
    const bytes = hex("30 08 00 01 'a' 'hello' 30 08 00 01 'b' 'world'")
    // Buffer.alloc is never pooled, so the chunk owns its ArrayBuffer.
    const chunk = Buffer.alloc(bytes.length)
    bytes.copy(chunk)
    const parser = new PacketParser({ protocolVersion: 4 })
    const out: Packet[] = []
    parser.push(chunk.subarray(0, 14), (p) => out.push(p))
    assert.equal(parser.buffered, 4)
    parser.push(chunk.subarray(14), (p) => out.push(p))
    assert.equal(parser.buffered, 0)
    const [a, b] = out
    assert.ok(a?.type === 'publish' && b?.type === 'publish', 'unexpected packet type')
    assert.equal(a.payload.buffer, chunk.buffer)
    assert.notEqual(b.payload.buffer, chunk.buffer)
    assert.deepEqual([a.payload.toString(), b.payload.toString()], ['hello', 'world'])
  })

  test('every split point of a packet stream gives the same packets', () => {
    const stream = hex(
      `10 0c ${C4} 02 00 3c 00 00 ` +
        "32 0a 00 03 'a/b' 00 05 'xyz' " +
        "82 08 00 02 00 03 'a/+' 01 " +
        'c0 00 ' +
        "30 ff 01 00 01 'z' " +
        'ab '.repeat(252) +
        'e0 00',
    )
    const whole: Packet[] = []
    new PacketParser().push(stream, (p) => whole.push(p))
    assert.equal(whole.length, 6)
    for (let cut = 1; cut < stream.length; cut++) {
      const parser = new PacketParser()
      const parts: Packet[] = []
      parser.push(stream.subarray(0, cut), (p) => parts.push(p))
      parser.push(stream.subarray(cut), (p) => parts.push(p))
      assert.deepEqual(parts, whole, `cut at ${cut}`)
    }
  })

  test('a fixed header split over several chunks', () => {
    const bytes = Buffer.concat([hex("30 80 01 00 01 'a'"), Buffer.alloc(125, 0x61)])
    const parser = new PacketParser({ protocolVersion: 4 })
    const out: Packet[] = []
    for (const part of [
      bytes.subarray(0, 1),
      bytes.subarray(1, 2),
      bytes.subarray(2, 3),
      bytes.subarray(3),
    ]) {
      parser.push(part, (p) => out.push(p))
    }
    assert.equal(out.length, 1)
    assert.ok(out[0]?.type === 'publish', 'unexpected packet type')
    assert.equal(out[0].payload.length, 125)
  })
})
