/**
 * The public types of `WorkerActor`: its options, what it reports, what its calls
 * return and how it can be ended. Re-exported by `worker-actor.ts`.
 *
 * @example
 * ```ts
 * const kill: KillEvent = { type: "HEARTBEAT_TIMEOUT", reason: "no pong to 3 heartbeats (every 5000 ms)" }
 * ```
 * @module
 */
import type { HostCallHandler } from "./host-calls.ts"
import type { ExitInfo, WorkerStateValue } from "../machines/worker.ts"
import type { ProcessExit, ProcessSpec } from "./python-process.ts"

/** What a worker actor reports to its owner. */
export type WorkerActorEvent =
  | { readonly type: "state"; readonly workerId: string; readonly pid: number | null; readonly state: WorkerStateValue; readonly previous: WorkerStateValue }
  | { readonly type: "log"; readonly workerId: string; readonly pid: number | null; readonly stream: "stdout" | "stderr" | "worker"; readonly level: "debug" | "info" | "warning" | "error"; readonly line: string }
  | { readonly type: "exit"; readonly workerId: string; readonly pid: number | null; readonly exit: ExitInfo | null; readonly process: ProcessExit; readonly error: Error | null }

/** Options of one worker incarnation. */
export interface WorkerActorOptions {
  readonly workerId: string
  readonly restarts?: number
  readonly spec: ProcessSpec
  readonly onEvent?: (event: WorkerActorEvent) => void
  /** Answers the worker's `ctx.call_host(...)`; without it they fail with `pyvisor.NoHostHandler`. */
  readonly onHostCall?: HostCallHandler
}

/** Options of one call. */
export interface CallOptions {
  readonly session?: string
  readonly deadline?: number
}

/** A dispatched call: its protocol id (for cancel/credit) and its answer. */
export interface CallHandle {
  readonly id: number
  readonly answer: Promise<unknown>
}

/**
 * Events that end an incarnation from the host's side; the actor then SIGKILLs the process.
 * `HEARTBEAT_TIMEOUT.reason` says what was missed; pending calls get a `WorkerCrashedError`
 * with reason `heartbeat` and a message saying the worker was killed for missing heartbeats.
 */
export type KillEvent =
  | { readonly type: "INIT_TIMEOUT" }
  | { readonly type: "HEARTBEAT_TIMEOUT"; readonly reason?: string }
  | { readonly type: "KILL"; readonly reason: string }
