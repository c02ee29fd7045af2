/**
 * The pure worker state machine (ARCHITECTURE.md §3). One machine instance describes one incarnation of
 * one Python worker process. It performs no IO, starts no timers and invokes nothing: the worker actor
 * feeds it events (process spawned, `hello` received, call sent, result received, process exited,
 * timeouts it measured itself) and reads the resulting snapshot. Its only actions are `assign`s.
 * Diagram (generated): `docs/diagrams/worker.md`.
 * @module
 */
import { assign, setup } from "xstate"

/**
 * Why a worker incarnation ended.
 *
 * @example
 * ```ts
 * const reason: ExitReason = "heartbeat"
 * ```
 */
export type ExitReason =
  | "exit" | "signal" | "init_timeout" | "init_error" | "protocol" | "heartbeat" | "killed" | "spawn_failed"

/**
 * How a worker incarnation ended. `code`/`signal` are only set for a process exit (`EXITED`).
 *
 * @example
 * ```ts
 * const info: ExitInfo = { reason: "exit", code: 1, signal: null, message: "exited with code 1" }
 * ```
 */
export interface ExitInfo {
  readonly reason: ExitReason
  readonly code: number | null
  readonly signal: string | null
  readonly message: string
}

/**
 * The worker machine's context.
 *
 * @example
 * ```ts
 * const actor = createActor(workerMachine, { input: { workerId: "w1" } }).start()
 * const ctx: WorkerContext = actor.getSnapshot().context // { workerId: "w1", restarts: 0, pid: null, ... }
 * ```
 */
export interface WorkerContext {
  /** Stable id of the pool slot, from input. */
  readonly workerId: string
  /** How many times this slot was restarted before this incarnation, from input (default 0). */
  readonly restarts: number
  /** OS pid once `SPAWNED`, else null. */
  readonly pid: number | null
  /** Handler names announced by the worker's `hello` (`READY`). */
  readonly handlers: ReadonlyArray<string>
  /** Id of the call being served, else null. Kept on crash: it names the call that was lost. */
  readonly inFlight: number | null
  /** Calls completed by this incarnation (drives recycling). */
  readonly callsServed: number
  /** Why the process went away (set on entering `crashed`, and on `stopped` by a process exit). */
  readonly lastExit: ExitInfo | null
}

/**
 * Everything the actor and the supervisor can tell the machine.
 *
 * @example
 * ```ts
 * actor.send({ type: "SPAWNED", pid: 4242 })
 * actor.send({ type: "READY", handlers: ["add"] })
 * actor.send({ type: "CALL", id: 1 })
 * ```
 */
export type WorkerEvent =
  | { type: "SPAWNED"; pid: number }
  | { type: "SPAWN_FAILED"; message: string }
  | { type: "READY"; handlers: ReadonlyArray<string> }
  | { type: "INIT_FAILED"; message: string }
  | { type: "INIT_TIMEOUT" }
  | { type: "CALL"; id: number }
  | { type: "DONE"; id: number }
  | { type: "DRAIN" }
  | { type: "EXITED"; code: number | null; signal: string | null }
  | { type: "PROTOCOL_ERROR"; message: string }
  | { type: "HEARTBEAT_TIMEOUT" }
  | { type: "KILL"; reason: string }

/**
 * The events that end an incarnation (each one sets `lastExit`).
 *
 * @example
 * ```ts
 * const e: ExitEvent = { type: "KILL", reason: "recycled" }
 * ```
 */
export type ExitEvent = Extract<
  WorkerEvent,
  { type: "SPAWN_FAILED" | "INIT_FAILED" | "INIT_TIMEOUT" | "EXITED" | "PROTOCOL_ERROR" | "HEARTBEAT_TIMEOUT" | "KILL" }
>

/**
 * The (flat) state values of the worker machine.
 *
 * @example
 * ```ts
 * const value: WorkerStateValue = actor.getSnapshot().value
 * ```
 */
export type WorkerStateValue = "spawning" | "initializing" | "ready" | "busy" | "draining" | "stopped" | "crashed"

/**
 * Input of the worker machine.
 *
 * @example
 * ```ts
 * createActor(workerMachine, { input: { workerId: "w1", restarts: 2 } })
 * ```
 */
export interface WorkerInput {
  readonly workerId: string
  readonly restarts?: number
}

/**
 * All worker states, in lifecycle order.
 *
 * @example
 * ```ts
 * WORKER_STATES.filter(isLive) // ["spawning", "initializing", "ready", "busy", "draining"]
 * ```
 */
export const WORKER_STATES: ReadonlyArray<WorkerStateValue> = [
  "spawning", "initializing", "ready", "busy", "draining", "stopped", "crashed"
]

/**
 * True while the incarnation may still own a process (every state but the final `stopped`/`crashed`).
 *
 * @example
 * ```ts
 * isLive("draining") // true
 * isLive("crashed") // false
 * ```
 */
export const isLive = (state: WorkerStateValue): boolean => state !== "stopped" && state !== "crashed"

const EXIT_EVENT_TYPES: ReadonlySet<string> = new Set<ExitEvent["type"]>([
  "SPAWN_FAILED", "INIT_FAILED", "INIT_TIMEOUT", "EXITED", "PROTOCOL_ERROR", "HEARTBEAT_TIMEOUT", "KILL"
])

/**
 * Narrows a worker event to one that ends the incarnation.
 *
 * @example
 * ```ts
 * isExitEvent({ type: "INIT_TIMEOUT" }) // true
 * isExitEvent({ type: "DRAIN" }) // false
 * ```
 */
export const isExitEvent = (event: WorkerEvent): event is ExitEvent => EXIT_EVENT_TYPES.has(event.type)

/**
 * Pure description of why an incarnation ended, as stored in `context.lastExit`.
 *
 * @example
 * ```ts
 * describeExit({ type: "EXITED", code: 1, signal: null })
 * // { reason: "exit", code: 1, signal: null, message: "exited with code 1" }
 * describeExit({ type: "EXITED", code: null, signal: "SIGKILL" })
 * // { reason: "signal", code: null, signal: "SIGKILL", message: "killed by SIGKILL" }
 * ```
 */
export const describeExit = (event: ExitEvent): ExitInfo => {
  const info = (reason: ExitReason, message: string): ExitInfo => ({ reason, code: null, signal: null, message })
  switch (event.type) {
    case "EXITED":
      if (event.signal !== null) {
        return { reason: "signal", code: event.code, signal: event.signal, message: `killed by ${event.signal}` }
      }
      return { reason: "exit", code: event.code, signal: null,
        message: event.code === null ? "exited without an exit code" : `exited with code ${event.code}` }
    case "SPAWN_FAILED":
      return info("spawn_failed", `spawn failed: ${event.message}`)
    case "INIT_FAILED":
      return info("init_error", `init failed: ${event.message}`)
    case "INIT_TIMEOUT":
      return info("init_timeout", "no ready within the init timeout")
    case "PROTOCOL_ERROR":
      return info("protocol", `protocol error: ${event.message}`)
    case "HEARTBEAT_TIMEOUT":
      return info("heartbeat", "no heartbeat within the heartbeat timeout")
    case "KILL":
      return info("killed", event.reason)
  }
}

const crash = { target: "crashed", actions: "recordExit" } as const

/**
 * The worker state machine. Pure: no invoke, no delays, no side effects — only `assign`.
 * A `CALL` is accepted only in `ready` (so work can never reach a worker that is still initializing);
 * a `DONE` only for the call in flight; `stopped` and `crashed` are final and accept nothing.
 *
 * @example
 * ```ts
 * const actor = createActor(workerMachine, { input: { workerId: "w1" } }).start()
 * actor.send({ type: "SPAWNED", pid: 4242 })
 * actor.getSnapshot().can({ type: "CALL", id: 1 }) // false: still initializing
 * actor.send({ type: "READY", handlers: ["add"] })
 * actor.send({ type: "CALL", id: 1 }) // → busy, context.inFlight === 1
 * actor.send({ type: "DONE", id: 1 }) // → ready, context.callsServed === 1
 * ```
 */
export const workerMachine = setup({
  types: { context: {} as WorkerContext, events: {} as WorkerEvent, input: {} as WorkerInput },
  guards: {
    /** The `DONE` is for the call in flight. */
    isInFlightCall: ({ context, event }) => event.type === "DONE" && event.id === context.inFlight,
    /** No call is in flight. */
    isIdle: ({ context }) => context.inFlight === null
  },
  actions: {
    recordSpawn: assign({ pid: ({ context, event }) => (event.type === "SPAWNED" ? event.pid : context.pid) }),
    recordReady: assign({ handlers: ({ context, event }) => (event.type === "READY" ? [...event.handlers] : context.handlers) }),
    startCall: assign({ inFlight: ({ context, event }) => (event.type === "CALL" ? event.id : context.inFlight) }),
    finishCall: assign({ inFlight: null, callsServed: ({ context }) => context.callsServed + 1 }),
    recordExit: assign({ lastExit: ({ context, event }) => (isExitEvent(event) ? describeExit(event) : context.lastExit) })
  }
}).createMachine({
  id: "worker",
  initial: "spawning",
  context: ({ input }) => ({
    workerId: input.workerId, restarts: input.restarts ?? 0, pid: null, handlers: [], inFlight: null, callsServed: 0, lastExit: null
  }),
  states: {
    spawning: {
      description: "Process requested, not yet running.",
      on: {
        SPAWNED: { target: "initializing", actions: "recordSpawn" },
        SPAWN_FAILED: crash,
        DRAIN: { target: "draining" },
        EXITED: crash,
        PROTOCOL_ERROR: crash,
        KILL: crash
      }
    },
    initializing: {
      description: "Process up, waiting for its hello. Calls wait in the pool's queue, never here.",
      on: {
        READY: { target: "ready", actions: "recordReady" },
        INIT_FAILED: crash,
        INIT_TIMEOUT: crash,
        DRAIN: { target: "draining" },
        EXITED: crash,
        PROTOCOL_ERROR: crash,
        KILL: crash
      }
    },
    ready: {
      description: "Idle; the only state that accepts a call.",
      on: {
        CALL: { target: "busy", actions: "startCall" },
        DRAIN: { target: "draining" },
        EXITED: crash,
        PROTOCOL_ERROR: crash,
        HEARTBEAT_TIMEOUT: crash,
        KILL: crash
      }
    },
    busy: {
      description: "Serving the call context.inFlight.",
      on: {
        DONE: { guard: "isInFlightCall", target: "ready", actions: "finishCall" },
        DRAIN: { target: "draining" },
        EXITED: crash,
        PROTOCOL_ERROR: crash,
        HEARTBEAT_TIMEOUT: crash,
        KILL: crash
      }
    },
    draining: {
      description: "Finishing the call in flight (if any), accepting nothing new, waiting for the exit.",
      on: {
        DONE: { guard: "isInFlightCall", actions: "finishCall" },
        EXITED: [{ guard: "isIdle", target: "stopped", actions: "recordExit" }, crash],
        PROTOCOL_ERROR: crash,
        KILL: crash
      }
    },
    stopped: { description: "Drained and exited cleanly.", type: "final" },
    crashed: {
      description: "Gone for a reason in context.lastExit; the supervisor decides about a new incarnation.",
      type: "final"
    }
  }
})
