/**
 * What a device may publish and subscribe to: its own namespace `devices/{id}/...`
 * (docs/topics.md) plus the filters an operator granted it. Checked on every PUBLISH and
 * SUBSCRIBE, so the common case is one startsWith on a precomputed prefix.
 */
import { parseSharedSubscription, topicMatches } from '@strata/protocol'
import type { AclGrant } from '../identity/model.js'

export const deviceNamespace = (deviceId: string): string => `devices/${deviceId}/`

/** Where a claiming device asks for its identity and hears back (docs/topics.md). */
export const provisioningTopics = (clientId: string): { request: string; response: string } => ({
  request: `$strata/provision/${clientId}/request`,
  response: `$strata/provision/${clientId}/response`,
})

/**
 * Whether every topic `filter` can match is also matched by `grant`, level by level:
 * `#` in the grant covers the rest, `+` covers one level of anything but `#`, a literal
 * covers only itself. Both are valid, non-shared filters.
 */
export function filterCovers(grant: string, filter: string): boolean {
  const g = grant.split('/')
  const f = filter.split('/')
  for (let i = 0; i < g.length; i++) {
    const gl = g[i] as string
    if (gl === '#') {
      // A '#' grant at level 0 must not widen into '$' topics a device could name literally.
      return !(i === 0 && filter.startsWith('$'))
    }
    const fl = f[i]
    if (fl === undefined) return false
    if (gl === '+') {
      if (fl === '#' || (i === 0 && fl.startsWith('$'))) return false
      continue
    }
    if (gl !== fl) return false
  }
  return g.length === f.length
}

/**
 * MQTT has no paths, so `devices/d1/../d2` is a topic of d1's. But bridges and sinks that map
 * topics onto paths or URLs might normalise it into d2's: devices may not use `.` or `..` levels.
 */
function hasDotLevel(topic: string): boolean {
  if (!topic.includes('/.')) return false
  return topic.split('/').some((level) => level === '.' || level === '..')
}

export class DeviceAcl {
  readonly namespace: string
  #publish: string[] = []
  #subscribe: string[] = []

  constructor(
    readonly deviceId: string,
    grants: readonly AclGrant[],
  ) {
    this.namespace = deviceNamespace(deviceId)
    this.setGrants(grants)
  }

  /** Replaces the grants; connected clients see the change on their next packet. */
  setGrants(grants: readonly AclGrant[]): void {
    this.#publish = grants.filter((g) => g.access !== 'subscribe').map((g) => g.topicFilter)
    this.#subscribe = grants.filter((g) => g.access !== 'publish').map((g) => g.topicFilter)
  }

  /** `topic` is a valid topic name (the broker validated it before asking). */
  canPublish(topic: string): boolean {
    if (hasDotLevel(topic)) return false
    if (topic.startsWith(this.namespace)) return true
    for (const grant of this.#publish) if (topicMatches(grant, topic)) return true
    return false
  }

  /**
   * `filter` is a valid filter, possibly `$share/{group}/...`: a shared subscription is judged
   * by the filter it shares, so a device may share-subscribe only where it may subscribe.
   */
  canSubscribe(filter: string): boolean {
    const inner = parseSharedSubscription(filter)?.filter ?? filter
    if (hasDotLevel(inner)) return false
    if (inner.startsWith(this.namespace)) return true
    for (const grant of this.#subscribe) if (filterCovers(grant, inner)) return true
    return false
  }
}
