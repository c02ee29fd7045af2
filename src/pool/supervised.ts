/**
 * The pool's workers as children of a dynamic (simple_one_for_one) supervisor: the pool says
 * which slots should run, the supervisor owns restarts, backoff and restart intensity. A child
 * is one worker incarnation: spawned, ready within the init timeout, stopped in order on release.
 * @internal
 */
import { Effect, Exit, Fiber, Scope } from "effect"
import type { WorkerActor, WorkerActorEvent } from "../actors/worker-actor.ts"
import { actorHeartbeat, heartbeat } from "../supervisors/heartbeat.ts"
import { awaitReady, stopWorker } from "../supervisors/lifecycle.ts"
import type { StopPolicy } from "../supervisors/lifecycle.ts"
import { makeDynamic } from "../supervisors/dynamic.ts"
import type { DynamicSupervisor } from "../supervisors/dynamic.ts"
import type { Child, ExitReason, SupervisorEscalation } from "../supervisors/supervisor.ts"
import type { ResolvedOptions } from "./options.ts"
import type { Slot, Slots } from "./slots.ts"

/** @internal */
export class SupervisedWorkers {
  readonly #o: ResolvedOptions
  readonly #slots: Slots
  readonly #onEvent: (slot: Slot, actor: WorkerActor, event: WorkerActorEvent) => void
  readonly #scope: Scope.Closeable
  readonly #sup: DynamicSupervisor<unknown>
  readonly #watch: Fiber.Fiber<never, SupervisorEscalation>
  #seq = 0
  /** Policy used when a child is released; `close` may shorten the grace. */
  #stopPolicy: StopPolicy

  constructor(
    options: ResolvedOptions,
    slots: Slots,
    onEvent: (slot: Slot, actor: WorkerActor, event: WorkerActorEvent) => void,
    onEscalation: (error: SupervisorEscalation) => void
  ) {
    this.#o = options
    this.#slots = slots
    this.#onEvent = onEvent
    this.#stopPolicy = options.shutdown
    this.#scope = Effect.runSync(Scope.make())
    this.#sup = Effect.runSync(Scope.provide(makeDynamic<unknown>({ id: "pool", ...options.restart }), this.#scope))
    this.#watch = Effect.runFork(this.#sup.await)
    this.#watch.addObserver((exit) => {
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons.find((r) => r._tag === "Fail")
        if (error) onEscalation(error.error)
      }
    })
  }

  /** Runs `slot` under the supervisor; rejects with the start error (not retried) if it never gets ready. */
  start(slot: Slot): Promise<void> {
    const childId = `${slot.id}#${++this.#seq}`
    slot.childId = childId
    return Effect.runPromise(this.#sup.startChild(childId, {
      start: this.#incarnation(slot),
      restart: slot.overflow ? "temporary" : "permanent"
    })).catch((error: unknown) => {
      if (slot.childId === childId) slot.childId = null
      throw error
    })
  }

  /** True while the supervisor owns `slot` (running, starting or waiting out a backoff). */
  supervises(slot: Slot): boolean {
    return slot.childId !== null
  }

  /** Stops `slot`'s worker for good (no restart); resolves once its process is gone. */
  retire(slot: Slot): Promise<void> {
    const childId = slot.childId
    slot.childId = null
    return childId === null ? Promise.resolve() : Effect.runPromise(Effect.asVoid(this.#sup.terminateChild(childId)))
  }

  /** Stops every worker (in parallel) with `policy`; nothing is restarted afterwards. */
  close(policy: StopPolicy): Promise<void> {
    this.#stopPolicy = policy
    for (const slot of this.#slots.all) slot.childId = null
    return Effect.runPromise(Effect.andThen(Fiber.interrupt(this.#watch), Scope.close(this.#scope, Exit.void)))
  }

  #incarnation(slot: Slot): Effect.Effect<Child, unknown, Scope.Scope> {
    return Effect.suspend(() => {
      // The crash error of this incarnation, captured from its exit event for the supervisor.
      let crash: Error | null = null
      const onEvent = (actor: WorkerActor, event: WorkerActorEvent): void => {
        if (event.type === "exit") crash = event.error
        this.#onEvent(slot, actor, event)
      }
      const whenReady = (actor: WorkerActor): Promise<void> =>
        Effect.runPromise(Effect.asVoid(awaitReady(actor, this.#o.initTimeoutMs)))
      return Effect.acquireRelease(
        Effect.tryPromise({ try: () => this.#slots.start(slot, this.#o.spec, onEvent, whenReady), catch: (error) => error }),
        (actor) => Effect.suspend(() => stopWorker(actor, this.#stopPolicy))
      ).pipe(
        // In the incarnation's scope: stopping or losing the worker interrupts its heartbeat.
        Effect.tap((actor) => this.#o.heartbeat ? Effect.forkScoped(heartbeat(actorHeartbeat(actor), this.#o.heartbeat)) : Effect.void),
        Effect.map((actor): Child => ({
          exit: Effect.map(Effect.promise(() => actor.exited), (): ExitReason =>
            crash === null ? { normal: true, reason: "stopped" } : { normal: false, reason: crash.message, cause: crash })
        }))
      )
    })
  }
}
