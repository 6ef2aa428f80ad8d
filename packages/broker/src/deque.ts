/**
 * A FIFO queue with O(1) push and shift: an array with a moving head,
 * compacted when the dead prefix is at least half of it. (Array#shift and
 * splice(0, n) move every element, which a 10,000-message session queue
 * drained one ack at a time cannot afford.)
 */
export class Deque<T> {
  private items: T[] = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(item: T): void {
    this.items.push(item)
  }

  peek(): T | undefined {
    return this.items[this.head]
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head] as T
    this.items[this.head++] = undefined as T
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T
  }
}
