/**
 * Errors of the device SDK. One class per failure a caller branches on; `code` is a stable
 * string from DEVICE_ERROR_CODES (documented in docs/device-sdk.md until the catalogue in
 * docs/errors.md takes them in). Invalid telemetry points throw the protocol's
 * TelemetryFormatError (STRATA_TELEMETRY_INVALID...), the same error the platform gives.
 */
export const DEVICE_ERROR_CODES = [
  'STRATA_DEVICE_OPTIONS_INVALID',
  'STRATA_DEVICE_CONNECTION_REFUSED',
  'STRATA_DEVICE_CONNECTION_LOST',
  'STRATA_DEVICE_CLOSED',
  'STRATA_DEVICE_BUFFER_FULL',
  'STRATA_DEVICE_PUBLISH_REFUSED',
  'STRATA_DEVICE_SUBSCRIBE_REFUSED',
  'STRATA_DEVICE_REQUEST_REFUSED',
  'STRATA_DEVICE_BAD_REPLY',
] as const

export type DeviceErrorCode = (typeof DEVICE_ERROR_CODES)[number]

export class DeviceError extends Error {
  constructor(
    readonly code: DeviceErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** An option that cannot be used (thrown synchronously by the factories). */
export class DeviceOptionsError extends DeviceError {
  constructor(message: string) {
    super('STRATA_DEVICE_OPTIONS_INVALID', message)
  }
}

/**
 * The broker refused the CONNECT. `reasonCode` is the CONNACK reason code (MQTT 5) or return
 * code (3.1.1). `permanent` when retrying with the same options cannot help (bad credentials,
 * not authorized, client id refused, banned, unsupported protocol version).
 */
export class ConnectionRefusedError extends DeviceError {
  constructor(
    readonly reasonCode: number,
    readonly permanent: boolean,
    message: string,
    options?: ErrorOptions,
  ) {
    super('STRATA_DEVICE_CONNECTION_REFUSED', message, options)
  }
}

/** The connection ended before the operation completed (no PUBACK, no reply). */
export class ConnectionLostError extends DeviceError {
  constructor(message = 'the connection ended before the operation completed', options?: ErrorOptions) {
    super('STRATA_DEVICE_CONNECTION_LOST', message, options)
  }
}

/** The device (or provisioning client) was closed. */
export class DeviceClosedError extends DeviceError {
  constructor(message = 'the device is closed') {
    super('STRATA_DEVICE_CLOSED', message)
  }
}

/** `telemetry()` with `whenFull: 'reject'` and no room for the points given. */
export class BufferFullError extends DeviceError {
  constructor(message: string) {
    super('STRATA_DEVICE_BUFFER_FULL', message)
  }
}

/** The broker answered a QoS 1 PUBLISH with a PUBACK reason code of 0x80 or more [MQTT-3.4.2.1]. */
export class PublishRefusedError extends DeviceError {
  constructor(
    readonly reasonCode: number,
    readonly topic: string,
    options?: ErrorOptions,
  ) {
    super(
      'STRATA_DEVICE_PUBLISH_REFUSED',
      `PUBLISH to ${topic} refused with reason code 0x${reasonCode.toString(16)}`,
      options,
    )
  }
}

/** The broker refused a SUBSCRIBE (SUBACK 0x80 or more). */
export class SubscribeRefusedError extends DeviceError {
  constructor(
    readonly reasonCode: number,
    readonly filter: string,
    options?: ErrorOptions,
  ) {
    super(
      'STRATA_DEVICE_SUBSCRIBE_REFUSED',
      `SUBSCRIBE to ${filter} refused with reason code 0x${reasonCode.toString(16)}`,
      options,
    )
  }
}

/**
 * The platform answered a request (provisioning, certificate rotation) with
 * `{"ok": false, "code", "message"}`: `replyCode` and the message are the platform's
 * (`STRATA_REGISTRY_EXISTS`, `STRATA_REQUEST_BUSY`...).
 */
export class RequestRefusedError extends DeviceError {
  constructor(
    readonly replyCode: string,
    message: string,
  ) {
    super('STRATA_DEVICE_REQUEST_REFUSED', message)
  }
}

/** A reply that is not the JSON the protocol defines. */
export class BadReplyError extends DeviceError {
  constructor(message: string, options?: ErrorOptions) {
    super('STRATA_DEVICE_BAD_REPLY', message, options)
  }
}
