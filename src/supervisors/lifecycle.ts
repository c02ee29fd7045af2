/**
 * Time around one worker incarnation, measured with Effect's Clock (so TestClock can
 * drive it): waiting for `ready` within the init timeout, and the ordered stop —
 * `shutdown` frame, grace, SIGTERM, SIGKILL.
 */
import { Duration, Effect } from "effect"
import type { WorkerActor } from "../actors/worker-actor.ts"
import type { ProtocolError, WorkerCrashedError } from "../errors.ts"
import type { ExitInfo } from "../machines/worker.ts"

/** How a worker is stopped. */
export interface StopPolicy {
  /** Time for Python to finish its current call after the `shutdown` frame. */
  readonly graceMs: number
  /** Time between SIGTERM and SIGKILL. */
  readonly killAfterMs: number
}

const fromPromise = <A>(promise: Promise<A>) =>
  Effect.callback<A, WorkerCrashedError | ProtocolError>((resume) => {
    promise.then(
      (value) => resume(Effect.succeed(value)),
      (error: WorkerCrashedError | ProtocolError) => resume(Effect.fail(error))
    )
  })

/**
 * Waits for the worker's `ready`; after `initTimeoutMs` the worker is killed and the
 * effect fails with its crash error (reason `init_timeout`, with the stderr tail).
 *
 * @example
 * ```ts
 * const handlers = yield* awaitReady(actor, 10_000)
 * ```
 */
export const awaitReady = (actor: WorkerActor, initTimeoutMs: number): Effect.Effect<ReadonlyArray<string>, WorkerCrashedError | ProtocolError> =>
  fromPromise(actor.ready).pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(initTimeoutMs),
      orElse: () => Effect.suspend(() => {
        actor.kill({ type: "INIT_TIMEOUT" })
        return fromPromise(actor.ready)
      })
    })
  )

const waitExit = (actor: WorkerActor, ms: number) =>
  Effect.callback<ExitInfo | null>((resume) => {
    void actor.exited.then((exit) => resume(Effect.succeed(exit)))
  }).pipe(Effect.timeoutOption(Duration.millis(ms)))

/**
 * Stops one worker in order: no new calls, `shutdown` frame (Python finishes the current
 * call and exits 0), then SIGTERM after `graceMs`, then SIGKILL after `killAfterMs`.
 * Never fails; resolves once the process is gone.
 *
 * @example
 * ```ts
 * yield* stopWorker(actor, { graceMs: 5_000, killAfterMs: 2_000 })
 * ```
 */
export const stopWorker = Effect.fnUntraced(function*(actor: WorkerActor, policy: StopPolicy) {
  actor.drain()
  actor.requestShutdown(policy.graceMs)
  if ((yield* waitExit(actor, policy.graceMs))._tag === "Some") return
  actor.signal("SIGTERM")
  if ((yield* waitExit(actor, policy.killAfterMs))._tag === "Some") return
  actor.kill({ type: "KILL", reason: `still alive ${policy.killAfterMs} ms after SIGTERM` })
  yield* Effect.promise(() => actor.exited)
})
