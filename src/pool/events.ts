/** A small typed event emitter: listeners never break the pool (their errors are reported, not thrown). */

/**
 * Typed listeners keyed by event name.
 *
 * @example
 * ```ts
 * const e = new Emitter<{ tick: number }>(); const off = e.on("tick", (n) => {}); e.emit("tick", 1); off()
 * ```
 */
export class Emitter<Events extends Record<string, unknown>> {
  readonly #listeners = new Map<keyof Events, Set<(event: never) => void>>()

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(name: K, listener: (event: Events[K]) => void): () => void {
    let set = this.#listeners.get(name)
    if (set === undefined) this.#listeners.set(name, (set = new Set()))
    set.add(listener as (event: never) => void)
    return () => void set.delete(listener as (event: never) => void)
  }

  /** Calls every listener of `name`; a throwing listener is reported on stderr and skipped. */
  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.#listeners.get(name)
    if (set === undefined) return
    for (const listener of set) {
      try {
        (listener as (event: Events[K]) => void)(event)
      } catch (error) {
        process.emitWarning(`pyvisor: a '${String(name)}' listener threw: ${String(error)}`)
      }
    }
  }
}
