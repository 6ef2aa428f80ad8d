/**
 * The series dictionary: key (`device-id/metric`) ↔ numeric id, the device
 * of each series, and the latest point of the series that a query asked for.
 *
 * Persistence: a new series is written to the log (a series record before its
 * first points, in the same flush), and to the storage catalogue before any
 * checkpoint passes that record; so the catalogue plus the log after the
 * checkpoint always know every series.
 */
import { TsdbEngineError } from './errors.js'

export interface SeriesEntry {
  readonly id: number
  readonly key: string
  readonly device: string
  /** Decided when the series is created (EngineOptions.retentionClassOf), never changed. */
  readonly retentionClass: string
  /** In the storage catalogue. */
  persisted: boolean
  /** Whether latestTs/latestValue are known (loaded once by latest(), then kept up by writes). */
  latestLoaded: boolean
  latestTs: number
  latestValue: number
}

/** The device of `device-id/metric`: what comes before the first '/' (device ids have none). */
export const defaultDeviceOf = (key: string): string => {
  const slash = key.indexOf('/')
  return slash === -1 ? key : key.slice(0, slash)
}

export const MAX_SERIES_ID = 2 ** 32 - 1

export class SeriesDictionary {
  readonly byKey = new Map<string, SeriesEntry>()
  readonly byId: (SeriesEntry | undefined)[] = []
  private readonly byDevice = new Map<string, SeriesEntry[]>()
  private unpersisted: SeriesEntry[] = []
  private nextId = 1

  constructor(private readonly deviceOf: (key: string) => string) {}

  get size(): number {
    return this.byKey.size
  }

  /** A new series' id (the caller logs it, then add()s it). */
  allocateId(): number {
    if (this.nextId > MAX_SERIES_ID) throw new RangeError('no series id left (2^32 - 1 series)')
    return this.nextId
  }

  /** The device of a series key. */
  device(key: string): string {
    return this.deviceOf(key)
  }

  /** Adds a series read back or created; throws if the id or key is taken by another. */
  add(
    id: number,
    key: string,
    persisted: boolean,
    device = this.deviceOf(key),
    retentionClass = 'default',
  ): SeriesEntry {
    const same = this.byId[id]
    if (same !== undefined) {
      if (same.key !== key) throw conflict(id, key, same.key)
      return same
    }
    const other = this.byKey.get(key)
    if (other !== undefined) throw conflict(other.id, key, key)
    const e: SeriesEntry = {
      id,
      key,
      device,
      retentionClass,
      persisted,
      latestLoaded: false,
      latestTs: Number.NEGATIVE_INFINITY,
      latestValue: Number.NaN,
    }
    this.byKey.set(key, e)
    this.byId[id] = e
    const list = this.byDevice.get(device)
    if (list === undefined) this.byDevice.set(device, [e])
    else list.push(e)
    if (!persisted) this.unpersisted.push(e)
    if (id >= this.nextId) this.nextId = id + 1
    return e
  }

  keys(device?: string): string[] {
    if (device === undefined) return [...this.byKey.keys()]
    return (this.byDevice.get(device) ?? []).map((e) => e.key)
  }

  /** Series not yet in the catalogue; marked persisted (call putBack() if writing them fails). */
  takeUnpersisted(): SeriesEntry[] {
    const out = this.unpersisted
    this.unpersisted = []
    for (const e of out) e.persisted = true
    return out
  }

  putBack(entries: SeriesEntry[]): void {
    for (const e of entries) e.persisted = false
    this.unpersisted = entries.concat(this.unpersisted)
  }
}

function conflict(id: number, key: string, other: string): TsdbEngineError {
  return new TsdbEngineError(
    'STRATA_TSDB_CATALOG_CONFLICT',
    `series id ${id} / key ${JSON.stringify(key)} conflicts with ${JSON.stringify(other)} in the catalogue or the log`,
  )
}
