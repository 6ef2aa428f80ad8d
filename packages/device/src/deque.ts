/**
 * A FIFO queue with O(1) push and shift: an array with a moving head, compacted when the
 * dead prefix is at least half of it (as the broker's: Array#shift moves every element,
 * which a 100,000-point buffer drained a batch at a time cannot afford).
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

  clear(): void {
    this.items = []
    this.head = 0
  }
}
