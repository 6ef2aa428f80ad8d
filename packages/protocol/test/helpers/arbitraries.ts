/**
 * fast-check arbitraries for valid packets of each type and protocol level.
 * The allowed properties per packet are written out here from the spec's
 * table 2-4, independently of the codec's own table, so the tests are an
 * oracle rather than a copy.
 */
import fc from 'fast-check'
import type { Packet, Properties, ProtocolVersion, QoS, UserProperties } from '../../src/index.js'

/** Any Unicode scalar value except U+0000 [MQTT-1.5.4-2]. */
export const mqttString = (maxLength = 12): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', maxLength }).filter((s) => !s.includes('\u0000'))

const buffer = (maxLength = 24): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.from(a))
const u16 = fc.integer({ min: 0, max: 0xffff })
const u16nz = fc.integer({ min: 1, max: 0xffff })
const u32 = fc.integer({ min: 0, max: 0xffff_ffff })
const u32nz = fc.integer({ min: 1, max: 0xffff_ffff })
const vbiNz = fc.integer({ min: 1, max: 268_435_455 })
const bit = fc.constantFrom(0 as const, 1 as const)
const qos = fc.constantFrom<QoS>(0, 1, 2)
const topicName = mqttString(16)
  .filter((s) => s.length > 0 && !s.includes('+') && !s.includes('#'))
  .map((s) => s)
const userProperties: fc.Arbitrary<UserProperties> = fc.array(fc.tuple(mqttString(6), mqttString(6)), {
  minLength: 1,
  maxLength: 3,
})

type Kind =
  | 'connect'
  | 'connack'
  | 'publish'
  | 'will'
  | 'pubResponse'
  | 'subscribe'
  | 'suback'
  | 'unsubscribe'
  | 'unsuback'
  | 'disconnect'
  | 'auth'

const ANY: { [K in keyof Properties]-?: fc.Arbitrary<NonNullable<Properties[K]>> } = {
  payloadFormatIndicator: bit,
  messageExpiryInterval: u32,
  contentType: mqttString(),
  responseTopic: topicName,
  correlationData: buffer(),
  subscriptionIdentifiers: fc.array(vbiNz, { minLength: 1, maxLength: 2 }),
  sessionExpiryInterval: u32,
  assignedClientIdentifier: mqttString(),
  serverKeepAlive: u16,
  authenticationMethod: mqttString(),
  authenticationData: buffer(),
  requestProblemInformation: bit,
  willDelayInterval: u32,
  requestResponseInformation: bit,
  responseInformation: mqttString(),
  serverReference: mqttString(),
  reasonString: mqttString(),
  receiveMaximum: u16nz,
  topicAliasMaximum: u16,
  topicAlias: u16nz,
  maximumQoS: bit,
  retainAvailable: bit,
  userProperties,
  maximumPacketSize: u32nz,
  wildcardSubscriptionAvailable: bit,
  subscriptionIdentifiersAvailable: bit,
  sharedSubscriptionAvailable: bit,
}

/** Table 2-4 of MQTT 5, by packet. */
export const ALLOWED: Record<Kind, Array<keyof Properties>> = {
  connect: [
    'sessionExpiryInterval',
    'authenticationMethod',
    'authenticationData',
    'requestProblemInformation',
    'requestResponseInformation',
    'receiveMaximum',
    'topicAliasMaximum',
    'userProperties',
    'maximumPacketSize',
  ],
  connack: [
    'sessionExpiryInterval',
    'assignedClientIdentifier',
    'serverKeepAlive',
    'authenticationMethod',
    'authenticationData',
    'responseInformation',
    'serverReference',
    'reasonString',
    'receiveMaximum',
    'topicAliasMaximum',
    'maximumQoS',
    'retainAvailable',
    'userProperties',
    'maximumPacketSize',
    'wildcardSubscriptionAvailable',
    'subscriptionIdentifiersAvailable',
    'sharedSubscriptionAvailable',
  ],
  publish: [
    'payloadFormatIndicator',
    'messageExpiryInterval',
    'contentType',
    'responseTopic',
    'correlationData',
    'subscriptionIdentifiers',
    'topicAlias',
    'userProperties',
  ],
  will: [
    'payloadFormatIndicator',
    'messageExpiryInterval',
    'contentType',
    'responseTopic',
    'correlationData',
    'willDelayInterval',
    'userProperties',
  ],
  pubResponse: ['reasonString', 'userProperties'],
  subscribe: ['subscriptionIdentifiers', 'userProperties'],
  suback: ['reasonString', 'userProperties'],
  unsubscribe: ['userProperties'],
  unsuback: ['reasonString', 'userProperties'],
  disconnect: ['sessionExpiryInterval', 'serverReference', 'reasonString', 'userProperties'],
  auth: ['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties'],
}

export function properties(kind: Kind): fc.Arbitrary<Properties | undefined> {
  const model: Record<string, fc.Arbitrary<unknown>> = {}
  for (const key of ALLOWED[kind]) {
    // SUBSCRIBE carries at most one Subscription Identifier (3.8.2.1.2).
    model[key] =
      kind === 'subscribe' && key === 'subscriptionIdentifiers'
        ? fc.tuple(vbiNz).map((t) => [...t])
        : ANY[key]
  }
  return fc.option(fc.record(model, { requiredKeys: [] }) as fc.Arbitrary<Properties>, { nil: undefined })
}

/** Valid reason codes per packet (MQTT 5 section 2.4, table 2-6). */
export const REASONS = {
  connack: [
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99,
    0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
  ],
  pubackPubrec: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  pubrelPubcomp: [0x00, 0x92],
  suback: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
  unsuback: [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
  disconnect: [
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96,
    0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
  ],
  auth: [0x00, 0x18, 0x19],
}

const withProps = <T extends object>(p: T, props: Properties | undefined, v: ProtocolVersion): T =>
  v === 5 && props !== undefined ? { ...p, properties: props } : p

export function packetOf(type: Packet['type'], v: ProtocolVersion): fc.Arbitrary<Packet> {
  const five = v === 5
  switch (type) {
    case 'connect':
      return fc
        .record({
          clean: fc.boolean(),
          keepAlive: u16,
          clientId: mqttString(23),
          will: fc.option(
            fc.record({
              topic: topicName,
              payload: buffer(),
              qos,
              retain: fc.boolean(),
              properties: properties('will'),
            }),
            { nil: undefined },
          ),
          username: fc.option(mqttString(), { nil: undefined }),
          password: fc.option(buffer(), { nil: undefined }),
          props: properties('connect'),
          mqtt31: fc.boolean(),
        })
        .map((r) => {
          const p: Packet = {
            type: 'connect',
            protocolName: !five && r.mqtt31 ? 'MQIsdp' : 'MQTT',
            protocolVersion: five ? 5 : r.mqtt31 ? 3 : 4,
            clean: r.clean,
            keepAlive: r.keepAlive,
            clientId: r.clientId,
          }
          if (r.will !== undefined) {
            const { properties: wp, ...will } = r.will
            p.will = withProps(will, wp, v)
          }
          if (r.username !== undefined) p.username = r.username
          // 3.1.1 forbids a password without a user name [MQTT-3.1.2-22].
          if (r.password !== undefined && (five || r.username !== undefined)) p.password = r.password
          // 3.1.2.11.10: Authentication Data only with an Authentication Method.
          const props =
            r.props?.authenticationData !== undefined && r.props.authenticationMethod === undefined
              ? { ...r.props, authenticationData: undefined }
              : r.props
          return withProps(p, props, v)
        })
    case 'connack':
      return fc
        .record({
          sessionPresent: fc.boolean(),
          reasonCode: five ? fc.constantFrom(...REASONS.connack) : fc.integer({ min: 0, max: 5 }),
          props: properties('connack'),
        })
        .map(({ props, ...r }) => withProps({ type: 'connack' as const, ...r }, props, v))
    case 'publish':
      return fc
        .record({
          topic: topicName,
          payload: buffer(64),
          qos,
          retain: fc.boolean(),
          dup: fc.boolean(),
          packetId: u16nz,
          props: properties('publish'),
        })
        .map(({ props, packetId, ...r }) => {
          const p: Packet =
            r.qos === 0 ? { type: 'publish', ...r, dup: false } : { type: 'publish', ...r, packetId }
          return withProps(p, props, v)
        })
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return fc
        .record({
          packetId: u16nz,
          reasonCode: fc.constantFrom(
            ...(type === 'puback' || type === 'pubrec' ? REASONS.pubackPubrec : REASONS.pubrelPubcomp),
          ),
          props: properties('pubResponse'),
        })
        .map(({ props, reasonCode, packetId }) => {
          const p = five && reasonCode !== 0 ? { type, packetId, reasonCode } : { type, packetId }
          return withProps(p, props, v)
        })
    case 'subscribe':
      return fc
        .record({
          packetId: u16nz,
          subscriptions: fc.array(
            fc.record({
              topicFilter: mqttString(16),
              qos,
              noLocal: fc.boolean(),
              retainAsPublished: fc.boolean(),
              retainHandling: fc.constantFrom(0 as const, 1 as const, 2 as const),
            }),
            { minLength: 1, maxLength: 4 },
          ),
          props: properties('subscribe'),
        })
        .map(({ props, packetId, subscriptions }) => {
          const subs = subscriptions.map((s) => {
            if (!five) return { topicFilter: s.topicFilter, qos: s.qos }
            // [MQTT-3.8.3-4] No Local is not allowed on a shared subscription.
            return s.topicFilter.startsWith('$share/') ? { ...s, noLocal: false } : s
          })
          return withProps({ type: 'subscribe' as const, packetId, subscriptions: subs }, props, v)
        })
    case 'suback':
      return fc
        .record({
          packetId: u16nz,
          reasonCodes: fc.array(fc.constantFrom(...(five ? REASONS.suback : [0, 1, 2, 0x80])), {
            minLength: 1,
            maxLength: 4,
          }),
          props: properties('suback'),
        })
        .map(({ props, ...r }) => withProps({ type: 'suback' as const, ...r }, props, v))
    case 'unsubscribe':
      return fc
        .record({
          packetId: u16nz,
          topicFilters: fc.array(mqttString(16), { minLength: 1, maxLength: 4 }),
          props: properties('unsubscribe'),
        })
        .map(({ props, ...r }) => withProps({ type: 'unsubscribe' as const, ...r }, props, v))
    case 'unsuback':
      return fc
        .record({
          packetId: u16nz,
          reasonCodes: fc.array(fc.constantFrom(...REASONS.unsuback), { minLength: 1, maxLength: 4 }),
          props: properties('unsuback'),
        })
        .map(({ props, packetId, reasonCodes }) =>
          five
            ? withProps({ type: 'unsuback' as const, packetId, reasonCodes }, props, v)
            : { type: 'unsuback' as const, packetId },
        )
    case 'pingreq':
    case 'pingresp':
      return fc.constant({ type })
    case 'disconnect':
    case 'auth':
      return fc
        .record({
          reasonCode: fc.constantFrom(...(type === 'auth' ? REASONS.auth : REASONS.disconnect)),
          props: properties(type),
        })
        .map(({ props, reasonCode }) => {
          const p = five && reasonCode !== 0 ? { type, reasonCode } : { type }
          return withProps(p, props, v)
        })
  }
}

export const PACKET_TYPES: Packet['type'][] = [
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
]

/** Types that exist at a protocol level (AUTH is MQTT 5 only). */
export const typesFor = (v: ProtocolVersion): Packet['type'][] =>
  v === 5 ? PACKET_TYPES : PACKET_TYPES.filter((t) => t !== 'auth')

export const anyPacket = (v: ProtocolVersion): fc.Arbitrary<Packet> =>
  fc.oneof(...typesFor(v).map((t) => packetOf(t, v)))
