import type { WorkerActorEvent } from "../actors/worker.ts"
import type { PoolStateValue } from "../machines/pool.ts"
import type { StoreUnavailableError } from "../store/index.ts"

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

/** Events of `pool.on(...)`. */
// A type alias, not an interface: it satisfies Emitter's Record constraint without an index signature.
export type PoolEvents = {
  /** A worker changed state, or exited. */
  worker: Extract<WorkerActorEvent, { type: "state" | "exit" }>
  /** A line from a worker's stdout/stderr, or a runtime log message. */
  log: Extract<WorkerActorEvent, { type: "log" }>
  /** The pool machine changed state. */
  pool: { readonly state: PoolStateValue; readonly previous: PoolStateValue }
  /** Every permanent worker is ready for the first time. */
  ready: { readonly timeToReadyMs: number }
  /** One more worker finished starting: `ready` of `total` are serving. */
  warmup: { readonly ready: number; readonly total: number }
  /** A call had to queue: no worker was idle. */
  exhausted: { readonly queued: number }
  /** The session store's backend cannot be reached (Redis down…); operations meanwhile reject with the same error. */
  store: { readonly error: StoreUnavailableError }
  /** A worker is being replaced (call count, memory, age, or overflow idle). */
  recycle: { readonly workerId: string; readonly pid: number | null; readonly reason: string; readonly calls: number }
}
