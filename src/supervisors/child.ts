/**
 * Children from plain Effects: a supervisor child is "an Effect that acquires something in a
 * Scope and says when it ended"; these helpers turn a long-running Effect (a loop, a server)
 * or an already forked fiber into one, mapping how the fiber ended to an OTP exit reason.
 *
 * @example
 * ```ts
 * const spec = { id: "ticker", restart: "permanent", start: fromEffect(tick.pipe(Effect.forever)) } as const
 * ```
 * @module
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type { Child, ExitReason } from "./slot.ts"

/**
 * How a child's fiber ended, as an OTP exit reason: success is `normal`; a failure or defect is
 * abnormal and keeps the error as `cause`; an interruption the supervisor did not ask for
 * (someone else interrupted the fiber) is abnormal too (`interrupted`, like OTP's `killed`), so a
 * permanent or transient child comes back.
 *
 * @example
 * ```ts
 * const done = exitReasonOf(Exit.succeed(1))     // { normal: true, reason: "normal" }
 * const failed = exitReasonOf(Exit.fail("boom"))  // { normal: false, reason: "Error: boom", cause: "boom" }
 * ```
 */
export const exitReasonOf = (exit: Exit.Exit<unknown, unknown>): ExitReason => {
  if (Exit.isSuccess(exit)) return { normal: true, reason: "normal" }
  if (Cause.hasInterruptsOnly(exit.cause)) return { normal: false, reason: "interrupted" }
  return { normal: false, reason: Cause.pretty(exit.cause), cause: Cause.squash(exit.cause) }
}

/**
 * A child running an already forked fiber: stopping the child interrupts the fiber, and the
 * child exits when the fiber ends (see {@link exitReasonOf}).
 *
 * @example
 * ```ts
 * const start = Effect.gen(function*() {
 *   const fiber = yield* Effect.forkDetach(serve)
 *   return yield* fromFiber(fiber)
 * })
 * ```
 */
export const fromFiber = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.as(Effect.addFinalizer(() => Fiber.interrupt(fiber)), { exit: Effect.map(Fiber.await(fiber), exitReasonOf) })

/**
 * A child running `effect` on a fiber of its own in the child's Scope: started as soon as it is
 * forked, stopped (interrupted) when the supervisor stops it, exited when `effect` ends. Put any
 * initialisation that must succeed before the next sibling starts in front of it, in `start`.
 *
 * @example
 * ```ts
 * const start = Effect.gen(function*() {
 *   const conn = yield* Effect.acquireRelease(connect, (c) => c.close)  // init: the next child waits
 *   return yield* fromEffect(serve(conn))                               // then runs until it ends
 * })
 * ```
 */
export const fromEffect = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Child, never, Scope.Scope | R> =>
  Effect.flatMap(Effect.forkScoped(effect), (fiber) => Effect.succeed<Child>({ exit: Effect.map(Fiber.await(fiber), exitReasonOf) }))
