/**
 * A registry that tells the platform when a device is disabled or deleted, whoever did it
 * (API, CLI through the API, provisioning), so the broker can disconnect the device at once.
 */
import type { Device } from './model.js'
import type { RegistryRepository } from './repository.js'

export interface DeviceLifecycle {
  /** A device was disabled or deleted: its connections must end. */
  deviceRevoked(deviceId: string, why: 'disabled' | 'deleted'): void
}

export function observeRegistry(inner: RegistryRepository, lifecycle: DeviceLifecycle): RegistryRepository {
  const updateDevice: RegistryRepository['updateDevice'] = async (id, patch, expectedVersion, options) => {
    const device: Device = await inner.updateDevice(id, patch, expectedVersion, options)
    if (!device.enabled) lifecycle.deviceRevoked(id, 'disabled')
    return device
  }
  const deleteDevice: RegistryRepository['deleteDevice'] = async (id, expectedVersion, options) => {
    await inner.deleteDevice(id, expectedVersion, options)
    lifecycle.deviceRevoked(id, 'deleted')
  }
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'updateDevice') return updateDevice
      if (property === 'deleteDevice') return deleteDevice
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
