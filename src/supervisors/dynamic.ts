/**
 * OTP's `simple_one_for_one`: a supervisor of children added and removed at run time, each
 * restarted on its own (`one_for_one`) under one shared restart intensity, with a per-child
 * exponential backoff. The pool runs its workers under it; it knows nothing about Python.
 *
 * As in OTP, a child that fails its first start is not retried (the caller gets the error),
 * while a restart that fails counts as one more exit: a child that crashes at every start
 * exhausts the intensity and the supervisor escalates instead of looping forever. A child added
 * with `onStartFailure: "restart"` is supervised from its first start on: the caller still gets
 * the error, and the failure counts and is retried like a crash (a pool that starts workers on
 * demand must not bypass intensity by starting them again and again).
 *
 * Backoff: a child whose exit is `healthy` (it did useful work) is restarted at once; any other
 * exit grows its series (see `restartDelay`).
 *
 * @example
 * ```ts
 * const sup = yield* makeDynamic({ id: "pool", intensity: { maxRestarts: 10, withinMs: 60_000 } })
 * yield* sup.startChild("w1", { start: startWorker, restart: "permanent" })
 * yield* sup.await // fails with SupervisorEscalation
 * ```
 * @module
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { DEFAULT_BACKOFF, resolveBackoff } from "./backoff.ts"
import type { BackoffOptions } from "./backoff.ts"
import { DEFAULT_INTENSITY } from "./intensity.ts"
import { makeIntensity } from "./intensity-tracker.ts"
import type { IntensityOptions } from "./intensity.ts"
import { escalation } from "./errors.ts"
import type { SupervisorEscalation } from "./errors.ts"
import { newSlot, restartDelay, shouldRestart, slotOps, startFailure } from "./slot.ts"
import type { Child, ExitEvent, RestartType, Slot } from "./slot.ts"

/** How to start one dynamic child; `start` acquires it in the Scope it is given. */
export interface DynamicChildSpec<E> {
  readonly start: Effect.Effect<Child, E, Scope.Scope>
  readonly restart: RestartType
  /**
   * What a failed first start does: `return` (OTP, the default) only fails `startChild`;
   * `restart` also counts as a crash and retries after the backoff (the child stays supervised).
   */
  readonly onStartFailure?: "return" | "restart"
}

/** Options of {@link makeDynamic}. */
export interface DynamicOptions {
  readonly id: string
  /** Shared by all children. Default 10 restarts in 60 s. */
  readonly intensity?: IntensityOptions
  /** Per child. Default 10 ms doubling to 5 s, jitter 0.2, reset after 30 s. */
  readonly backoff?: BackoffOptions
}

/** A running dynamic supervisor; its lifetime is the Scope `makeDynamic` ran in. */
export interface DynamicSupervisor<E> {
  readonly id: string
  /** Starts a child; fails with its start error (and does not retry it) if the first start fails. */
  readonly startChild: (id: string, spec: DynamicChildSpec<E>) => Effect.Effect<void, E>
  /** Stops a child for good (its release runs); false if there was none. A pending restart is cancelled. */
  readonly terminateChild: (id: string) => Effect.Effect<boolean>
  /**
   * Replaces a child's incarnation by choice (OTP's `restart_child` after `terminate_child`):
   * stops it in order and starts it again at once. Not a crash: no intensity, no backoff. A
   * start that fails then counts like any failed restart. False if there was no such child.
   */
  readonly restartChild: (id: string) => Effect.Effect<boolean>
  /** True while `id` is supervised (running, starting, or waiting for a restart). */
  readonly has: (id: string) => boolean
  /** Ids of the children being supervised (running, or waiting for a restart). */
  readonly children: Effect.Effect<ReadonlyArray<string>>
  /** Never succeeds; fails with {@link SupervisorEscalation} once intensity is exceeded. */
  readonly await: Effect.Effect<never, SupervisorEscalation>
}

/**
 * Makes a dynamic (simple_one_for_one) supervisor in the current Scope. Closing that Scope
 * stops every child, in parallel as OTP does for simple_one_for_one. Throws
 * `InvalidOptionError` for bad intensity or backoff options.
 *
 * @example
 * ```ts
 * Effect.scoped(Effect.gen(function*() {
 *   const sup = yield* makeDynamic({ id: "pool" })
 *   yield* sup.startChild("w1", { start: startWorker, restart: "permanent" })
 * }))
 * ```
 */
export const makeDynamic = Effect.fnUntraced(function*<E>(options: DynamicOptions) {
  const intensityOptions = options.intensity ?? DEFAULT_INTENSITY
  const intensity = yield* makeIntensity(intensityOptions)
  const backoff = resolveBackoff(options.backoff ?? DEFAULT_BACKOFF)
  // Touched only by the controller fiber, startChild and terminateChild, which never yield
  // between reading and writing a slot; map order is start order.
  const slots = new Map<string, Slot<E, never> & { readonly restart: RestartType }>()
  const events = yield* Queue.unbounded<ExitEvent>()
  const watchers = yield* FiberMap.make<string>()
  const restarts = yield* FiberMap.make<string>()
  const escalated = yield* Deferred.make<never, SupervisorEscalation>()

  const { start: startSlot, stop: stopSlot, restart: restartSlot } = slotOps<E, never>(watchers, events)

  // Once it escalated or its Scope closed, the supervisor starts nothing more.
  let stopped = false
  const stopAll = Effect.suspend(() => {
    stopped = true
    const all = [...slots.values()]
    slots.clear()
    return Effect.forEach(all, (slot) => Effect.andThen(FiberMap.remove(restarts, slot.id), stopSlot(slot)), { concurrency: "unbounded", discard: true })
  })

  const restart = (slot: Slot<E, never>, delayMs: number) => Effect.andThen(Effect.sleep(delayMs), restartSlot(slot))

  const handle = Effect.fnUntraced(function*(event: ExitEvent) {
    const slot = slots.get(event.id)
    if (slot === undefined || slot.generation !== event.generation) return
    const uptime = (yield* Clock.currentTimeMillis) - slot.startedAt
    const stoppedAs = slot.generation + 1
    yield* stopSlot(slot)
    // Releasing the dead incarnation can take a while (an ordered stop): if restartChild or
    // terminateChild acted on this child meanwhile, that decision stands and this exit is done.
    if (slots.get(slot.id) !== slot || slot.generation !== stoppedAs) return
    if (!shouldRestart(slot.restart, event.reason)) {
      slots.delete(slot.id)
      return
    }
    const verdict = yield* intensity.record
    if (verdict.exceeded) {
      yield* stopAll
      yield* Deferred.fail(escalated, escalation(options.id, verdict.restarts.length, intensityOptions, slot.id, event.reason))
      return yield* Effect.interrupt
    }
    const delayMs = yield* restartDelay(slot, event.reason, uptime, backoff)
    // Forked, so one child's backoff never delays another child's restart.
    yield* FiberMap.run(restarts, slot.id, restart(slot, delayMs))
  })

  yield* Effect.addFinalizer(() => stopAll)
  yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(events), handle)))

  const supervisor: DynamicSupervisor<E> = {
    id: options.id,
    startChild: (id, spec) =>
      Effect.suspend(() => {
        if (stopped) return Effect.interrupt
        if (slots.has(id)) return Effect.die(new Error(`supervisor ${options.id}: child ${id} already exists`))
        const slot = { ...newSlot<E, never>(id, spec.start), restart: spec.restart }
        slots.set(id, slot)
        return startSlot(slot).pipe(Effect.onError((cause) => {
          if (slots.get(id) !== slot) return Effect.void
          if (spec.onStartFailure === "restart" && !Cause.hasInterruptsOnly(cause)) {
            return Queue.offer(events, { id, generation: slot.generation, reason: startFailure(cause) })
          }
          slots.delete(id)
          return Effect.void
        }))
      }),
    restartChild: (id) =>
      Effect.suspend(() => {
        if (stopped) return Effect.succeed(false)
        const slot = slots.get(id)
        if (slot === undefined) return Effect.succeed(false)
        return FiberMap.remove(restarts, id).pipe(
          Effect.andThen(stopSlot(slot)),
          Effect.andThen(Effect.suspend(() => slots.get(id) === slot ? restartSlot(slot) : Effect.succeed(false))),
          Effect.as(true)
        )
      }),
    has: (id) => slots.has(id),
    terminateChild: (id) =>
      Effect.suspend(() => {
        const slot = slots.get(id)
        if (slot === undefined) return Effect.succeed(false)
        slots.delete(id)
        return FiberMap.remove(restarts, id).pipe(Effect.andThen(stopSlot(slot)), Effect.as(true))
      }),
    children: Effect.sync(() => [...slots.keys()]),
    await: Deferred.await(escalated)
  }
  return supervisor
})
