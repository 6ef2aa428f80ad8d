/**
 * Converts between our packet shape and mqtt-packet's, and normalises both
 * sides so that a round trip can be compared with deepStrictEqual.
 *
 * mqtt-packet's known quirks (v9), and what we do about them:
 * - User properties are an object `{ key: string | string[] }`, so the order
 *   of pairs with different keys is lost: we compare user properties sorted by
 *   key, keeping the order of values within a key (the order MQTT-3.3.2-18 is
 *   about is preserved per key by both).
 * - One-byte boolean properties (Payload Format Indicator, Request Problem
 *   Information, Retain Available...) are booleans there, 0 | 1 here.
 * - A Subscription Identifier is a number when one, an array when several.
 * - CONNACK carries `returnCode` for 3.1.1 and `reasonCode` for 5.
 * - It parses an absent reason code as `reasonCode: 0`; we leave it absent.
 *   Normalisation treats 0 and absent as the same (the spec does: 3.4.2.1).
 * - It cannot parse the AUTH short form (Remaining Length 0, 3.15.2.1), which
 *   we emit for AUTH Success without properties: that case is skipped in the
 *   ours → mqtt-packet direction.
 * - It writes PUBACK... with reasonCode undefined as if it were non-zero
 *   (a 0x00 byte plus an empty Property Length): we always pass a number.
 * - Its parser drops values of a repeated user property key whose first value
 *   is the empty string (it tests the stored value for truthiness): such
 *   packets are skipped in the ours → mqtt-packet direction.
 * - Its generate() refuses some CONNECTs the spec leaves to the server: an
 *   empty Client Identifier with Clean Session 0 ([MQTT-3.1.3-7]; MQTT 5
 *   3.1.3.1 allows it) or at level 3, and a password without a user name at
 *   level 5 (allowed by MQTT 5 3.1.2.9). See mqttPacketCanGenerate.
 */
import type { Packet, Properties, ProtocolVersion, UserProperties } from '../../src/index.js'

type MqttUserProperties = Record<string, string | string[]>
type Obj = Record<string, unknown>

const BOOL_PROPS = new Set([
  'payloadFormatIndicator',
  'requestProblemInformation',
  'requestResponseInformation',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
])

export function propsToMqtt(props: Properties | undefined): Obj | undefined {
  if (props === undefined) return undefined
  const out: Obj = {}
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue
    if (key === 'userProperties') {
      const up: MqttUserProperties = {}
      for (const [k, v] of value as UserProperties) {
        const cur = up[k]
        if (cur === undefined) up[k] = v
        else if (Array.isArray(cur)) cur.push(v)
        else up[k] = [cur, v]
      }
      out.userProperties = up
    } else if (key === 'subscriptionIdentifiers') {
      const ids = value as number[]
      out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids
    } else if (BOOL_PROPS.has(key)) {
      out[key] = value === 1
    } else {
      out[key] = value
    }
  }
  return out
}

export function propsFromMqtt(props: unknown): Properties | undefined {
  if (props === undefined || props === null) return undefined
  const out: Obj = {}
  for (const [key, value] of Object.entries(props as Obj)) {
    if (key === 'userProperties') {
      const list: UserProperties = []
      for (const [k, v] of Object.entries(value as MqttUserProperties)) {
        for (const item of Array.isArray(v) ? v : [v]) list.push([k, item])
      }
      out.userProperties = list
    } else if (key === 'subscriptionIdentifier') {
      out.subscriptionIdentifiers = Array.isArray(value) ? value : [value]
    } else if (BOOL_PROPS.has(key)) {
      out[key] = value ? 1 : 0
    } else {
      out[key] = value
    }
  }
  return out as Properties
}

const ids = (p: { packetId: number }) => ({ messageId: p.packetId })

/** Our packet → mqtt-packet's object for generate(). */
export function toMqtt(p: Packet, v: ProtocolVersion): Obj {
  const properties = v === 5 ? propsToMqtt('properties' in p ? p.properties : undefined) : undefined
  const withProps = (o: Obj): Obj => (properties !== undefined ? { ...o, properties } : o)
  switch (p.type) {
    case 'connect': {
      const o: Obj = {
        cmd: 'connect',
        protocolId: p.protocolName,
        protocolVersion: p.protocolVersion,
        clean: p.clean,
        keepalive: p.keepAlive,
        clientId: p.clientId,
      }
      if (p.will !== undefined) {
        const will: Obj = {
          topic: p.will.topic,
          payload: p.will.payload,
          qos: p.will.qos,
          retain: p.will.retain,
        }
        const wp = v === 5 ? propsToMqtt(p.will.properties) : undefined
        if (wp !== undefined) will.properties = wp
        o.will = will
      }
      if (p.username !== undefined) o.username = p.username
      if (p.password !== undefined) o.password = p.password
      return withProps(o)
    }
    case 'connack':
      return withProps({
        cmd: 'connack',
        sessionPresent: p.sessionPresent,
        [v === 5 ? 'reasonCode' : 'returnCode']: p.reasonCode,
      })
    case 'publish': {
      const o: Obj = {
        cmd: 'publish',
        topic: p.topic,
        payload: p.payload,
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
      }
      if (p.packetId !== undefined) o.messageId = p.packetId
      return withProps(o)
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return withProps({ cmd: p.type, ...ids(p), reasonCode: p.reasonCode ?? 0 })
    case 'subscribe':
      return withProps({
        cmd: 'subscribe',
        ...ids(p),
        subscriptions: p.subscriptions.map((s) =>
          v === 5
            ? {
                topic: s.topicFilter,
                qos: s.qos,
                nl: s.noLocal,
                rap: s.retainAsPublished,
                rh: s.retainHandling,
              }
            : { topic: s.topicFilter, qos: s.qos },
        ),
      })
    case 'suback':
      return withProps({ cmd: 'suback', ...ids(p), granted: p.reasonCodes })
    case 'unsubscribe':
      return withProps({ cmd: 'unsubscribe', ...ids(p), unsubscriptions: p.topicFilters })
    case 'unsuback':
      return withProps({ cmd: 'unsuback', ...ids(p), granted: p.reasonCodes ?? [] })
    case 'pingreq':
    case 'pingresp':
      return { cmd: p.type }
    case 'disconnect':
    case 'auth':
      return withProps({ cmd: p.type, reasonCode: p.reasonCode ?? 0 })
  }
}

/** mqtt-packet's parsed object → our packet shape. */
export function fromMqtt(o: Obj, v: ProtocolVersion): Packet {
  const props = v === 5 ? propsFromMqtt(o.properties) : undefined
  const withProps = <T extends object>(p: T): T => (props !== undefined ? { ...p, properties: props } : p)
  const packetId = o.messageId as number
  const type = o.cmd as Packet['type']
  switch (type) {
    case 'connect': {
      const p: Packet = {
        type,
        protocolName: o.protocolId as 'MQTT' | 'MQIsdp',
        protocolVersion: o.protocolVersion as ProtocolVersion,
        clean: o.clean as boolean,
        keepAlive: o.keepalive as number,
        clientId: o.clientId as string,
      }
      const will = o.will as Obj | undefined
      if (will !== undefined) {
        const wp = v === 5 ? propsFromMqtt(will.properties) : undefined
        p.will = {
          topic: will.topic as string,
          payload: will.payload as Buffer,
          qos: will.qos as 0 | 1 | 2,
          retain: will.retain as boolean,
          ...(wp !== undefined ? { properties: wp } : {}),
        }
      }
      if (o.username !== undefined) p.username = o.username as string
      if (o.password !== undefined) p.password = o.password as Buffer
      return withProps(p)
    }
    case 'connack':
      return withProps({
        type,
        sessionPresent: o.sessionPresent as boolean,
        reasonCode: (v === 5 ? o.reasonCode : o.returnCode) as number,
      })
    case 'publish': {
      const p: Packet = {
        type,
        topic: o.topic as string,
        payload: o.payload as Buffer,
        qos: o.qos as 0 | 1 | 2,
        retain: o.retain as boolean,
        dup: o.dup as boolean,
      }
      if ((o.qos as number) > 0) p.packetId = packetId
      return withProps(p)
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const p = { type, packetId, ...(v === 5 ? { reasonCode: o.reasonCode as number } : {}) }
      return withProps(p)
    }
    case 'subscribe':
      return withProps({
        type,
        packetId,
        subscriptions: (o.subscriptions as Obj[]).map((s) =>
          v === 5
            ? {
                topicFilter: s.topic as string,
                qos: s.qos as 0 | 1 | 2,
                noLocal: s.nl as boolean,
                retainAsPublished: s.rap as boolean,
                retainHandling: s.rh as 0 | 1 | 2,
              }
            : { topicFilter: s.topic as string, qos: s.qos as 0 | 1 | 2 },
        ),
      })
    case 'suback':
      return withProps({ type, packetId, reasonCodes: o.granted as number[] })
    case 'unsubscribe':
      return withProps({ type, packetId, topicFilters: o.unsubscriptions as string[] })
    case 'unsuback':
      return withProps(v === 5 ? { type, packetId, reasonCodes: o.granted as number[] } : { type, packetId })
    case 'pingreq':
    case 'pingresp':
      return { type }
    case 'disconnect':
    case 'auth':
      return withProps(v === 5 ? { type, reasonCode: o.reasonCode as number } : { type })
  }
}

/** False for packets mqtt-packet's generate() refuses although they are valid. */
export function mqttPacketCanGenerate(p: Packet): boolean {
  if (p.type !== 'connect') return true
  if (p.clientId === '' && (!p.clean || p.protocolVersion === 3)) return false
  return !(p.password !== undefined && p.username === undefined)
}

/** True if the packet hits mqtt-packet's empty-first-value user property quirk. */
export function hitsUserPropertyQuirk(p: Packet): boolean {
  const lists: Array<UserProperties | undefined> = []
  if ('properties' in p) lists.push(p.properties?.userProperties)
  if (p.type === 'connect') lists.push(p.will?.properties?.userProperties)
  return lists.some((list) => {
    if (list === undefined) return false
    const first = new Map<string, string>()
    for (const [k, v] of list) {
      if (first.has(k) && first.get(k) === '') return true
      if (!first.has(k)) first.set(k, v)
    }
    return false
  })
}

function normProps(props: Properties | undefined): Properties | undefined {
  if (props === undefined) return undefined
  const out: Obj = {}
  for (const [k, val] of Object.entries(props)) {
    if (val === undefined) continue
    if (k === 'userProperties') {
      const list = val as UserProperties
      if (list.length === 0) continue
      // Stable sort by key: mqtt-packet keeps order only within a key.
      out[k] = [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    } else if (Buffer.isBuffer(val)) {
      out[k] = Buffer.from(val)
    } else {
      out[k] = val
    }
  }
  return Object.keys(out).length === 0 ? undefined : (out as Properties)
}

/** A canonical form: reason 0 ≡ absent, empty properties ≡ absent, buffers copied. */
export function normalize(p: Packet): Obj {
  const o: Obj = {}
  for (const [k, val] of Object.entries(p)) {
    if (val === undefined) continue
    if (k === 'properties') {
      const n = normProps(val as Properties)
      if (n !== undefined) o.properties = n
    } else if (k === 'subscriptions') {
      // fast-check builds null-prototype records; compare as plain objects.
      o.subscriptions = (val as object[]).map((x) => ({ ...x }))
    } else if (k === 'will') {
      const w = val as Obj
      const n: Obj = { ...w, payload: Buffer.from(w.payload as Buffer) }
      const wp = normProps(w.properties as Properties | undefined)
      if (wp === undefined) delete n.properties
      else n.properties = wp
      o.will = n
    } else if (Buffer.isBuffer(val)) {
      o[k] = Buffer.from(val)
    } else {
      o[k] = val
    }
  }
  if (p.type !== 'connack' && o.reasonCode === 0) delete o.reasonCode
  return o
}
