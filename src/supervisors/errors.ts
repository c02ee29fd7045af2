/**
 * The errors a supervisor raises: it gave up ({@link SupervisorEscalation}), or a call about one
 * child was refused ({@link SupervisorChildError}). Both are tagged, yieldable Effect errors.
 *
 * @example
 * ```ts
 * sup.await.pipe(Effect.catchTag("SupervisorEscalation", (e) => Effect.log(e.childId)))
 * ```
 * @module
 */
import * as Data from "effect/Data"
import type { IntensityOptions } from "./intensity.ts"
import type { ExitReason } from "./slot.ts"

/**
 * Restart intensity was exceeded: every child has been stopped (reverse start order) and the
 * supervisor gave up, as OTP's supervisor exits with `shutdown`. A parent supervisor (or the
 * pool) decides what happens next.
 *
 * @example
 * ```ts
 * sup.await.pipe(Effect.catchTag("SupervisorEscalation", (e) => Effect.log(e.lastReason.reason)))
 * ```
 */
export class SupervisorEscalation extends Data.TaggedError("SupervisorEscalation")<{
  readonly message: string
  readonly supervisorId: string
  /** Restarts inside the window, the refused one included (maxRestarts + 1). */
  readonly restarts: number
  readonly withinMs: number
  /** The child whose exit was one too many, and why it exited. */
  readonly childId: string
  readonly lastReason: ExitReason
}> {
  readonly code = "SUPERVISOR_ESCALATION"
}

/** @internal the escalation of a supervisor whose `restarts`-th restart exceeded `intensity`. */
export const escalation = (supervisorId: string, restarts: number, intensity: IntensityOptions, childId: string, lastReason: ExitReason): SupervisorEscalation =>
  new SupervisorEscalation({
    message: `supervisor ${supervisorId}: ${restarts} restarts within ${intensity.withinMs} ms (max ${intensity.maxRestarts}); last: child ${childId}: ${lastReason.reason}`,
    supervisorId,
    restarts,
    withinMs: intensity.withinMs,
    childId,
    lastReason
  })

/**
 * Why a call about one child was refused, in OTP's words: no such child (`not_found`), it is
 * running (`restartChild`/`deleteChild` need a terminated child), its restart failed and is
 * about to be retried (`restarting`), or the supervisor itself is no longer running (`stopped`:
 * it gave up or its Scope closed; OTP's `noproc`).
 *
 * @example
 * ```ts
 * const explain = (reason: ChildErrorReason) => (reason === "stopped" ? "the supervisor is gone" : `refused: ${reason}`)
 * ```
 */
export type ChildErrorReason = "not_found" | "running" | "restarting" | "stopped"

/**
 * `terminateChild`, `restartChild` or `deleteChild` refused: see {@link ChildErrorReason}.
 *
 * @example
 * ```ts
 * sup.restartChild("db").pipe(Effect.catchTag("SupervisorChildError", (e) => Effect.log(e.reason)))
 * ```
 */
export class SupervisorChildError extends Data.TaggedError("SupervisorChildError")<{
  readonly message: string
  readonly supervisorId: string
  readonly childId: string
  readonly reason: ChildErrorReason
}> {
  readonly code = "SUPERVISOR_CHILD_ERROR"
}

/** @internal */
export const childError = (supervisorId: string, childId: string, reason: ChildErrorReason): SupervisorChildError =>
  new SupervisorChildError({ message: `supervisor ${supervisorId}: child ${childId}: ${reason}`, supervisorId, childId, reason })
