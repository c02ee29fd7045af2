/**
 * A generic OTP-style supervisor in Effect. A child is anything startable: an Effect that
 * acquires it in a `Scope` (closing that scope stops it) and hands back a {@link Child} whose
 * `exit` completes when it ends on its own. Knows nothing about Python processes.
 *
 * All restart decisions run on one controller fiber, one exit at a time (like OTP's single
 * supervisor process), so strategies never interleave. See docs/supervision.md.
 *
 * @example
 * ```ts
 * const sup = yield* Supervisor.make({
 *   id: "app",
 *   strategy: "rest_for_one",
 *   children: [{ id: "db", start: startDb, restart: "permanent" }, { id: "api", start: startApi, restart: "permanent" }]
 * })
 * yield* sup.await // fails with SupervisorEscalation when restart intensity is exceeded
 * ```
 * @module
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { DEFAULT_BACKOFF, resolveBackoff } from "./backoff.ts"
import type { BackoffOptions } from "./backoff.ts"
import { DEFAULT_INTENSITY } from "./intensity.ts"
import { makeIntensity } from "./intensity-tracker.ts"
import type { IntensityOptions } from "./intensity.ts"
import { newSlot, restartDelay, slotOps } from "./slot.ts"
import type { Child, ExitEvent, ExitReason, RestartType, Slot } from "./slot.ts"

export type { Child, ExitReason, RestartType } from "./slot.ts"

/** Which children are restarted when one of them must be (always in start order). */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one"

/** How to start one child. `start` acquires the child in the Scope it is given. */
export interface ChildSpec<E = never, R = never> {
  readonly id: string
  readonly start: Effect.Effect<Child, E, Scope.Scope | R>
  readonly restart: RestartType
}

/** Supervisor options; `strategy`, `intensity` and `backoff` have defaults. */
export interface SupervisorOptions<E = never, R = never> {
  readonly id: string
  /** Default `one_for_one`. */
  readonly strategy?: Strategy
  /** Started in this order; stopped in reverse. Ids must be unique. */
  readonly children: ReadonlyArray<ChildSpec<E, R>>
  /** Default 10 restarts in 60 s. */
  readonly intensity?: IntensityOptions
  /** Default 10 ms doubling to 5 s, jitter 0.2, reset after 30 s. */
  readonly backoff?: BackoffOptions
}

/**
 * Restart intensity was exceeded: every child has been stopped (reverse start order) and the
 * supervisor gave up. A parent supervisor (or the pool) decides what happens next.
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

/** A running supervisor. Its lifetime is the Scope `make` ran in. */
export interface Supervisor {
  readonly id: string
  /** Never succeeds; fails with {@link SupervisorEscalation} when the supervisor gives up. */
  readonly await: Effect.Effect<never, SupervisorEscalation>
  /** Ids of the children currently running, in start order. */
  readonly children: Effect.Effect<ReadonlyArray<string>>
}

/** @internal OTP's rule: does a child of this restart type come back after this exit? */
export const shouldRestart = (type: RestartType, reason: ExitReason): boolean =>
  type === "permanent" || (type === "transient" && !reason.normal)

/** The slots restarted with `failed`, in start order (OTP's restart sets). */
const restartSet = <S>(strategy: Strategy, slots: ReadonlyArray<S>, failed: S): ReadonlyArray<S> =>
  strategy === "one_for_one" ? [failed] : strategy === "one_for_all" ? slots : slots.slice(slots.indexOf(failed))

/**
 * Starts the children in order and supervises them until the surrounding Scope closes (which
 * stops them in reverse start order). If a child fails to start initially, the ones already
 * started are stopped in reverse order and `make` fails with that child's error. Throws
 * `InvalidOptionError` for bad intensity/backoff options.
 *
 * @example
 * ```ts
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const sup = yield* make({ id: "root", children: [{ id: "a", start: startA, restart: "permanent" }] })
 *   return yield* sup.await
 * }))
 * ```
 */
export const make = Effect.fnUntraced(function*<E, R>(options: SupervisorOptions<E, R>) {
  const strategy = options.strategy ?? "one_for_one"
  const intensityOptions = options.intensity ?? DEFAULT_INTENSITY
  const intensity = yield* makeIntensity(intensityOptions)
  const backoff = resolveBackoff(options.backoff ?? DEFAULT_BACKOFF)
  const ids = new Set(options.children.map((spec) => spec.id))
  if (ids.size !== options.children.length) {
    return yield* Effect.die(new Error(`supervisor ${options.id}: child ids must be unique`))
  }

  // Mutated only by the controller fiber (and by the finalizer, after the controller is
  // interrupted), so plain mutable state is safe and keeps start order explicit.
  const specs = new Map(options.children.map((spec) => [spec.id, spec]))
  const restartOf = (slot: Slot<E, R>): RestartType => specs.get(slot.id)!.restart
  let slots: Array<Slot<E, R>> = options.children.map((spec) => newSlot(spec.id, spec.start))
  const events = yield* Queue.unbounded<ExitEvent>()
  const watchers = yield* FiberMap.make<string>()

  const { start: startSlot, stop: stopSlot, restart: restartSlot } = slotOps<E, R>(watchers, events)
  const stopAll = Effect.suspend(() => Effect.forEach([...slots].reverse(), stopSlot, { discard: true }))

  const handle = Effect.fnUntraced(function*(event: ExitEvent) {
    const slot = slots.find((s) => s.id === event.id)
    if (slot === undefined || slot.generation !== event.generation) return
    const uptime = (yield* Clock.currentTimeMillis) - slot.startedAt
    // The child is already gone; closing its scope releases whatever it still held.
    yield* stopSlot(slot)
    if (!shouldRestart(restartOf(slot), event.reason)) {
      if (restartOf(slot) === "temporary") slots = slots.filter((s) => s !== slot)
      return
    }
    const verdict = yield* intensity.record
    if (verdict.exceeded) {
      yield* stopAll
      return yield* new SupervisorEscalation({
        message: `supervisor ${options.id}: ${verdict.restarts.length} restarts within ${intensityOptions.withinMs} ms (max ${intensityOptions.maxRestarts}); last: child ${slot.id}: ${event.reason.reason}`,
        supervisorId: options.id,
        restarts: verdict.restarts.length,
        withinMs: intensityOptions.withinMs,
        childId: slot.id,
        lastReason: event.reason
      })
    }
    const group = restartSet(strategy, slots, slot)
    yield* Effect.forEach([...group].reverse(), stopSlot, { discard: true })
    // Temporary siblings are stopped but never restarted (OTP drops them too).
    slots = slots.filter((s) => s === slot || restartOf(s) !== "temporary" || !group.includes(s))
    yield* Effect.sleep(yield* restartDelay(slot, event.reason, uptime, backoff))
    for (const s of group) {
      if (restartOf(s) === "temporary") continue
      if (!(yield* restartSlot(s))) break
    }
  })

  // Registered before anything starts: finalizers run in reverse, so on close the controller
  // is interrupted first (it is forked last), then the children stop in reverse start order.
  yield* Effect.addFinalizer(() => stopAll)
  for (const slot of slots) {
    yield* startSlot(slot).pipe(Effect.onError(() => stopAll))
  }
  const controller = yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(events), handle)))

  const supervisor: Supervisor = {
    id: options.id,
    await: Fiber.join(controller),
    children: Effect.sync(() => slots.filter((s) => s.scope !== undefined).map((s) => s.id))
  }
  return supervisor
})

/**
 * Wraps a supervisor as a child of another supervisor: its escalation becomes an abnormal
 * exit of the child, so the parent applies its own strategy, as nested OTP supervisors do.
 *
 * @example
 * ```ts
 * const root = yield* make({ id: "root", children: [asChild({ id: "workers", children: workerSpecs })] })
 * ```
 */
export const asChild = <E, R>(options: SupervisorOptions<E, R>, restart: RestartType = "permanent"): ChildSpec<E, R> => ({
  id: options.id,
  restart,
  start: Effect.map(make(options), (sup): Child => ({
    exit: Effect.catch(sup.await, (e) => Effect.succeed<ExitReason>({ normal: false, reason: e.message }))
  }))
})
