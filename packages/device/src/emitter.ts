/**
 * A small typed event emitter with no dependency on `node:events`, so that the SDK runs in
 * browsers unchanged. `on` returns the function that removes the listener. A listener that
 * throws does not stop the others; its error goes to `onListenerError`.
 */
export type Listener<A extends unknown[]> = (...args: A) => void

export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never[]>>>()

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(event, set)
    }
    const entry = listener as unknown as Listener<never[]>
    set.add(entry)
    return () => {
      set.delete(entry)
    }
  }

  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const set = this.listeners.get(event)
    if (set === undefined) return
    for (const listener of [...set]) {
      try {
        ;(listener as unknown as Listener<Events[K]>)(...args)
      } catch (err) {
        this.onListenerError(err)
      }
    }
  }
}
