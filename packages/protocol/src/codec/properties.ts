/**
 * MQTT 5 properties (section 2.2.2): one table gives each property's
 * identifier, data type and the packets it may appear in, and both the
 * decoder and the encoder are driven by it.
 * https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html#_Toc3901027
 */
import { malformed, protocolError } from '../errors.js'
import type { Properties, UserProperties } from '../packets.js'
import {
  type Reader,
  stringLength,
  vbiLength,
  writeBinary,
  writeString,
  writeU16,
  writeVbi,
} from './primitives.js'

/** Where a property list sits: one bit per packet kind (Will Properties count as their own). */
export const Ctx = {
  connect: 1,
  connack: 2,
  publish: 4,
  will: 8,
  pubResponse: 16,
  subscribe: 32,
  suback: 64,
  unsubscribe: 128,
  unsuback: 256,
  disconnect: 512,
  auth: 1024,
} as const
export type Context = (typeof Ctx)[keyof typeof Ctx]

enum T {
  Byte,
  U16,
  U32,
  Vbi,
  Str,
  Bin,
  Pair,
}

interface PropDef {
  id: number
  key: keyof Properties
  type: T
  contexts: number
}

const ALL =
  Ctx.connect |
  Ctx.connack |
  Ctx.publish |
  Ctx.will |
  Ctx.pubResponse |
  Ctx.subscribe |
  Ctx.suback |
  Ctx.unsubscribe |
  Ctx.unsuback |
  Ctx.disconnect |
  Ctx.auth

// Section 2.2.2.2, table 2-4.
const DEFS: PropDef[] = [
  { id: 0x01, key: 'payloadFormatIndicator', type: T.Byte, contexts: Ctx.publish | Ctx.will },
  { id: 0x02, key: 'messageExpiryInterval', type: T.U32, contexts: Ctx.publish | Ctx.will },
  { id: 0x03, key: 'contentType', type: T.Str, contexts: Ctx.publish | Ctx.will },
  { id: 0x08, key: 'responseTopic', type: T.Str, contexts: Ctx.publish | Ctx.will },
  { id: 0x09, key: 'correlationData', type: T.Bin, contexts: Ctx.publish | Ctx.will },
  { id: 0x0b, key: 'subscriptionIdentifiers', type: T.Vbi, contexts: Ctx.publish | Ctx.subscribe },
  {
    id: 0x11,
    key: 'sessionExpiryInterval',
    type: T.U32,
    contexts: Ctx.connect | Ctx.connack | Ctx.disconnect,
  },
  { id: 0x12, key: 'assignedClientIdentifier', type: T.Str, contexts: Ctx.connack },
  { id: 0x13, key: 'serverKeepAlive', type: T.U16, contexts: Ctx.connack },
  { id: 0x15, key: 'authenticationMethod', type: T.Str, contexts: Ctx.connect | Ctx.connack | Ctx.auth },
  { id: 0x16, key: 'authenticationData', type: T.Bin, contexts: Ctx.connect | Ctx.connack | Ctx.auth },
  { id: 0x17, key: 'requestProblemInformation', type: T.Byte, contexts: Ctx.connect },
  { id: 0x18, key: 'willDelayInterval', type: T.U32, contexts: Ctx.will },
  { id: 0x19, key: 'requestResponseInformation', type: T.Byte, contexts: Ctx.connect },
  { id: 0x1a, key: 'responseInformation', type: T.Str, contexts: Ctx.connack },
  { id: 0x1c, key: 'serverReference', type: T.Str, contexts: Ctx.connack | Ctx.disconnect },
  {
    id: 0x1f,
    key: 'reasonString',
    type: T.Str,
    contexts: ALL & ~(Ctx.connect | Ctx.publish | Ctx.will | Ctx.subscribe | Ctx.unsubscribe),
  },
  { id: 0x21, key: 'receiveMaximum', type: T.U16, contexts: Ctx.connect | Ctx.connack },
  { id: 0x22, key: 'topicAliasMaximum', type: T.U16, contexts: Ctx.connect | Ctx.connack },
  { id: 0x23, key: 'topicAlias', type: T.U16, contexts: Ctx.publish },
  { id: 0x24, key: 'maximumQoS', type: T.Byte, contexts: Ctx.connack },
  { id: 0x25, key: 'retainAvailable', type: T.Byte, contexts: Ctx.connack },
  { id: 0x26, key: 'userProperties', type: T.Pair, contexts: ALL },
  { id: 0x27, key: 'maximumPacketSize', type: T.U32, contexts: Ctx.connect | Ctx.connack },
  { id: 0x28, key: 'wildcardSubscriptionAvailable', type: T.Byte, contexts: Ctx.connack },
  { id: 0x29, key: 'subscriptionIdentifiersAvailable', type: T.Byte, contexts: Ctx.connack },
  { id: 0x2a, key: 'sharedSubscriptionAvailable', type: T.Byte, contexts: Ctx.connack },
]

const BY_ID: Array<PropDef | undefined> = []
const BY_KEY = new Map<string, PropDef>()
for (const d of DEFS) {
  BY_ID[d.id] = d
  BY_KEY.set(d.key, d)
}

/** Properties whose value must be 0 or 1; any other value is a Protocol Error (e.g. [MQTT-3.1.2-... ] table 2-4 notes). */
const BOOLEAN_BYTE = new Set<keyof Properties>([
  'payloadFormatIndicator',
  'requestProblemInformation',
  'requestResponseInformation',
  'maximumQoS',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
])

type Mutable = Record<string, unknown>

/**
 * Reads a Property Length and the properties after it. An unknown identifier
 * or one not allowed in this packet is a Malformed Packet (2.2.2.2: "a packet
 * containing a property not in table 2-4 for it is malformed"); a property
 * given twice where only one is allowed is a Protocol Error.
 */
export function readProperties(r: Reader, ctx: Context): Properties | undefined {
  const len = r.vbi()
  if (len === 0) return undefined
  const end = r.pos + len
  if (end > r.end) throw malformed('property length longer than the packet')
  const outerEnd = r.end
  r.end = end
  const props: Properties = {}
  const out = props as Mutable
  while (r.pos < end) {
    const id = r.vbi()
    const def = BY_ID[id]
    if (def === undefined) throw malformed(`unknown property identifier 0x${id.toString(16)}`)
    if ((def.contexts & ctx) === 0) throw malformed(`property ${def.key} is not allowed in this packet`)
    switch (def.type) {
      case T.Pair: {
        const k = r.utf8()
        const v = r.utf8()
        // User Property may repeat, order kept [MQTT-3.3.2-18].
        const list = props.userProperties
        if (list === undefined) props.userProperties = [[k, v]]
        else list.push([k, v])
        continue
      }
      case T.Vbi: {
        const id = r.vbi()
        // [MQTT-3.8.2.1.2] a Subscription Identifier of 0 is a Protocol Error.
        if (id === 0) throw protocolError('subscription identifier 0')
        const list = props.subscriptionIdentifiers
        if (list === undefined) props.subscriptionIdentifiers = [id]
        else if (ctx === Ctx.subscribe)
          throw protocolError('subscription identifier given twice in SUBSCRIBE')
        else list.push(id)
        continue
      }
    }
    if (out[def.key] !== undefined) throw protocolError(`property ${def.key} given twice`)
    let value: number | string | Buffer
    switch (def.type) {
      case T.Byte:
        value = r.u8()
        if (value > 1 && BOOLEAN_BYTE.has(def.key)) throw protocolError(`property ${def.key} must be 0 or 1`)
        break
      case T.U16:
        value = r.u16()
        // Receive Maximum 0 is a Protocol Error (3.1.2.11.3, 3.2.2.3.3).
        if (value === 0 && def.key === 'receiveMaximum') throw protocolError('receive maximum 0')
        break
      case T.U32:
        value = r.u32()
        // Maximum Packet Size 0 is a Protocol Error (3.1.2.11.4, 3.2.2.3.6).
        if (value === 0 && def.key === 'maximumPacketSize') throw protocolError('maximum packet size 0')
        break
      case T.Str:
        value = r.utf8()
        break
      default:
        value = r.binary()
        break
    }
    out[def.key] = value
  }
  r.end = outerEnd
  return props
}

/** Encoded size of the properties (without the Property Length field). */
export function propertiesLength(props: Properties | undefined): number {
  if (props === undefined) return 0
  let n = 0
  const src = props as Mutable
  for (const key in src) {
    const value = src[key]
    if (value === undefined) continue
    const def = BY_KEY.get(key)
    if (def === undefined) continue
    switch (def.type) {
      case T.Byte:
        n += 2
        break
      case T.U16:
        n += 3
        break
      case T.U32:
        n += 5
        break
      case T.Vbi:
        for (const id of value as number[]) n += 1 + vbiLength(id)
        break
      case T.Str:
        n += 3 + stringLength(value as string)
        break
      case T.Bin:
        n += 3 + (value as Buffer).length
        break
      case T.Pair:
        for (const [k, v] of value as UserProperties) n += 5 + stringLength(k) + stringLength(v)
        break
    }
  }
  return n
}

/** Writes Property Length (of the given size) and the properties; returns the position after them. */
export function writeProperties(
  buf: Buffer,
  pos: number,
  props: Properties | undefined,
  len: number,
): number {
  pos = writeVbi(buf, pos, len)
  if (props === undefined || len === 0) return pos
  const src = props as Mutable
  for (const key in src) {
    const value = src[key]
    if (value === undefined) continue
    const def = BY_KEY.get(key)
    if (def === undefined) continue
    switch (def.type) {
      case T.Byte:
        buf[pos++] = def.id
        buf[pos++] = value as number
        break
      case T.U16:
        buf[pos++] = def.id
        pos = writeU16(buf, pos, value as number)
        break
      case T.U32:
        buf[pos++] = def.id
        buf.writeUInt32BE(value as number, pos)
        pos += 4
        break
      case T.Vbi:
        for (const id of value as number[]) {
          buf[pos++] = def.id
          pos = writeVbi(buf, pos, id)
        }
        break
      case T.Str: {
        buf[pos++] = def.id
        const s = value as string
        pos = writeString(buf, pos, s, Buffer.byteLength(s))
        break
      }
      case T.Bin:
        buf[pos++] = def.id
        pos = writeBinary(buf, pos, value as Buffer)
        break
      case T.Pair:
        for (const [k, v] of value as UserProperties) {
          buf[pos++] = def.id
          pos = writeString(buf, pos, k, Buffer.byteLength(k))
          pos = writeString(buf, pos, v, Buffer.byteLength(v))
        }
        break
    }
  }
  return pos
}
