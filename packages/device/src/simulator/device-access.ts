/**
 * What fault injection needs from a device and the SDK rightly does not offer: publishing
 * bytes that are not valid telemetry (the SDK checks every point before it is queued) and
 * cutting the network connection without a DISCONNECT (the SDK only closes cleanly). Both
 * reach into StrataDevice's connection, so they live here, in the same package, checked at
 * run time: if device.ts or connection.ts change shape, this throws at the first device
 * rather than injecting nothing (the simulator tests would fail at once).
 */
import type { MqttClient } from 'mqtt'
import { Connection } from '../connection.js'
import type { StrataDevice } from '../device.js'

export interface DeviceFaultAccess {
  /** Publishes `payload` as is at QoS 1; rejects with PublishRefusedError on a refusal PUBACK. */
  publishRaw(topic: string, payload: Uint8Array | string, contentType?: string): Promise<void>
  /** Destroys the socket under the current connection, as a network failure would; false if not connected. */
  dropSocket(): boolean
}

export function deviceFaultAccess(device: StrataDevice): DeviceFaultAccess {
  const connection: unknown = Reflect.get(device, 'connection')
  if (!(connection instanceof Connection))
    throw new Error('simulator: StrataDevice has no connection field any more: update device-access.ts')
  return {
    publishRaw(topic, payload, contentType) {
      return connection.publish(
        topic,
        payload,
        contentType === undefined ? { qos: 1 } : { qos: 1, contentType },
      )
    },
    dropSocket() {
      if (!connection.connected) return false
      const client = Reflect.get(connection, 'client') as MqttClient | undefined
      const stream = client?.stream
      if (stream === undefined) return false
      stream.destroy()
      return true
    },
  }
}
