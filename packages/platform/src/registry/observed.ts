/**
 * A registry that tells the platform about changes it acts on at once, whoever made them (API,
 * CLI through the API, provisioning): a disabled or deleted device is disconnected, and a
 * changed device type's telemetry profile and ingest policy apply from the next message.
 */
import type { Device, DeviceType } from './model.js'
import type { RegistryRepository } from './repository.js'

export interface DeviceLifecycle {
  /** A device was disabled or deleted: its connections must end. */
  deviceRevoked(deviceId: string, why: 'disabled' | 'deleted'): void
  /** A device was updated (its type may have changed). */
  deviceUpdated?(device: Device): void
  /** A device type was created or updated (`type`), or deleted (null). */
  deviceTypeChanged?(id: string, type: DeviceType | null): void
}

export function observeRegistry(inner: RegistryRepository, lifecycle: DeviceLifecycle): RegistryRepository {
  const updateDevice: RegistryRepository['updateDevice'] = async (id, patch, expectedVersion, options) => {
    const device: Device = await inner.updateDevice(id, patch, expectedVersion, options)
    lifecycle.deviceUpdated?.(device)
    if (!device.enabled) lifecycle.deviceRevoked(id, 'disabled')
    return device
  }
  const deleteDevice: RegistryRepository['deleteDevice'] = async (id, expectedVersion, options) => {
    await inner.deleteDevice(id, expectedVersion, options)
    lifecycle.deviceRevoked(id, 'deleted')
  }
  const createDeviceType: RegistryRepository['createDeviceType'] = async (input, options) => {
    const type = await inner.createDeviceType(input, options)
    lifecycle.deviceTypeChanged?.(type.id, type)
    return type
  }
  const updateDeviceType: RegistryRepository['updateDeviceType'] = async (id, patch, expected, options) => {
    const type = await inner.updateDeviceType(id, patch, expected, options)
    lifecycle.deviceTypeChanged?.(id, type)
    return type
  }
  const deleteDeviceType: RegistryRepository['deleteDeviceType'] = async (id, expectedVersion, options) => {
    await inner.deleteDeviceType(id, expectedVersion, options)
    lifecycle.deviceTypeChanged?.(id, null)
  }
  const wrapped: Partial<Record<keyof RegistryRepository, unknown>> = {
    updateDevice,
    deleteDevice,
    createDeviceType,
    updateDeviceType,
    deleteDeviceType,
  }
  return new Proxy(inner, {
    get(target, property) {
      const own = wrapped[property as keyof RegistryRepository]
      if (own !== undefined) return own
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
