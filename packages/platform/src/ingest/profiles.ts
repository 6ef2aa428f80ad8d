/**
 * Device-type profiles, compiled for the message path: each type's telemetry spec as a Map
 * (metric → spec) and its ingest policy with defaults filled in. The pipeline asks for a type's
 * profile on every message, so the lookup must be synchronous: the platform loads every type at
 * start and replaces an entry whenever the registry reports a change (registry/observed.ts). A
 * type missing from the cache (created by another process) is fetched in the background; its
 * messages meanwhile get the default profile (no checks, buffer), never an error.
 */
import {
  DEFAULT_INGEST_POLICY,
  DEFAULT_SAMPLE_EVERY,
  DEFAULT_SHED_PRIORITY,
  type DeviceType,
  type IngestStrategy,
  type TelemetrySpec,
} from '../registry/model.js'

export const FLAG_REASONS = ['unknown_metric', 'wrong_type', 'out_of_range'] as const
export type FlagReason = (typeof FLAG_REASONS)[number]

export interface CompiledProfile {
  readonly typeId: string
  /** Empty: the type lists no metrics, so nothing is checked. */
  readonly specs: ReadonlyMap<string, TelemetrySpec>
  readonly strategy: IngestStrategy
  readonly sampleEvery: number
  readonly priority: number
  /** Undefined: the platform's high-water mark. */
  readonly maxQueuedPoints: number | undefined
}

export function compileProfile(type: Pick<DeviceType, 'id' | 'telemetry' | 'ingest'>): CompiledProfile {
  const policy = type.ingest ?? DEFAULT_INGEST_POLICY
  return {
    typeId: type.id,
    specs: new Map(type.telemetry.map((s) => [s.metric, s])),
    strategy: policy.strategy,
    sampleEvery: policy.sampleEvery ?? DEFAULT_SAMPLE_EVERY,
    priority: policy.priority ?? DEFAULT_SHED_PRIORITY,
    maxQueuedPoints: policy.maxQueuedPoints,
  }
}

/** Why a value does not fit its profile, or undefined if it does (or the profile lists no metrics). */
export function checkPoint(
  profile: CompiledProfile,
  metric: string,
  value: number | boolean | string,
): { reason: FlagReason; detail: string } | undefined {
  if (profile.specs.size === 0) return undefined
  const spec = profile.specs.get(metric)
  if (spec === undefined) {
    return {
      reason: 'unknown_metric',
      detail: `metric '${metric}' is not in device type '${profile.typeId}'`,
    }
  }
  // Decoded numbers carry no int/float distinction (21.0 in JSON is 21): an integer metric
  // accepts any whole number, a number metric any number.
  const got = typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value
  if (spec.valueType !== got && !(spec.valueType === 'number' && got === 'integer')) {
    return {
      reason: 'wrong_type',
      detail: `metric '${metric}' is ${spec.valueType === 'integer' ? 'an integer' : `a ${spec.valueType}`} in device type '${profile.typeId}', got ${got === 'integer' ? 'an integer' : `a ${got}`}`,
    }
  }
  if (typeof value === 'number') {
    if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
      return {
        reason: 'out_of_range',
        detail: `metric '${metric}' = ${value} is outside [${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}] of device type '${profile.typeId}'`,
      }
    }
  }
  return undefined
}

/** Whether back-pressure must let a point through: string events and alarm metrics are never sampled or shed. */
export function isProtected(profile: CompiledProfile | undefined, metric: string, value: unknown): boolean {
  return typeof value === 'string' || profile?.specs.get(metric)?.alarm === true
}

export class ProfileCache {
  readonly #byType = new Map<string, CompiledProfile>()
  readonly #loading = new Set<string>()
  readonly #load: ((id: string) => Promise<DeviceType | null>) | undefined

  /** `load` fetches a type that is not cached (null: it does not exist). */
  constructor(load?: (id: string) => Promise<DeviceType | null>) {
    this.#load = load
  }

  set(type: DeviceType): void {
    this.#byType.set(type.id, compileProfile(type))
  }

  delete(id: string): void {
    this.#byType.delete(id)
  }

  /** The type's profile; undefined for no type, or while an uncached type is being fetched. */
  get(typeId: string | null): CompiledProfile | undefined {
    if (typeId === null) return undefined
    const p = this.#byType.get(typeId)
    if (p === undefined && this.#load !== undefined && !this.#loading.has(typeId)) {
      this.#loading.add(typeId)
      this.#load(typeId).then(
        (type) => {
          this.#loading.delete(typeId)
          // A change reported meanwhile is newer than what this fetch read.
          if (type !== null && !this.#byType.has(typeId)) this.set(type)
        },
        () => this.#loading.delete(typeId),
      )
    }
    return p
  }
}
