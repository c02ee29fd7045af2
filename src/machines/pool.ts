/**
 * The pure pool state machine. One machine instance describes one pool: whether it has its configured
 * number of live workers, whether it is shutting down, and whether its supervisor gave up. It is the one
 * owner of "is the pool open, closing, closed or failed" (and of the failure itself). It performs no IO,
 * starts no timers and invokes nothing: the pool feeds it worker lifecycle edges (a worker became ready,
 * a worker stopped serving), `CLOSE`, `DRAINED` and `FAIL`, and reads the snapshot. No event per call. Diagram (generated): `docs/diagrams/pool.md`.
 * @module
 */
import { assign, setup } from "xstate"

/**
 * The (flat) state values of the pool machine.
 *
 * @example
 * ```ts
 * const value: PoolStateValue = actor.getSnapshot().value
 * ```
 */
export type PoolStateValue = "starting" | "ready" | "degraded" | "draining" | "closed" | "failed"

/**
 * Input of the pool machine. `size` is the configured (minimum) number of workers; `resolveOptions`
 * guarantees it is at least 1.
 *
 * @example
 * ```ts
 * createActor(poolMachine, { input: { size: 4 } })
 * ```
 */
export interface PoolInput {
  readonly size: number
}

/**
 * The pool machine's context.
 *
 * @example
 * ```ts
 * const actor = createActor(poolMachine, { input: { size: 2 } }).start()
 * const ctx: PoolContext = actor.getSnapshot().context // { size: 2, live: [], failure: null, error: null }
 * ```
 */
export interface PoolContext {
  /** Configured number of workers, from input. */
  readonly size: number
  /** Ids of the workers currently ready or busy, in the order they became ready. May exceed `size` (overflow). */
  readonly live: ReadonlyArray<string>
  /** Why the pool failed (the `FAIL` reason), else null. */
  readonly failure: string | null
  /** The error calls get once the pool failed (the `FAIL` error), else null. */
  readonly error: Error | null
}

/**
 * Everything the pool can tell the machine. `WORKER_READY` and `WORKER_LOST` are idempotent: a repeated
 * edge is not enabled (`snapshot.can` is false) and changes nothing.
 *
 * @example
 * ```ts
 * actor.send({ type: "WORKER_READY", workerId: "w1" })
 * actor.send({ type: "WORKER_LOST", workerId: "w1" })
 * actor.send({ type: "FAIL", reason: "restart intensity exceeded" })
 * ```
 */
export type PoolEvent =
  | { type: "WORKER_READY"; workerId: string }
  | { type: "WORKER_LOST"; workerId: string }
  | { type: "CLOSE" }
  | { type: "DRAINED" }
  | { type: "FAIL"; reason: string; error?: Error }

/**
 * All pool states, in lifecycle order.
 *
 * @example
 * ```ts
 * POOL_STATES.filter(acceptsCalls) // ["starting", "ready", "degraded"]
 * ```
 */
export const POOL_STATES: ReadonlyArray<PoolStateValue> = ["starting", "ready", "degraded", "draining", "closed", "failed"]

/**
 * Whether the pool takes new calls in this state. While `starting` calls are queued until a worker is
 * ready; while `degraded` the remaining workers (and the queue) keep serving.
 *
 * @example
 * ```ts
 * acceptsCalls("starting") // true
 * acceptsCalls("draining") // false
 * ```
 */
export const acceptsCalls = (state: PoolStateValue): boolean =>
  state === "starting" || state === "ready" || state === "degraded"

/** `live` after the event, or the same array when the event changes nothing (so idempotency is visible). */
const nextLive = (live: ReadonlyArray<string>, event: PoolEvent): ReadonlyArray<string> => {
  if (event.type === "WORKER_READY") return live.includes(event.workerId) ? live : [...live, event.workerId]
  if (event.type === "WORKER_LOST") return live.includes(event.workerId) ? live.filter((id) => id !== event.workerId) : live
  return live
}

/**
 * The pool state machine. Pure: no invoke, no delays, no side effects — only `assign`.
 * `ready` means at least `size` workers are live; `degraded` means fewer are, after having been ready
 * (the supervisor is restarting them). In `draining` worker edges still update `live`, so the pool
 * knows what is left to stop. `closed` and `failed` are final and accept nothing.
 *
 * @example
 * ```ts
 * const actor = createActor(poolMachine, { input: { size: 2 } }).start()
 * actor.send({ type: "WORKER_READY", workerId: "w1" }) // still starting
 * actor.send({ type: "WORKER_READY", workerId: "w2" }) // → ready
 * actor.send({ type: "WORKER_LOST", workerId: "w1" }) // → degraded
 * actor.send({ type: "CLOSE" }) // → draining
 * actor.send({ type: "DRAINED" }) // → closed
 * ```
 */
export const poolMachine = setup({
  types: { context: {} as PoolContext, events: {} as PoolEvent, input: {} as PoolInput },
  guards: {
    /** The event changes `live` (a new ready worker, or the loss of a live one). */
    changesLive: ({ context, event }) => nextLive(context.live, event) !== context.live,
    /** A new ready worker brings `live` up to `size`. */
    fillsPool: ({ context, event }) => {
      const live = nextLive(context.live, event)
      return live !== context.live && live.length >= context.size
    },
    /** Losing a live worker takes `live` below `size`. */
    breaksPool: ({ context, event }) => {
      const live = nextLive(context.live, event)
      return live !== context.live && live.length < context.size
    }
  },
  actions: {
    updateLive: assign({ live: ({ context, event }) => nextLive(context.live, event) }),
    recordFailure: assign({
      failure: ({ context, event }) => (event.type === "FAIL" ? event.reason : context.failure),
      error: ({ context, event }) => (event.type === "FAIL" ? event.error ?? null : context.error)
    })
  }
}).createMachine({
  id: "pool",
  initial: "starting",
  context: ({ input }) => ({ size: input.size, live: [], failure: null, error: null }),
  states: {
    starting: {
      description: "Spawning the initial workers; calls are queued until workers are ready.",
      on: {
        WORKER_READY: [
          { guard: "fillsPool", target: "ready", actions: "updateLive" },
          { guard: "changesLive", actions: "updateLive" }
        ],
        // A worker that crashes during start-up is restarted by the supervisor: still starting.
        WORKER_LOST: { guard: "changesLive", actions: "updateLive" },
        CLOSE: { target: "draining" },
        FAIL: { target: "failed", actions: "recordFailure" }
      }
    },
    ready: {
      description: "At least size workers are live (more with overflow workers).",
      on: {
        WORKER_READY: { guard: "changesLive", actions: "updateLive" },
        WORKER_LOST: [
          { guard: "breaksPool", target: "degraded", actions: "updateLive" },
          { guard: "changesLive", actions: "updateLive" }
        ],
        CLOSE: { target: "draining" },
        FAIL: { target: "failed", actions: "recordFailure" }
      }
    },
    degraded: {
      description: "Fewer than size workers are live; the supervisor is restarting the missing ones.",
      on: {
        WORKER_READY: [
          { guard: "fillsPool", target: "ready", actions: "updateLive" },
          { guard: "changesLive", actions: "updateLive" }
        ],
        WORKER_LOST: { guard: "changesLive", actions: "updateLive" },
        CLOSE: { target: "draining" },
        FAIL: { target: "failed", actions: "recordFailure" }
      }
    },
    draining: {
      description: "Closing: no new calls; in-flight calls finish, then every process is stopped.",
      on: {
        WORKER_READY: { guard: "changesLive", actions: "updateLive" },
        WORKER_LOST: { guard: "changesLive", actions: "updateLive" },
        DRAINED: { target: "closed" },
        FAIL: { target: "failed", actions: "recordFailure" }
      }
    },
    closed: { description: "Every process stopped after a close.", type: "final" },
    failed: {
      description: "Restart intensity exceeded (context.failure says why); queued and new calls are rejected.",
      type: "final"
    }
  }
})
