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
import * as Semaphore from "effect/Semaphore"
import { DEFAULT_BACKOFF, resolveBackoff } from "./backoff.ts"
import { childError, escalation } from "./errors.ts"
import type { SupervisorChildError } from "./errors.ts"
import { DEFAULT_INTENSITY } from "./intensity.ts"
import { makeIntensity } from "./intensity-tracker.ts"
import { newSlot, restartDelay, shouldRestart, slotOps } from "./slot.ts"
import type { Child, ExitEvent, ExitReason, RestartType, Slot } from "./slot.ts"
import { validate } from "./supervisor-spec.ts"
import type { ChildInfo, ChildSpec, Strategy, Supervisor, SupervisorOptions } from "./supervisor-spec.ts"

export type { Child, ExitReason, RestartType } from "./slot.ts"
export { SupervisorChildError, SupervisorEscalation } from "./errors.ts"
export type { ChildErrorReason } from "./errors.ts"
export { exitReasonOf, fromEffect, fromFiber } from "./child.ts"
export type { ChildCounts, ChildInfo, ChildSpec, Strategy, Supervisor, SupervisorOptions } from "./supervisor-spec.ts"

/** The slots restarted with `failed`, in start order (OTP's restart sets). */
const restartSet = <S>(strategy: Strategy, slots: ReadonlyArray<S>, failed: S): ReadonlyArray<S> =>
  strategy === "one_for_one" ? [failed] : strategy === "one_for_all" ? slots : slots.slice(slots.indexOf(failed))

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
  // Children stopped for a restart that has not happened yet: a group waiting out its backoff
  // delay, or a child whose restart failed, waiting for the retry its failure event triggers.
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
      return yield* escalation(options.id, verdict.restarts.length, intensityOptions, slot.id, event.reason)
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
