export * from './errors.js'
export * from './packets.js'
export * from './reason-codes.js'
