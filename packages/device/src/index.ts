/**
 * @strata/device: the Strata device SDK (issue 4). Connect with a token or a certificate,
 * provision by claim, publish batched telemetry that survives disconnects, send events,
 * receive commands and config, rotate certificates. Runs in Node and, over ws:// and
 * wss://, in browsers (nothing here imports a Node module). Guide: docs/device-sdk.md.
 */
export type { BackoffOptions } from './backoff.js'
export type { DisconnectInfo } from './connection.js'
export {
  type CloseOptions,
  connectDevice,
  createDevice,
  type DeviceEvents,
  type DeviceStats,
  type EventOptions,
  StrataDevice,
} from './device.js'
export {
  BadReplyError,
  BufferFullError,
  ConnectionLostError,
  ConnectionRefusedError,
  DEVICE_ERROR_CODES,
  DeviceClosedError,
  DeviceError,
  type DeviceErrorCode,
  DeviceOptionsError,
  PublishRefusedError,
  RequestRefusedError,
  SubscribeRefusedError,
} from './errors.js'
export type { Command, CommandHandler, ConfigHandler, DeviceMessage } from './messages.js'
export type {
  BufferOptions,
  CertificateAuth,
  DeviceAuth,
  DeviceOptions,
  Logger,
  Pem,
  TelemetryOptions,
  TlsOptions,
  TokenAuth,
  WhenFull,
} from './options.js'
export type { PointInput, TelemetryCallOptions, TelemetryInput, TelemetryValue } from './points.js'
export { type ProvisionOptions, type ProvisionResult, provision } from './provision.js'
export type { RotateCertificateOptions, RotatedCertificate } from './rotation.js'
