/**
 * One worker incarnation as an Effect resource, the unit a supervisor starts and stops: acquiring
 * it spawns the process (holding a start permit until it is ready), its Scope owns the init timer
 * and the heartbeat, and releasing it is the ordered stop — drain (Python finishes what it has and
 * exits), SIGTERM after the grace, SIGKILL after `killAfterMs`. Time comes from Effect's Clock, so
 * TestClock drives all of it.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Semaphore from "effect/Semaphore"
import type * as Scope from "effect/Scope"
import type { ProtocolError, WorkerCrashedError } from "../errors.ts"
import { isLive } from "../machines/worker.ts"
import { heartbeat } from "../supervisors/heartbeat.ts"
import type { HeartbeatTarget } from "../supervisors/heartbeat.ts"
import type { HeartbeatOptions } from "../supervisors/heartbeat-options.ts"
import type { Child, ExitReason } from "../supervisors/slot.ts"
import { Worker } from "./worker.ts"
import type { ExitReport, WorkerOptions } from "./worker.ts"

/** How a worker is stopped. */
export interface StopPolicy {
  /** Time for Python to finish its calls in flight after the `shutdown` frame. */
  readonly graceMs: number
  /** Time between SIGTERM and SIGKILL. */
  readonly killAfterMs: number
}

/** Options of one incarnation: the worker's, minus the timer (the incarnation's Clock provides it). */
export interface IncarnationOptions extends Omit<WorkerOptions, "timer"> {
  /** Held from spawn to ready: bounds how many workers start at once. */
  readonly starts: Semaphore.Semaphore
  readonly heartbeat: HeartbeatOptions | undefined
  /** Read when the incarnation is released (a pool's `close` may shorten the grace). */
  readonly stopPolicy: () => StopPolicy
  /** Told of the new incarnation before it spawns, so its owner can find it from the first event. */
  readonly onCreate?: (worker: Worker) => void
}

/**
 * Pings a worker while it lives; a kill is the machine's `HEARTBEAT_TIMEOUT`, so pending calls get
 * a `WorkerCrashedError` with reason `heartbeat`.
 *
 * @example
 * ```ts
 * yield* Effect.forkScoped(heartbeat(workerHeartbeat(worker), { intervalMs: 5_000, misses: 3 }))
 * ```
 */
export const workerHeartbeat = (worker: Worker): HeartbeatTarget => ({
  ping: () => worker.ping(),
  kill: (reason) => worker.kill({ type: "HEARTBEAT_TIMEOUT", reason }),
  isAlive: () => isLive(worker.state)
})

const exited = (worker: Worker): Effect.Effect<ExitReport> => Effect.promise(() => worker.exited)

/**
 * Stops one worker in order: drain (`shutdown` frame: Python finishes its calls and exits 0), then
 * SIGTERM after `graceMs`, then SIGKILL after `killAfterMs`. Never fails; ends once the process is gone.
 *
 * @example
 * ```ts
 * yield* stopWorker(worker, { graceMs: 5_000, killAfterMs: 2_000 })
 * ```
 */
const stopWorker = Effect.fnUntraced(function*(worker: Worker, policy: StopPolicy) {
  worker.drain(policy.graceMs)
  if ((yield* Effect.timeoutOption(exited(worker), Duration.millis(policy.graceMs)))._tag === "Some") return
  worker.signal("SIGTERM")
  if ((yield* Effect.timeoutOption(exited(worker), Duration.millis(policy.killAfterMs)))._tag === "Some") return
  worker.kill({ type: "KILL", reason: `still alive ${policy.killAfterMs} ms after SIGTERM` })
  yield* exited(worker)
})

/**
 * A healthy incarnation reached `ready` and answered at least one call: its crash is not part of a
 * crash loop, so the supervisor restarts it without backoff.
 *
 * @example
 * ```ts
 * exitReason({ exit: null, process: { code: 0, signal: null }, error: null, wasReady: true, served: 3 }) // { normal: true, ... }
 * ```
 */
const exitReason = (report: ExitReport): ExitReason =>
  report.error === null
    ? { normal: true, reason: "stopped", healthy: true }
    : { normal: false, reason: report.error.message, cause: report.error, healthy: report.wasReady && report.served > 0 }

/**
 * Acquires one incarnation in the current Scope: spawned, and ready (or failed with its crash
 * error: init error, init timeout, exit before ready). The returned child's `exit` completes when
 * the process ends by itself; closing the Scope stops it in order.
 *
 * @example
 * ```ts
 * const child = yield* incarnation({ workerId: "w1", spec, initTimeoutMs: 10_000, starts, heartbeat, stopPolicy })
 * ```
 */
export const incarnation = (options: IncarnationOptions): Effect.Effect<Child, WorkerCrashedError | ProtocolError, Scope.Scope> =>
  Effect.gen(function*() {
    const timers = yield* FiberSet.make()
    const run = yield* FiberSet.runtime(timers)<never>()
    const timer = (ms: number, fn: () => void): (() => void) => {
      const fiber = run(Effect.andThen(Effect.sleep(Duration.millis(ms)), Effect.sync(fn)))
      return () => void run(Fiber.interrupt(fiber))
    }
    const worker = yield* Semaphore.withPermits(options.starts, 1)(Effect.gen(function*() {
      const worker = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const created = new Worker({ ...options, timer })
          options.onCreate?.(created)
          return created.start()
        }),
        (w) => Effect.suspend(() => stopWorker(w, options.stopPolicy()))
      )
      yield* Effect.callback<void, WorkerCrashedError | ProtocolError>((resume) => {
        worker.ready.then(() => resume(Effect.void), (error: WorkerCrashedError | ProtocolError) => resume(Effect.fail(error)))
      })
      return worker
    }))
    if (options.heartbeat) yield* Effect.forkScoped(heartbeat(workerHeartbeat(worker), options.heartbeat))
    return { exit: Effect.map(exited(worker), exitReason) }
  })
