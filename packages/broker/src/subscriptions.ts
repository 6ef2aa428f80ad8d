import type { StoredSubscription } from './persistence/store.js'

/** One subscription of one session, as indexed. `filter` is without its `$share/{group}/` prefix. */
export interface SubscriptionEntry<T> extends StoredSubscription {
  readonly owner: T
  readonly filter: string
  readonly group: string | undefined
}

/**
 * The members of one shared subscription `$share/{group}/{filter}` (MQTT 5
 * section 4.8.2). Each message matching the filter goes to one member; the
 * router chooses which (see `Router.pickShared`), starting at `next` so that
 * ties are broken round-robin.
 */
export interface SharedGroup<T> {
  readonly name: string
  readonly filter: string
  readonly members: SubscriptionEntry<T>[]
  next: number
}

export interface MatchVisitor<T> {
  subscription(entry: SubscriptionEntry<T>): void
  shared(group: SharedGroup<T>): void
}

interface Node<T> {
  children: Map<string, Node<T>> | undefined
  subs: Map<T, SubscriptionEntry<T>> | undefined
  shared: Map<string, SharedGroup<T>> | undefined
}

const newNode = <T>(): Node<T> => ({ children: undefined, subs: undefined, shared: undefined })

/**
 * A topic trie of subscriptions: one level per node, with `+` and `#` as
 * ordinary child keys. Matching a topic visits only the branches that can
 * match it (the literal level, `+` and `#` at each depth), so its cost grows
 * with the topic's depth and the number of matching subscriptions, not with
 * the number of unrelated ones.
 */
export class SubscriptionIndex<T> {
  private readonly root: Node<T> = newNode()
  private count = 0

  get size(): number {
    return this.count
  }

  /** Adds or replaces `owner`'s subscription to the entry's filter (and group). Returns true if it existed. */
  add(entry: SubscriptionEntry<T>): boolean {
    let node = this.root
    for (const level of entry.filter.split('/')) {
      node.children ??= new Map()
      let child = node.children.get(level)
      if (child === undefined) {
        child = newNode()
        node.children.set(level, child)
      }
      node = child
    }
    if (entry.group === undefined) {
      node.subs ??= new Map()
      const existed = node.subs.has(entry.owner)
      node.subs.set(entry.owner, entry)
      if (!existed) this.count++
      return existed
    }
    node.shared ??= new Map()
    let group = node.shared.get(entry.group)
    if (group === undefined) {
      group = { name: entry.group, filter: entry.filter, members: [], next: 0 }
      node.shared.set(entry.group, group)
    }
    const index = group.members.findIndex((m) => m.owner === entry.owner)
    if (index >= 0) {
      group.members[index] = entry
      return true
    }
    group.members.push(entry)
    this.count++
    return false
  }

  /** Removes `owner`'s subscription; returns it, or undefined if there was none. */
  remove(owner: T, filter: string, group: string | undefined): SubscriptionEntry<T> | undefined {
    return this.removeAt(this.root, filter.split('/'), 0, owner, group)
  }

  /** Calls the visitor for every subscription and shared group whose filter matches `topic`. */
  match(topic: string, visitor: MatchVisitor<T>): void {
    // [MQTT-4.7.2-1] a topic starting with '$' is not matched by a wildcard in the first level.
    this.walk(this.root, topic.split('/'), 0, visitor, topic.charCodeAt(0) === 36)
  }

  private walk(node: Node<T>, levels: string[], i: number, visitor: MatchVisitor<T>, dollar: boolean): void {
    const children = node.children
    if (i === levels.length) {
      emit(node, visitor)
      // [MQTT-4.7.1-2] 'sport/#' also matches 'sport', the parent level.
      const hash = children?.get('#')
      if (hash !== undefined) emit(hash, visitor)
      return
    }
    if (children === undefined) return
    if (!dollar || i > 0) {
      const hash = children.get('#')
      if (hash !== undefined) emit(hash, visitor)
      const plus = children.get('+')
      if (plus !== undefined) this.walk(plus, levels, i + 1, visitor, dollar)
    }
    const literal = children.get(levels[i] as string)
    if (literal !== undefined) this.walk(literal, levels, i + 1, visitor, dollar)
  }

  private removeAt(
    node: Node<T>,
    levels: string[],
    i: number,
    owner: T,
    group: string | undefined,
  ): SubscriptionEntry<T> | undefined {
    let removed: SubscriptionEntry<T> | undefined
    if (i === levels.length) {
      if (group === undefined) {
        removed = node.subs?.get(owner)
        if (removed !== undefined) {
          node.subs?.delete(owner)
          if (node.subs?.size === 0) node.subs = undefined
        }
      } else {
        const g = node.shared?.get(group)
        const index = g === undefined ? -1 : g.members.findIndex((m) => m.owner === owner)
        if (g !== undefined && index >= 0) {
          removed = g.members[index]
          g.members.splice(index, 1)
          if (g.next > index) g.next--
          if (g.members.length === 0) node.shared?.delete(group)
          if (node.shared?.size === 0) node.shared = undefined
        }
      }
      if (removed !== undefined) this.count--
    } else {
      const level = levels[i] as string
      const child = node.children?.get(level)
      if (child === undefined) return undefined
      removed = this.removeAt(child, levels, i + 1, owner, group)
      // Prune empty branches so that unsubscribed filters cost nothing.
      if (child.children === undefined && child.subs === undefined && child.shared === undefined) {
        node.children?.delete(level)
        if (node.children?.size === 0) node.children = undefined
      }
    }
    return removed
  }
}

function emit<T>(node: Node<T>, visitor: MatchVisitor<T>): void {
  if (node.subs !== undefined) for (const entry of node.subs.values()) visitor.subscription(entry)
  if (node.shared !== undefined) for (const group of node.shared.values()) visitor.shared(group)
}

/** Splits `$share/{group}/{filter}`; the codec validates the form, this only cuts it. */
export function splitShared(topicFilter: string): { group: string | undefined; filter: string } {
  if (!topicFilter.startsWith('$share/')) return { group: undefined, filter: topicFilter }
  const slash = topicFilter.indexOf('/', 7)
  if (slash < 0) return { group: undefined, filter: topicFilter }
  return { group: topicFilter.slice(7, slash), filter: topicFilter.slice(slash + 1) }
}
