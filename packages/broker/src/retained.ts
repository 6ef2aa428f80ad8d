import type { StoredMessage } from './persistence/store.js'

interface Node {
  children: Map<string, Node> | undefined
  message: StoredMessage | undefined
}

const newNode = (): Node => ({ children: undefined, message: undefined })

/**
 * Retained messages in a topic trie, so that a wildcard SUBSCRIBE walks only
 * the branches its filter can match instead of scanning every retained
 * topic (MQTT 5 section 3.3.1.3).
 */
export class RetainedIndex {
  private readonly root: Node = newNode()
  private count = 0

  get size(): number {
    return this.count
  }

  get(topic: string): StoredMessage | undefined {
    let node: Node | undefined = this.root
    for (const level of topic.split('/')) {
      node = node.children?.get(level)
      if (node === undefined) return undefined
    }
    return node.message
  }

  /** Sets the retained message of its topic; returns the message it replaced. */
  set(message: StoredMessage): StoredMessage | undefined {
    let node = this.root
    for (const level of message.topic.split('/')) {
      node.children ??= new Map()
      let child = node.children.get(level)
      if (child === undefined) {
        child = newNode()
        node.children.set(level, child)
      }
      node = child
    }
    const previous = node.message
    node.message = message
    if (previous === undefined) this.count++
    return previous
  }

  /** Deletes the retained message of `topic` [MQTT-3.3.1-6]; returns it if there was one. */
  delete(topic: string): StoredMessage | undefined {
    return this.deleteAt(this.root, topic.split('/'), 0)
  }

  /** Calls `visit` for each retained message whose topic matches `filter` (no `$share/` prefix). */
  match(filter: string, visit: (message: StoredMessage) => void): void {
    this.walk(this.root, filter.split('/'), 0, visit)
  }

  *all(): IterableIterator<StoredMessage> {
    const stack: Node[] = [this.root]
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      if (node.message !== undefined) yield node.message
      if (node.children !== undefined) for (const child of node.children.values()) stack.push(child)
    }
  }

  private walk(node: Node, levels: string[], i: number, visit: (message: StoredMessage) => void): void {
    if (i === levels.length) {
      if (node.message !== undefined) visit(node.message)
      return
    }
    const level = levels[i] as string
    const children = node.children
    if (level === '#') {
      // [MQTT-4.7.1-2] '#' matches the parent level and every level below it.
      this.descendants(node, visit, i === 0)
      return
    }
    if (children === undefined) return
    if (level === '+') {
      for (const [key, child] of children) {
        // [MQTT-4.7.2-1] wildcards in the first level do not match topics starting with '$'.
        if (i === 0 && key.charCodeAt(0) === 36) continue
        this.walk(child, levels, i + 1, visit)
      }
      return
    }
    const child = children.get(level)
    if (child !== undefined) this.walk(child, levels, i + 1, visit)
  }

  private descendants(node: Node, visit: (message: StoredMessage) => void, atRoot: boolean): void {
    if (!atRoot && node.message !== undefined) visit(node.message)
    if (node.children === undefined) return
    for (const [key, child] of node.children) {
      if (atRoot && key.charCodeAt(0) === 36) continue
      this.descendants(child, visit, false)
    }
  }

  private deleteAt(node: Node, levels: string[], i: number): StoredMessage | undefined {
    if (i === levels.length) {
      const previous = node.message
      if (previous !== undefined) {
        node.message = undefined
        this.count--
      }
      return previous
    }
    const level = levels[i] as string
    const child = node.children?.get(level)
    if (child === undefined) return undefined
    const previous = this.deleteAt(child, levels, i + 1)
    if (child.children === undefined && child.message === undefined) {
      node.children?.delete(level)
      if (node.children?.size === 0) node.children = undefined
    }
    return previous
  }
}
