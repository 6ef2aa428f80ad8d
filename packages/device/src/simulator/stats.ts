/**
 * What a simulated fleet counts, and the rates between two snapshots: the numbers of the
 * CLI's progress line and summary.
 */

/** Why an error was counted. */
export const FLEET_ERROR_KINDS = [
  /** A bad payload refused by the platform, as it must be (--fault-bad-payload). */
  'payload-refused',
  /** A bad payload the platform accepted: a platform bug. */
  'payload-accepted',
  /** A telemetry batch refused by the platform (PUBACK >= 0x80). */
  'publish-refused',
  /** CONNACK refusals (a wrong or revoked token, a lock-out). */
  'connect-refused',
  /** Transport errors (a reset, a timeout). */
  'connection',
  /** A sample the SDK would not take (it checks points before buffering). */
  'telemetry',
  'other',
] as const
export type FleetErrorKind = (typeof FLEET_ERROR_KINDS)[number]

export interface FleetStats {
  /** Devices asked for. */
  devices: number
  /** Devices created so far (connects are staggered). */
  started: number
  /** Connected now. */
  connected: number
  /** Devices that connected at least once. */
  everConnected: number
  /** Samples taken (one per device per interval; each is one point per metric). */
  samples: number
  /** Telemetry messages and points the broker acknowledged. */
  sentMessages: number
  sentPoints: number
  /** Points held by the devices' buffers, waiting or in flight. */
  queuedPoints: number
  /** Points the buffers dropped when full. */
  droppedPoints: number
  /** Network connections after each device's first. */
  reconnects: number
  errors: number
  errorsByKind: Record<FleetErrorKind, number>
  /** The message of the last error of each kind seen. */
  lastErrors: Partial<Record<FleetErrorKind, string>>
  /** Sockets dropped on purpose (--fault-disconnect). */
  faultDisconnects: number
  /** Bad payloads sent, refused (as they should be), accepted (a platform bug), lost with a connection. */
  badPayloads: { sent: number; refused: number; accepted: number; lost: number }
  /** Devices refused for good at their first connect (a wrong token): they are not retried. */
  refusedDevices: string[]
  elapsedMs: number
}

export function emptyErrorCounts(): Record<FleetErrorKind, number> {
  return Object.fromEntries(FLEET_ERROR_KINDS.map((k) => [k, 0])) as Record<FleetErrorKind, number>
}

export interface FleetRates {
  messagesPerSecond: number
  pointsPerSecond: number
  samplesPerSecond: number
}

/** Rates from `before` to `after`; zero when no time passed. */
export function ratesBetween(before: FleetStats, after: FleetStats): FleetRates {
  const seconds = (after.elapsedMs - before.elapsedMs) / 1000
  const per = (a: number, b: number): number => (seconds > 0 ? Math.max(0, b - a) / seconds : 0)
  return {
    messagesPerSecond: per(before.sentMessages, after.sentMessages),
    pointsPerSecond: per(before.sentPoints, after.sentPoints),
    samplesPerSecond: per(before.samples, after.samples),
  }
}
