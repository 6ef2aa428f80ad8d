/**
 * MQTT control packets as plain data, for both protocol levels.
 *
 * MQTT 3.1.1: https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html
 * MQTT 5.0:   https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html
 *
 * One shape serves both levels: fields that exist only in MQTT 5 (properties,
 * reason codes on PUBACK/PUBREC/PUBREL/PUBCOMP/UNSUBACK/DISCONNECT, AUTH) are
 * optional and ignored when encoding for 3.1.1. The codec never invents
 * values: a field absent here is absent on the wire.
 */

/** Protocol level byte of CONNECT: 3 = MQTT 3.1 ("MQIsdp"), 4 = 3.1.1, 5 = 5.0. */
export type ProtocolVersion = 3 | 4 | 5

export type QoS = 0 | 1 | 2

/** MQTT 5 User Property pairs, in wire order; a key may repeat [MQTT-3.3.2-18]. */
export type UserProperties = Array<[key: string, value: string]>

/** Every MQTT 5 property (section 2.2.2.2), by its camel-cased spec name. */
export interface Properties {
  payloadFormatIndicator?: 0 | 1
  messageExpiryInterval?: number
  contentType?: string
  responseTopic?: string
  correlationData?: Buffer
  /** PUBLISH may carry several (server to client); SUBSCRIBE carries at most one. */
  subscriptionIdentifiers?: number[]
  sessionExpiryInterval?: number
  assignedClientIdentifier?: string
  serverKeepAlive?: number
  authenticationMethod?: string
  authenticationData?: Buffer
  requestProblemInformation?: 0 | 1
  willDelayInterval?: number
  requestResponseInformation?: 0 | 1
  responseInformation?: string
  serverReference?: string
  reasonString?: string
  receiveMaximum?: number
  topicAliasMaximum?: number
  topicAlias?: number
  maximumQoS?: 0 | 1
  retainAvailable?: 0 | 1
  userProperties?: UserProperties
  maximumPacketSize?: number
  wildcardSubscriptionAvailable?: 0 | 1
  subscriptionIdentifiersAvailable?: 0 | 1
  sharedSubscriptionAvailable?: 0 | 1
}

export interface Will {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  /** MQTT 5 will properties (Will Delay Interval, Message Expiry, Content Type...). */
  properties?: Properties
}

export interface ConnectPacket {
  type: 'connect'
  protocolName: 'MQTT' | 'MQIsdp'
  protocolVersion: ProtocolVersion
  /** Clean Session (3.1.1) or Clean Start (5.0). */
  clean: boolean
  keepAlive: number
  clientId: string
  will?: Will
  username?: string
  password?: Buffer
  properties?: Properties
}

export interface ConnackPacket {
  type: 'connack'
  sessionPresent: boolean
  /** 3.1.1 return code (0-5) or MQTT 5 reason code. */
  reasonCode: number
  properties?: Properties
}

export interface PublishPacket {
  type: 'publish'
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  dup: boolean
  /** Present if and only if qos > 0 [MQTT-2.2.1-2]. */
  packetId?: number
  properties?: Properties
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one layout. */
export interface PubResponsePacket {
  type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'
  packetId: number
  /** MQTT 5 only; absent means 0x00 Success. */
  reasonCode?: number
  properties?: Properties
}

export interface SubscriptionRequest {
  topicFilter: string
  qos: QoS
  /** MQTT 5 subscription options (section 3.8.3.1). */
  noLocal?: boolean
  retainAsPublished?: boolean
  retainHandling?: 0 | 1 | 2
}

export interface SubscribePacket {
  type: 'subscribe'
  packetId: number
  subscriptions: SubscriptionRequest[]
  properties?: Properties
}

export interface SubackPacket {
  type: 'suback'
  packetId: number
  /** One per requested filter: granted QoS, 0x80 (3.1.1 failure) or an MQTT 5 reason code. */
  reasonCodes: number[]
  properties?: Properties
}

export interface UnsubscribePacket {
  type: 'unsubscribe'
  packetId: number
  topicFilters: string[]
  properties?: Properties
}

export interface UnsubackPacket {
  type: 'unsuback'
  packetId: number
  /** MQTT 5 only. */
  reasonCodes?: number[]
  properties?: Properties
}

export interface PingreqPacket {
  type: 'pingreq'
}

export interface PingrespPacket {
  type: 'pingresp'
}

export interface DisconnectPacket {
  type: 'disconnect'
  /** MQTT 5 only; absent means 0x00 Normal disconnection. */
  reasonCode?: number
  properties?: Properties
}

/** MQTT 5 only (section 3.15). */
export interface AuthPacket {
  type: 'auth'
  reasonCode?: number
  properties?: Properties
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubResponsePacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket

export type PacketType = Packet['type']

/** The packet shape of one type, e.g. `PacketOfType<'puback'>` (PUBACK shares PubResponsePacket). */
export type PacketOfType<T extends PacketType> = T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'
  ? PubResponsePacket & { type: T }
  : Extract<Packet, { type: T }>
