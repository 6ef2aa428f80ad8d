import { ReasonCode } from './reason-codes.js'

/**
 * A packet that violates the specification. `reasonCode` is what an MQTT 5
 * server puts in its DISCONNECT: 0x81 Malformed Packet when the bytes cannot
 * be parsed as the spec defines them, 0x82 Protocol Error when they parse but
 * break a rule, 0x95 Packet Too Large, and so on [MQTT-4.13.1-1].
 */
export class MqttProtocolError extends Error {
  constructor(
    readonly reasonCode: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

export const malformed = (message: string): MqttProtocolError =>
  new MqttProtocolError(ReasonCode.MalformedPacket, message)

export const protocolError = (message: string): MqttProtocolError =>
  new MqttProtocolError(ReasonCode.ProtocolError, message)
