/**
 * Topic names, topic filters and matching (section 4.7 of MQTT 5, 4.7 of 3.1.1),
 * shared subscriptions (MQTT 5 section 4.8.2).
 * https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html#_Toc3901241
 */
import { isUtf8 } from 'node:buffer'

const SLASH = 0x2f
const PLUS = 0x2b
const HASH = 0x23
const DOLLAR = 0x24
const SHARE_PREFIX = '$share/'

/** Well-formed UTF-8 (no surrogates, no overlongs) [MQTT-1.5.4-1]. */
export function isValidUtf8(buf: Buffer): boolean {
  return isUtf8(buf)
}

function checkCommon(value: string, what: string, maxLength: number | undefined): string | undefined {
  // [MQTT-4.7.3-1] topic names and filters are at least one character long.
  if (value.length === 0) return `${what} is empty [MQTT-4.7.3-1]`
  // [MQTT-4.7.3-2] no U+0000 (the parser rejects it too; this guards other sources).
  if (value.includes('\u0000')) return `${what} contains U+0000 [MQTT-4.7.3-2]`
  // [MQTT-4.7.3-3] no more than 65,535 bytes; maxLength is the server's own tighter limit.
  const limit = Math.min(maxLength ?? 65_535, 65_535)
  // A string of n UTF-16 units has between n and 3n UTF-8 bytes: skip the count when it cannot matter.
  if (value.length * 3 > limit) {
    const bytes = Buffer.byteLength(value)
    if (bytes > limit) return `${what} is ${bytes} bytes long, the limit is ${limit}`
  }
  return undefined
}

function countLevels(value: string): number {
  let n = 1
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) === SLASH) n++
  return n
}

/**
 * undefined if `topic` is a valid Topic Name for PUBLISH, else the reason.
 * No wildcards [MQTT-3.3.2-2] [MQTT-4.7.1-1], not empty [MQTT-4.7.3-1], byte length and level limits.
 */
export function validateTopicName(topic: string, maxLength?: number, maxLevels?: number): string | undefined {
  const common = checkCommon(topic, 'topic name', maxLength)
  if (common !== undefined) return common
  let levels = 1
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i)
    if (c === SLASH) levels++
    else if (c === PLUS || c === HASH) return 'topic name contains a wildcard [MQTT-3.3.2-2]'
  }
  if (maxLevels !== undefined && levels > maxLevels) {
    return `topic name has ${levels} levels, the limit is ${maxLevels}`
  }
  return undefined
}

/**
 * undefined if `filter` is a valid Topic Filter for SUBSCRIBE/UNSUBSCRIBE, else the reason.
 * '#' only last and alone in its level [MQTT-4.7.1-2]; '+' alone in its level [MQTT-4.7.1-3];
 * shared subscriptions `$share/{ShareName}/{filter}` [MQTT-4.8.2-1] [MQTT-4.8.2-2].
 * Limits apply to the whole filter (length) and to the part after the share name (levels).
 */
export function validateTopicFilter(
  filter: string,
  maxLength?: number,
  maxLevels?: number,
): string | undefined {
  const common = checkCommon(filter, 'topic filter', maxLength)
  if (common !== undefined) return common
  let body = filter
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = filter.indexOf('/', SHARE_PREFIX.length)
    const group = slash < 0 ? filter.slice(SHARE_PREFIX.length) : filter.slice(SHARE_PREFIX.length, slash)
    // [MQTT-4.8.2-1] ShareName: at least one character, no '/', '+' or '#'.
    if (group.length === 0) return 'shared subscription with an empty share name [MQTT-4.8.2-1]'
    if (group.includes('+') || group.includes('#')) {
      return 'share name contains a wildcard [MQTT-4.8.2-1]'
    }
    // [MQTT-4.8.2-2] the ShareName is followed by '/' and a Topic Filter.
    if (slash < 0 || slash === filter.length - 1) {
      return 'shared subscription without a topic filter [MQTT-4.8.2-2]'
    }
    body = filter.slice(slash + 1)
  }
  const n = body.length
  let levelStart = 0
  for (let i = 0; i <= n; i++) {
    const c = i < n ? body.charCodeAt(i) : SLASH
    if (c === HASH) {
      // [MQTT-4.7.1-2] '#' must be a whole level and the last character.
      if (i !== levelStart || i !== n - 1) return "'#' is not alone in the last level [MQTT-4.7.1-2]"
    } else if (c === PLUS) {
      // [MQTT-4.7.1-3] '+' must occupy a whole level.
      const next = i + 1 < n ? body.charCodeAt(i + 1) : SLASH
      if (i !== levelStart || next !== SLASH) return "'+' is not alone in its level [MQTT-4.7.1-3]"
    } else if (c === SLASH) {
      levelStart = i + 1
    }
  }
  if (maxLevels !== undefined) {
    const levels = countLevels(body)
    if (levels > maxLevels) return `topic filter has ${levels} levels, the limit is ${maxLevels}`
  }
  return undefined
}

/**
 * Splits `$share/{group}/{filter}`; undefined when `filter` is not a shared
 * subscription. Assumes the filter passed validateTopicFilter.
 */
export function parseSharedSubscription(filter: string): { group: string; filter: string } | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined
  const slash = filter.indexOf('/', SHARE_PREFIX.length)
  if (slash <= SHARE_PREFIX.length || slash === filter.length - 1) return undefined
  return { group: filter.slice(SHARE_PREFIX.length, slash), filter: filter.slice(slash + 1) }
}

/**
 * Whether a valid topic filter (not a `$share/` one: strip it first with
 * parseSharedSubscription) matches a valid topic name, level by level without
 * splitting. '#' also matches the parent level ("a/#" matches "a") [MQTT-4.7.1-2];
 * a filter starting with a wildcard does not match topics starting with '$' [MQTT-4.7.2-1].
 */
export function topicMatches(filter: string, topic: string): boolean {
  const f0 = filter.charCodeAt(0)
  if (topic.charCodeAt(0) === DOLLAR && (f0 === PLUS || f0 === HASH)) return false
  const fl = filter.length
  const tl = topic.length
  let fi = 0
  let ti = 0
  while (fi < fl) {
    const c = filter.charCodeAt(fi)
    if (c === HASH) return true
    if (c === PLUS) {
      // One whole level of the topic, possibly empty.
      while (ti < tl && topic.charCodeAt(ti) !== SLASH) ti++
      fi++
    } else {
      while (fi < fl) {
        const fc = filter.charCodeAt(fi)
        if (fc === SLASH) break
        if (ti >= tl || topic.charCodeAt(ti) !== fc) return false
        fi++
        ti++
      }
      if (ti < tl && topic.charCodeAt(ti) !== SLASH) return false
    }
    // Both at the end of a level: fi at '/' or the end, ti at '/' or the end.
    if (fi >= fl) return ti >= tl
    fi++
    if (ti >= tl) {
      // The topic has no more levels: only a trailing "/#" still matches (the parent level).
      return fi === fl - 1 && filter.charCodeAt(fi) === HASH
    }
    ti++
  }
  return ti >= tl
}
