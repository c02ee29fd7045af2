/**
 * One supervised child's incarnations, shared by both supervisors: start it in a fresh Scope,
 * watch its exit, stop it by closing that Scope. A generation counter, bumped at every start
 * and stop, lets the controller ignore exits of incarnations it already replaced or stopped.
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import { INITIAL_BACKOFF } from "./backoff.ts"
import { nextBackoffEffect } from "./backoff-schedule.ts"
import type { BackoffState, ResolvedBackoff } from "./backoff.ts"

/**
 * How a child ended. `normal: true` is a clean, intended exit (OTP's `normal`, `shutdown`,
 * `{shutdown, _}`): a transient child is then not restarted.
 *
 * @example
 * ```ts
 * const done: ExitReason = { normal: true, reason: "normal" }
 * const crashed: ExitReason = { normal: false, reason: "connection lost", cause: new Error("ECONNRESET") }
 * ```
 */
export interface ExitReason {
  readonly normal: boolean
  readonly reason: string
  /** The error behind an abnormal exit, when there is one (e.g. a `WorkerCrashedError`). */
  readonly cause?: unknown
  /**
   * The child did useful work before it ended (a worker: it was ready and answered a call), so
   * this exit is not part of a crash loop: it is restarted at once and its backoff series resets.
   * Counted by restart intensity all the same.
   */
  readonly healthy?: boolean
}

/**
 * A running child: `exit` completes (never fails) when the child ends by itself. A defect in
 * `exit` counts as an abnormal exit. See `fromEffect`/`fromFiber` to build one from a fiber.
 *
 * @example
 * ```ts
 * const start = Effect.gen(function*() {
 *   const server = yield* Effect.acquireRelease(listen(port), (s) => s.close)   // stopped by closing its Scope
 *   return { exit: server.closed } satisfies Child                               // Effect<ExitReason>
 * })
 * ```
 */
export interface Child {
  readonly exit: Effect.Effect<ExitReason>
}

/**
 * OTP's restart types. permanent: always restarted; transient: only after an abnormal exit;
 * temporary: never (and its spec is dropped once it ends).
 *
 * @example
 * ```ts
 * const restart: RestartType = "transient" // a job: restarted if it crashes, done once it succeeds
 * ```
 */
export type RestartType = "permanent" | "transient" | "temporary"

/** @internal OTP's rule: does a child of this restart type come back after this exit? */
export const shouldRestart = (type: RestartType, reason: ExitReason): boolean =>
  type === "permanent" || (type === "transient" && !reason.normal)

/** @internal */
export interface Slot<E, R> {
  readonly id: string
  readonly start: Effect.Effect<Child, E, Scope.Scope | R>
  scope: Scope.Closeable | undefined
  startedAt: number
  backoff: BackoffState
  generation: number
}

/** @internal an incarnation ended (or failed to start); `generation` says which one. */
export interface ExitEvent {
  readonly id: string
  readonly generation: number
  readonly reason: ExitReason
}

/** @internal */
export const newSlot = <E, R>(id: string, start: Effect.Effect<Child, E, Scope.Scope | R>): Slot<E, R> =>
  ({ id, start, scope: undefined, startedAt: 0, backoff: INITIAL_BACKOFF, generation: 0 })

/** @internal a failed (re)start as an abnormal exit, carrying the typed failure itself. */
export const startFailure = (cause: Cause.Cause<unknown>): ExitReason => {
  const failure = Cause.findErrorOption(cause)
  const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
  return { normal: false, reason: `start failed: ${error instanceof Error ? error.message : String(error)}`, cause: error }
}

/**
 * @internal the delay before restarting `slot` after `reason`, updating its backoff series. A
 * healthy exit restarts at once and starts the series over (OTP restarts without any delay; the
 * backoff exists only to keep a crash loop from spinning); any other exit grows the series, which
 * also starts over after `resetAfterMs` of uptime.
 */
export const restartDelay = <E, R>(slot: Slot<E, R>, reason: ExitReason, uptimeMs: number, options: ResolvedBackoff): Effect.Effect<number> => {
  if (reason.healthy === true) {
    slot.backoff = INITIAL_BACKOFF
    return Effect.succeed(0)
  }
  return Effect.map(nextBackoffEffect(slot.backoff, uptimeMs, options), (next) => {
    slot.backoff = next.state
    return next.delayMs
  })
}

/** @internal starting, watching and stopping slots whose exits go to `events`. */
export const slotOps = <E, R>(watchers: FiberMap.FiberMap<string>, events: Queue.Queue<ExitEvent>) => {
  const watch = (slot: Slot<E, R>, child: Child, generation: number) =>
    child.exit.pipe(
      // A defect in `exit` is a crash; our own interruption (we stopped watching) is not.
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.succeed<ExitReason>({ normal: false, reason: Cause.pretty(cause), cause: Cause.squash(cause) })
      ),
      Effect.flatMap((reason) => Queue.offer(events, { id: slot.id, generation, reason }))
    )

  const stop = (slot: Slot<E, R>) =>
    Effect.uninterruptible(Effect.gen(function*() {
      slot.generation++
      // Stop watching first, so the exit caused by stopping is not taken for a crash.
      yield* FiberMap.remove(watchers, slot.id)
      const scope = slot.scope
      slot.scope = undefined
      if (scope !== undefined) yield* Scope.close(scope, Exit.void)
    }))

  const start = (slot: Slot<E, R>) =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      // Recorded before `start` runs so a shutdown during a slow start still closes it.
      slot.scope = scope
      slot.generation++
      slot.startedAt = yield* Clock.currentTimeMillis
      const generation = slot.generation
      const child = yield* Scope.provide(slot.start, scope).pipe(
        Effect.onError(() => Effect.andThen(Effect.sync(() => {
          if (slot.scope === scope) slot.scope = undefined
        }), Scope.close(scope, Exit.void)))
      )
      if (slot.generation !== generation) return // stopped while starting: its scope is closed
      yield* FiberMap.run(watchers, slot.id, watch(slot, child, generation))
    })

  /** A restart-time start: a failure becomes an abnormal exit event (more backoff, counted). */
  const restart = (slot: Slot<E, R>) =>
    start(slot).pipe(
      Effect.as(true),
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.as(Queue.offer(events, { id: slot.id, generation: slot.generation, reason: startFailure(cause) }), false)
      )
    )

  return { start, stop, restart }
}
