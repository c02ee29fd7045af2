/**
 * A generic OTP-style supervisor in Effect (public as `Supervisor` in `pyvisor/supervisor`). A
 * child is anything startable: an Effect that acquires it in a `Scope` (closing that scope stops
 * it) and hands back a {@link Child} whose `exit` completes when it ends on its own. Knows
 * nothing about Python processes.
 *
 * Exits and calls are handled one at a time (like OTP's single supervisor process), so
 * strategies never interleave. Conformance with OTP: test/fixtures/otp, docs/supervision.md.
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
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import { invalid } from "../options/kit.ts"
import { DEFAULT_BACKOFF, resolveBackoff } from "./backoff.ts"
import type { BackoffOptions } from "./backoff.ts"
import { childError, SupervisorEscalation } from "./errors.ts"
import type { SupervisorChildError } from "./errors.ts"
import { DEFAULT_INTENSITY } from "./intensity.ts"
import { makeIntensity } from "./intensity-tracker.ts"
import type { IntensityOptions } from "./intensity.ts"
import { newSlot, restartDelay, shouldRestart, slotOps } from "./slot.ts"
import type { Child, ExitEvent, ExitReason, RestartType, Slot } from "./slot.ts"

export type { Child, ExitReason, RestartType } from "./slot.ts"
export { SupervisorChildError, SupervisorEscalation } from "./errors.ts"
export type { ChildErrorReason } from "./errors.ts"
export { exitReasonOf, fromEffect, fromFiber } from "./child.ts"

/**
 * Which children are restarted when one of them must be (always in start order): the one that
 * exited (`one_for_one`), all (`one_for_all`), or it and those started after it (`rest_for_one`).
 *
 * @example
 * ```ts
 * const strategy: Strategy = "rest_for_one" // api depends on db: a db crash restarts both
 * ```
 */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one"

const STRATEGIES: ReadonlyArray<Strategy> = ["one_for_one", "one_for_all", "rest_for_one"]
const RESTART_TYPES: ReadonlyArray<RestartType> = ["permanent", "transient", "temporary"]

/**
 * How to start one child (OTP's child spec). `start` acquires the child in the Scope it is
 * given; closing that Scope is how the child is stopped.
 *
 * @example
 * ```ts
 * const spec: ChildSpec = { id: "ticker", restart: "permanent", start: fromEffect(tick.pipe(Effect.forever)) }
 * ```
 */
export interface ChildSpec<E = never, R = never> {
  readonly id: string
  readonly start: Effect.Effect<Child, E, Scope.Scope | R>
  readonly restart: RestartType
}

/**
 * Supervisor options (OTP's supervisor flags and child specs); `strategy`, `intensity` and
 * `backoff` have defaults.
 *
 * @example
 * ```ts
 * const otpLike: SupervisorOptions = { id: "app", intensity: { maxRestarts: 1, withinMs: 5_000 }, backoff: false, children: [] }
 * ```
 */
export interface SupervisorOptions<E = never, R = never> {
  readonly id: string
  /** Default `one_for_one`. */
  readonly strategy?: Strategy
  /** Started in this order; stopped in reverse. Ids must be unique. */
  readonly children: ReadonlyArray<ChildSpec<E, R>>
  /** Default 10 restarts in 60 s (OTP: 1 in 5 s). */
  readonly intensity?: IntensityOptions
  /**
   * Delay before restarting a child that was not healthy. Default 10 ms doubling to 5 s,
   * jitter 0.2, reset after 30 s. `false`: restart at once, as OTP does.
   */
  readonly backoff?: BackoffOptions | false
}

/**
 * One child as `whichChildren` reports it (OTP's `which_children`): `terminated` is a child
 * whose spec is kept but that is not running (a transient child that exited normally, or one
 * stopped by `terminateChild`); `restarting` is a child whose restart failed and is retried.
 *
 * @example
 * ```ts
 * const down = (yield* sup.whichChildren).filter((c: ChildInfo) => c.status !== "running")
 * ```
 */
export interface ChildInfo {
  readonly id: string
  readonly restart: RestartType
  readonly status: "running" | "restarting" | "terminated"
}

/**
 * OTP's `count_children`: child specs kept, and how many of them are running.
 *
 * @example
 * ```ts
 * const { specs, active } = yield* sup.countChildren
 * ```
 */
export interface ChildCounts {
  readonly specs: number
  readonly active: number
}

/**
 * A running supervisor. Its lifetime is the Scope `make` ran in. The calls are served one at a
 * time together with the children's exits, like calls to OTP's supervisor process: a call made
 * while a restart is in progress (its backoff delay included) waits for it.
 *
 * @example
 * ```ts
 * yield* sup.terminateChild("api")   // stopped, spec kept
 * yield* sup.restartChild("api")     // started again; not a crash, not counted
 * ```
 */
export interface Supervisor<E = never> {
  readonly id: string
  /** Never succeeds; fails with {@link SupervisorEscalation} when the supervisor gives up. */
  readonly await: Effect.Effect<never, SupervisorEscalation>
  /** Ids of the children currently running, in start order. */
  readonly children: Effect.Effect<ReadonlyArray<string>>
  /** Every child spec kept, in start order, with its status (OTP's `which_children`). */
  readonly whichChildren: Effect.Effect<ReadonlyArray<ChildInfo>>
  /** OTP's `count_children`. */
  readonly countChildren: Effect.Effect<ChildCounts>
  /**
   * Stops a child and keeps its spec (a temporary child's spec is dropped), as OTP's
   * `terminate_child`; a pending retry of a failed restart is cancelled. Not a crash: nothing
   * is restarted or counted, though a later group restart of a sibling starts it again (OTP
   * too). Succeeds if the child was already terminated.
   */
  readonly terminateChild: (id: string) => Effect.Effect<void, SupervisorChildError>
  /**
   * Starts a terminated child again (OTP's `restart_child`): fails with `running` or
   * `restarting` if it is not terminated, or with the child's start error (which is not retried
   * and not counted).
   */
  readonly restartChild: (id: string) => Effect.Effect<void, SupervisorChildError | E>
  /** Forgets a terminated child's spec (OTP's `delete_child`); `running`/`restarting` otherwise. */
  readonly deleteChild: (id: string) => Effect.Effect<void, SupervisorChildError>
}

/** The slots restarted with `failed`, in start order (OTP's restart sets). */
const restartSet = <S>(strategy: Strategy, slots: ReadonlyArray<S>, failed: S): ReadonlyArray<S> =>
  strategy === "one_for_one" ? [failed] : strategy === "one_for_all" ? slots : slots.slice(slots.indexOf(failed))

/** Throws `InvalidOptionError` for a bad strategy, restart type or duplicate id. */
const validate = <E, R>(options: SupervisorOptions<E, R>): void => {
  if (options.strategy !== undefined && !STRATEGIES.includes(options.strategy)) {
    throw invalid("strategy", options.strategy, `one of ${STRATEGIES.join(", ")}`)
  }
  const seen = new Set<string>()
  options.children.forEach((spec, i) => {
    if (seen.has(spec.id)) throw invalid(`children[${i}].id`, spec.id, "unique among the children")
    seen.add(spec.id)
    if (!RESTART_TYPES.includes(spec.restart)) throw invalid(`children[${i}].restart`, spec.restart, `one of ${RESTART_TYPES.join(", ")}`)
  })
}

/**
 * Starts the children in order and supervises them until the surrounding Scope closes (which
 * stops them in reverse start order). If a child fails to start initially, the ones already
 * started are stopped in reverse order and `make` fails with that child's error. Dies with
 * `InvalidOptionError` for bad options (strategy, restart types, duplicate ids, intensity,
 * backoff).
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
  validate(options)
  const strategy = options.strategy ?? "one_for_one"
  const intensityOptions = options.intensity ?? DEFAULT_INTENSITY
  const intensity = yield* makeIntensity(intensityOptions)
  const backoff = options.backoff === false ? false : resolveBackoff(options.backoff ?? DEFAULT_BACKOFF)
  // restartChild starts a child outside make: it needs the services `start` needs.
  const context: Context.Context<R> = yield* Effect.context<R>()

  // Exits and calls are handled one at a time under this lock (OTP's single supervisor
  // process), so the plain mutable state below is never seen half-updated.
  const lock = yield* Semaphore.make(1)
  const serially = lock.withPermits(1)
  const specs = new Map(options.children.map((spec) => [spec.id, spec]))
  const restartOf = (slot: Slot<E, R>): RestartType => specs.get(slot.id)!.restart
  let slots: Array<Slot<E, R>> = options.children.map((spec) => newSlot(spec.id, spec.start))
  // Children whose restart failed, waiting for the retry their failure event triggers.
  const restarting = new Set<string>()
  // False once the supervisor gave up or its Scope closed: calls are refused from then on.
  let running = true
  const events = yield* Queue.unbounded<ExitEvent>()
  const watchers = yield* FiberMap.make<string>()

  const { start: startSlot, stop: stopSlot, restart: restartSlot } = slotOps<E, R>(watchers, events)
  const stopAll = Effect.suspend(() => {
    running = false
    return Effect.forEach([...slots].reverse(), stopSlot, { discard: true })
  })
  const drop = (slot: Slot<E, R>) => {
    slots = slots.filter((s) => s !== slot)
  }

  /** Starts the group again in start order, skipping children terminated meanwhile. */
  const restartGroup = Effect.fnUntraced(function*(group: ReadonlyArray<Slot<E, R>>) {
    for (const [i, s] of group.entries()) {
      if (!restarting.delete(s.id)) continue
      // A failed start is queued as an exit of `s`: its retry restarts `s`'s own group, which
      // covers the rest of this one (OTP's try_again). Until then only `s` is `restarting`.
      if (!(yield* restartSlot(s))) {
        restarting.add(s.id)
        for (const rest of group.slice(i + 1)) restarting.delete(rest.id)
        return
      }
    }
  })

  /**
   * Handles one exit. Returns the group to restart after a backoff delay, if there is one: the
   * controller sleeps without the lock, so calls are served meanwhile and see the group as
   * `restarting`. Without a delay the group is restarted here, at once, as in OTP.
   */
  const handle = Effect.fnUntraced(function*(event: ExitEvent) {
    const slot = slots.find((s) => s.id === event.id)
    if (slot === undefined || slot.generation !== event.generation) return undefined
    restarting.delete(slot.id)
    const uptime = (yield* Clock.currentTimeMillis) - slot.startedAt
    // The child is already gone; closing its scope releases whatever it still held.
    yield* stopSlot(slot)
    if (!shouldRestart(restartOf(slot), event.reason)) {
      if (restartOf(slot) === "temporary") drop(slot)
      return undefined
    }
    const verdict = yield* intensity.record
    if (verdict.exceeded) {
      yield* stopAll
      slots = []
      return yield* new SupervisorEscalation({
        message: `supervisor ${options.id}: ${verdict.restarts.length} restarts within ${intensityOptions.withinMs} ms (max ${intensityOptions.maxRestarts}); last: child ${slot.id}: ${event.reason.reason}`,
        supervisorId: options.id,
        restarts: verdict.restarts.length,
        withinMs: intensityOptions.withinMs,
        childId: slot.id,
        lastReason: event.reason
      })
    }
    const stopped = restartSet(strategy, slots, slot)
    yield* Effect.forEach([...stopped].reverse(), stopSlot, { discard: true })
    // Temporary siblings are stopped but never restarted (OTP drops them too).
    slots = slots.filter((s) => s === slot || restartOf(s) !== "temporary" || !stopped.includes(s))
    const group = stopped.filter((s) => slots.includes(s))
    for (const s of group) restarting.add(s.id)
    const delayMs = backoff === false ? 0 : yield* restartDelay(slot, event.reason, uptime, backoff)
    if (delayMs > 0) return { group, delayMs }
    yield* restartGroup(group)
    return undefined
  })
  const controller = Effect.flatMap(Queue.take(events), (event) =>
    Effect.flatMap(serially(handle(event)), (pending) =>
      pending === undefined ? Effect.void : Effect.andThen(Effect.sleep(pending.delayMs), serially(restartGroup(pending.group)))))

  /** Runs `f` on child `id` under the lock, or refuses with not_found / stopped. */
  const call = <A, E2>(id: string, f: (slot: Slot<E, R>) => Effect.Effect<A, E2 | SupervisorChildError>) =>
    serially(Effect.suspend(() => {
      if (!running) return Effect.fail(childError(options.id, id, "stopped"))
      const slot = slots.find((s) => s.id === id)
      return slot === undefined ? Effect.fail(childError(options.id, id, "not_found")) : f(slot)
    }))
  /** Refuses unless the child is terminated (spec kept, not running, no retry pending). */
  const terminated = (slot: Slot<E, R>): Effect.Effect<void, SupervisorChildError> =>
    slot.scope !== undefined
      ? Effect.fail(childError(options.id, slot.id, "running"))
      : restarting.has(slot.id) ? Effect.fail(childError(options.id, slot.id, "restarting")) : Effect.void
  const statusOf = (slot: Slot<E, R>): ChildInfo["status"] =>
    slot.scope !== undefined ? "running" : restarting.has(slot.id) ? "restarting" : "terminated"

  // Registered before anything starts: finalizers run in reverse, so on close the controller
  // is interrupted first (it is forked last), then the children stop in reverse start order.
  // Under the lock, so a call in progress (a restartChild starting a child) finishes first.
  yield* Effect.addFinalizer(() => serially(stopAll))
  for (const slot of slots) {
    yield* startSlot(slot).pipe(Effect.onError(() => stopAll))
  }
  const controllerFiber = yield* Effect.forkScoped(Effect.forever(controller))

  const supervisor: Supervisor<E> = {
    id: options.id,
    await: Fiber.join(controllerFiber),
    children: Effect.sync(() => slots.filter((s) => s.scope !== undefined).map((s) => s.id)),
    whichChildren: serially(Effect.sync(() => slots.map((s) => ({ id: s.id, restart: restartOf(s), status: statusOf(s) })))),
    countChildren: serially(Effect.sync(() => ({ specs: slots.length, active: slots.filter((s) => s.scope !== undefined).length }))),
    terminateChild: (id) =>
      call(id, (slot) =>
        Effect.map(stopSlot(slot), () => {
          restarting.delete(id)
          if (restartOf(slot) === "temporary") drop(slot)
        })),
    restartChild: (id) =>
      call(id, (slot) => Effect.andThen(terminated(slot), Effect.provideContext(startSlot(slot), context))),
    deleteChild: (id) =>
      call(id, (slot) => Effect.map(terminated(slot), () => drop(slot)))
  }
  return supervisor
})

/**
 * Wraps a supervisor as a child of another supervisor: its escalation becomes an abnormal
 * exit of the child, so the parent applies its own strategy, as nested OTP supervisors do.
 *
 * @example
 * ```ts
 * const root = yield* make({ id: "root", children: [asChild({ id: "workers", children: workerSpecs }), apiSpec] })
 * ```
 */
export const asChild = <E, R>(options: SupervisorOptions<E, R>, restart: RestartType = "permanent"): ChildSpec<E, R> => ({
  id: options.id,
  restart,
  start: Effect.map(make(options), (sup): Child => ({
    exit: Effect.catch(sup.await, (e) => Effect.succeed<ExitReason>({ normal: false, reason: e.message }))
  }))
})
