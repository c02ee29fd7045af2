/**
 * The worker state machine: one instance describes one incarnation of one Python worker process,
 * and decides what happens to it. Its behaviour is declared as named actions — `spawn`,
 * `sendWelcome`, `armInitTimeout`, `announceReady`, `withdraw`, `requestShutdown`, `kill`,
 * `failPending`, `reportExit` — that the runtime implements (`src/actors/worker.ts` runs the
 * machine with XState's pure `transition()` and executes the actions it returns). The definition
 * itself does no IO, so every lifecycle step is a transition a test can assert, action by action.
 *
 * No event per call: the connection owns the calls in flight and tells the machine only when it
 * crosses the worker's capacity (`SATURATED` / `UNSATURATED`), so `busy` means "saturated".
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
  | "exit" | "signal" | "init_timeout" | "init_error" | "protocol" | "heartbeat" | "killed" | "spawn_failed" | "oom"

/**
 * How a worker incarnation ended. `code`/`signal` are what the OS reported, once the process exited.
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
 * const [snapshot] = initialTransition(workerMachine, { workerId: "w1" })
 * const ctx: WorkerContext = snapshot.context // { workerId: "w1", pid: null, handlers: [], wasReady: false, lastExit: null }
 * ```
 */
export interface WorkerContext {
  /** Stable id of the pool slot, from input. */
  readonly workerId: string
  /** OS pid once `SPAWNED`, else null. */
  readonly pid: number | null
  /** Handler names announced by the worker's `ready`. */
  readonly handlers: ReadonlyArray<string>
  /** It reached `ready` (it stays true after it left). */
  readonly wasReady: boolean
  /**
   * Why the incarnation ended (or is ending: set when a kill is decided, completed with the
   * OS's code and signal at `EXITED`). Null while it lives, and after a clean drain's exit it
   * says `exit`.
   */
  readonly lastExit: ExitInfo | null
}

/**
 * Everything the runtime can tell the machine. `EXITED.pending` is the number of calls the
 * connection still had in flight when the process was gone.
 *
 * @example
 * ```ts
 * transition(workerMachine, snapshot, { type: "SPAWNED", pid: 4242 })
 * transition(workerMachine, snapshot, { type: "READY", handlers: ["add"] })
 * ```
 */
export type WorkerEvent =
  | { type: "SPAWNED"; pid: number }
  | { type: "SPAWN_FAILED"; message: string }
  | { type: "HELLO"; codecs: ReadonlyArray<string> }
  | { type: "READY"; handlers: ReadonlyArray<string> }
  | { type: "INIT_FAILED"; message: string }
  | { type: "INIT_TIMEOUT" }
  | { type: "SATURATED" }
  | { type: "UNSATURATED" }
  | { type: "DRAIN" }
  | { type: "EXITED"; code: number | null; signal: string | null; pending: number }
  | { type: "PROTOCOL_ERROR"; message: string }
  | { type: "HEARTBEAT_TIMEOUT"; reason: string }
  | { type: "KILL"; reason: string }

/**
 * The events that decide an incarnation must end now (each one records `lastExit`).
 *
 * @example
 * ```ts
 * const e: KillEvent = { type: "KILL", reason: "call did not stop within cancelGraceMs" }
 * ```
 */
export type KillEvent = Extract<WorkerEvent, { type: "INIT_TIMEOUT" | "INIT_FAILED" | "PROTOCOL_ERROR" | "HEARTBEAT_TIMEOUT" | "KILL" }>

/**
 * The (flat) state values of the worker machine.
 *
 * @example
 * ```ts
 * const value: WorkerStateValue = snapshot.value
 * ```
 */
export type WorkerStateValue =
  | "spawning" | "initializing" | "ready" | "busy" | "draining" | "terminating" | "stopped" | "crashed"

/**
 * Input of the worker machine.
 *
 * @example
 * ```ts
 * initialTransition(workerMachine, { workerId: "w1" })
 * ```
 */
export interface WorkerInput {
  readonly workerId: string
}

/**
 * The named actions the runtime must implement, in the order they can first occur.
 *
 * @example
 * ```ts
 * const implemented = Object.fromEntries(WORKER_ACTIONS.map((a) => [a, () => {}])) as Record<WorkerAction, () => void>
 * ```
 */
export type WorkerAction =
  | "spawn" | "sendWelcome" | "armInitTimeout" | "disarmInitTimeout" | "announceReady" | "withdraw"
  | "requestShutdown" | "kill" | "failPending" | "reportExit"

/**
 * Every named action of the machine.
 *
 * @example
 * ```ts
 * WORKER_ACTIONS.includes("kill") // true
 * ```
 */
export const WORKER_ACTIONS: ReadonlyArray<WorkerAction> = [
  "spawn", "sendWelcome", "armInitTimeout", "disarmInitTimeout", "announceReady", "withdraw",
  "requestShutdown", "kill", "failPending", "reportExit"
]

/**
 * All worker states, in lifecycle order.
 *
 * @example
 * ```ts
 * WORKER_STATES.filter(isLive) // ["spawning", "initializing", "ready", "busy", "draining", "terminating"]
 * ```
 */
export const WORKER_STATES: ReadonlyArray<WorkerStateValue> = [
  "spawning", "initializing", "ready", "busy", "draining", "terminating", "stopped", "crashed"
]

/**
 * True while the incarnation may still own a process (every state but the final `stopped`/`crashed`).
 *
 * @example
 * ```ts
 * isLive("terminating") // true
 * isLive("crashed") // false
 * ```
 */
export const isLive = (state: WorkerStateValue): boolean => state !== "stopped" && state !== "crashed"

/**
 * True in the states that serve calls (`ready`, or `busy` = saturated).
 *
 * @example
 * ```ts
 * isServing("busy") // true
 * isServing("draining") // false
 * ```
 */
export const isServing = (state: WorkerStateValue): boolean => state === "ready" || state === "busy"

const info = (reason: ExitReason, message: string): ExitInfo => ({ reason, code: null, signal: null, message })

/**
 * What an exit reported by the OS means on its own (no earlier kill decision).
 *
 * @example
 * ```ts
 * describeProcessExit(1, null)        // { reason: "exit", code: 1, signal: null, message: "exited with code 1" }
 * describeProcessExit(null, "SIGKILL") // { reason: "signal", ..., message: "killed by SIGKILL" }
 * ```
 */
export const describeProcessExit = (code: number | null, signal: string | null): ExitInfo =>
  signal !== null
    ? { reason: "signal", code, signal, message: `killed by ${signal}` }
    : { reason: "exit", code, signal: null, message: code === null ? "exited without an exit code" : `exited with code ${code}` }

/**
 * Why the host decided to end an incarnation (the code and signal follow at `EXITED`).
 *
 * @example
 * ```ts
 * describeKill({ type: "INIT_TIMEOUT" }) // { reason: "init_timeout", ..., message: "no ready within the init timeout" }
 * ```
 */
export const describeKill = (event: KillEvent | Extract<WorkerEvent, { type: "SPAWN_FAILED" }>): ExitInfo => {
  switch (event.type) {
    case "SPAWN_FAILED":
      return info("spawn_failed", `spawn failed: ${event.message}`)
    case "INIT_FAILED":
      return info("init_error", `init failed: ${event.message}`)
    case "INIT_TIMEOUT":
      return info("init_timeout", "no ready within the init timeout")
    case "PROTOCOL_ERROR":
      return info("protocol", `protocol error: ${event.message}`)
    case "HEARTBEAT_TIMEOUT":
      return info("heartbeat", `was killed for missing heartbeats: ${event.reason}`)
    case "KILL":
      return info("killed", event.reason)
  }
}

const terminate = { target: "terminating", actions: ["decideKill", "kill"] } as const
// Python reports an init error and exits by itself (code 1): no signal, so the exit code survives.
const initFailed = { target: "terminating", actions: "decideKill" } as const
const crashOnExit = { target: "crashed", actions: "recordProcessExit" } as const
const drain = { target: "draining", actions: "requestShutdown" } as const
// Before the handshake there is no protocol to ask with: a stop is a kill, and still a clean stop.
const stopUnready = { target: "draining", actions: "kill" } as const

/**
 * The worker state machine. Pure: no invoke, no delays; its effects are named actions.
 *
 * - `spawning` (entry `spawn`) → `SPAWNED` → `initializing` (entry `armInitTimeout`): `HELLO` →
 *   `sendWelcome`; `READY` → `ready` with `announceReady`.
 * - `ready` ⇄ `busy` on the connection's capacity edges, with no action.
 * - A kill decision (init timeout, protocol error, missed heartbeats, `KILL`) → `kill` and
 *   `terminating` (entry `withdraw`); an init error → `terminating` without a signal (Python exits
 *   by itself, with its code); the process's `EXITED` → `crashed`.
 * - `DRAIN` → `draining` (entry `withdraw`) with `requestShutdown` (or `kill` before `ready`: there is
 *   no protocol to ask with yet); its `EXITED` → `stopped` when nothing was in flight, else `crashed`.
 * - A process that exits on its own → `crashed`. Entering `crashed` runs `failPending` then
 *   `reportExit`; entering `stopped` runs `reportExit`. Both are final.
 *
 * @example
 * ```ts
 * let [s, actions] = initialTransition(workerMachine, { workerId: "w1" }) // actions: spawn
 * ;[s, actions] = transition(workerMachine, s, { type: "SPAWNED", pid: 4242 }) // armInitTimeout
 * ;[s, actions] = transition(workerMachine, s, { type: "READY", handlers: ["add"] }) // disarmInitTimeout, announceReady
 * ```
 */
export const workerMachine = setup({
  types: { context: {} as WorkerContext, events: {} as WorkerEvent, input: {} as WorkerInput },
  guards: {
    /** Nothing was in flight when the drained process exited. */
    drainedCleanly: ({ event }) => event.type === "EXITED" && event.pending === 0
  },
  actions: {
    // Named effects, implemented by the runtime (the definition only declares them).
    spawn: () => {},
    sendWelcome: (_, _params: { codecs: ReadonlyArray<string> }) => {},
    armInitTimeout: () => {},
    disarmInitTimeout: () => {},
    announceReady: (_, _params: { handlers: ReadonlyArray<string> }) => {},
    withdraw: () => {},
    requestShutdown: () => {},
    kill: () => {},
    failPending: () => {},
    reportExit: () => {},
    // Context updates.
    recordSpawn: assign({ pid: ({ context, event }) => (event.type === "SPAWNED" ? event.pid : context.pid) }),
    recordReady: assign({ handlers: ({ context, event }) => (event.type === "READY" ? [...event.handlers] : context.handlers), wasReady: true }),
    recordSpawnFailure: assign({ lastExit: ({ context, event }) => (event.type === "SPAWN_FAILED" ? describeKill(event) : context.lastExit) }),
    decideKill: assign({
      lastExit: ({ context, event }) => {
        switch (event.type) {
          case "INIT_TIMEOUT": case "INIT_FAILED": case "PROTOCOL_ERROR": case "HEARTBEAT_TIMEOUT": case "KILL":
            return describeKill(event)
          default:
            return context.lastExit
        }
      }
    }),
    // A kill decided earlier keeps its reason; the OS adds the code and signal.
    recordProcessExit: assign({
      lastExit: ({ context, event }) => {
        if (event.type !== "EXITED") return context.lastExit
        const decided = context.lastExit
        return decided === null ? describeProcessExit(event.code, event.signal) : { ...decided, code: event.code, signal: event.signal }
      }
    })
  }
}).createMachine({
  id: "worker",
  initial: "spawning",
  context: ({ input }) => ({ workerId: input.workerId, pid: null, handlers: [], wasReady: false, lastExit: null }),
  states: {
    spawning: {
      description: "The process is being started.",
      entry: "spawn",
      on: {
        SPAWNED: { target: "initializing", actions: "recordSpawn" },
        SPAWN_FAILED: { target: "crashed", actions: "recordSpawnFailure" },
        DRAIN: stopUnready,
        KILL: terminate,
        EXITED: crashOnExit
      }
    },
    initializing: {
      description: "Process up: handshake (hello, welcome) and the user's imports, within the init timeout. Calls wait in the pool's queue, never here.",
      entry: "armInitTimeout",
      exit: "disarmInitTimeout",
      on: {
        HELLO: { actions: { type: "sendWelcome", params: ({ event }) => ({ codecs: event.codecs }) } },
        READY: { target: "ready", actions: ["recordReady", { type: "announceReady", params: ({ event }) => ({ handlers: event.handlers }) }] },
        INIT_FAILED: initFailed,
        INIT_TIMEOUT: terminate,
        PROTOCOL_ERROR: terminate,
        DRAIN: stopUnready,
        KILL: terminate,
        EXITED: crashOnExit
      }
    },
    ready: {
      description: "Serving, with room for another call.",
      on: {
        SATURATED: { target: "busy" },
        DRAIN: drain,
        PROTOCOL_ERROR: terminate,
        HEARTBEAT_TIMEOUT: terminate,
        KILL: terminate,
        EXITED: crashOnExit
      }
    },
    busy: {
      description: "Serving, saturated: calls in flight = capacity.",
      on: {
        UNSATURATED: { target: "ready" },
        DRAIN: drain,
        PROTOCOL_ERROR: terminate,
        HEARTBEAT_TIMEOUT: terminate,
        KILL: terminate,
        EXITED: crashOnExit
      }
    },
    draining: {
      description: "Asked to finish its calls in flight and exit; takes no new call.",
      entry: "withdraw",
      on: {
        EXITED: [{ guard: "drainedCleanly", target: "stopped", actions: "recordProcessExit" }, crashOnExit],
        PROTOCOL_ERROR: terminate,
        HEARTBEAT_TIMEOUT: terminate,
        KILL: terminate
      }
    },
    terminating: {
      description: "Killed (lastExit says why); waiting for the OS to report the exit.",
      entry: "withdraw",
      on: {
        EXITED: crashOnExit
      }
    },
    stopped: {
      description: "Drained and exited, or stopped before it served.",
      type: "final",
      entry: "reportExit"
    },
    crashed: {
      description: "Gone for the reason in lastExit; calls in flight fail; the supervisor decides what follows.",
      type: "final",
      entry: ["failPending", "reportExit"]
    }
  }
})
