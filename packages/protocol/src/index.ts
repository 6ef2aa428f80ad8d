export { encodedLength, encodePacket } from './codec/encoder.js'
export { MAX_PACKET_SIZE, PacketParser, type ParserOptions } from './codec/parser.js'
export * from './errors.js'
export * from './packets.js'
export * from './reason-codes.js'
export * from './telemetry/index.js'
export {
  isValidUtf8,
  parseSharedSubscription,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
} from './topics.js'
