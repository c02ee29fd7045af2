/**
 * Builds a pool inside one Effect scope tree: the pool's scope owns the supervisor, which owns
 * one scope per worker incarnation, which owns that worker's process, init timer and heartbeat.
 * Closing the pool's scope (`pool.close()`, or the enclosing layer's release) stops everything in
 * order: no new calls, workers drained and stopped, the owned store closed.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import type * as Fiber from "effect/Fiber"
import { poolWorkers } from "../actors/forkserver/supervision.ts"
import { incarnation } from "../actors/incarnation.ts"
import type { StopPolicy } from "../actors/incarnation.ts"
import { loadSpawner } from "../actors/python-process.ts"
import { resolvedSpec, resolvePython } from "../actors/resolve-python.ts"
import type { PythonResolution } from "../actors/resolve-python.ts"
import { InvalidOptionError } from "../errors.ts"
import type { ProtocolError, WorkerCrashedError } from "../errors.ts"
import { memoryStore } from "../store/index.ts"
import type { ResolvedTelemetry } from "../telemetry/options.ts"
import type { PoolTelemetry } from "../telemetry/types.ts"
import { Capacity } from "./capacity.ts"
import { hostRouter } from "./host-router.ts"
import { resolveOptions } from "./options.ts"
import type { PoolOptions } from "./options.ts"
import { Pool } from "./pool.ts"
import { Slots } from "./slots.ts"
import { clockAfter, clockNow } from "./timers.ts"
import type { Slot } from "./slots.ts"

/**
 * Imports the telemetry modules (and with them `@opentelemetry/api`) only for a pool that asks:
 * without the optional peer installed, that pool fails to start with a message saying so.
 */
const loadTelemetry = (o: ResolvedTelemetry, python: string): Effect.Effect<PoolTelemetry, InvalidOptionError> =>
  Effect.tryPromise({
    try: async () => (await import("../telemetry/index.ts")).startTelemetry(o, python),
    catch: (error) => new InvalidOptionError({
      message: `telemetry needs the optional peer dependency @opentelemetry/api (npm install @opentelemetry/api): ${(error as Error).message}`,
      option: "telemetry",
      value: o
    })
  })

/** The interpreter as given, not looked up (`why` says so in the snapshot). */
const unresolved = (python: string, why: string): Promise<PythonResolution> =>
  Promise.resolve({ requested: python, executable: python, env: {}, unresolved: why })

/** Why a pool could not start: bad options, or a worker that could not start. */
export type PoolStartError = InvalidOptionError | WorkerCrashedError | ProtocolError

/**
 * Builds and starts a pool whose lifetime is `scope`: closing it stops every process. Eager
 * pools succeed once every permanent worker is ready; lazy ones at once.
 * @internal use `createPool` or `PythonPool.layer`
 */
export const makePoolIn = (options: PoolOptions, scope: Scope.Closeable): Effect.Effect<Pool, PoolStartError> =>
  Effect.gen(function*() {
    const o = yield* Effect.try({ try: () => resolveOptions(options), catch: (error) => error as InvalidOptionError })
    // A spawner of the user's (pyvisor/testing's fakeWorker…) runs no interpreter: nothing to load or ask.
    const spawnsPython = o.spawner === undefined
    const [, python] = yield* Effect.promise(() => Promise.all([
      spawnsPython ? loadSpawner() : undefined,
      spawnsPython && o.resolvePython
        ? resolvePython(o.spec)
        : unresolved(o.spec.python ?? "python3", spawnsPython ? "worker.resolvePython is false" : "a spawner of the user's starts the workers")
    ]))
    const spec = resolvedSpec(o.spec, python)
    const telemetry = o.telemetry === undefined ? undefined : yield* loadTelemetry(o.telemetry, spec.python ?? "python3")
    const services = yield* Effect.context<never>()
    // Made first, so it closes last: call deadlines and cancel grace still run while workers stop.
    const after = clockAfter(services, yield* Scope.provide(FiberSet.runtime(yield* Scope.provide(FiberSet.make(), scope))<never>(), scope))
    const now = clockNow(services)
    const store = o.store ?? memoryStore()
    // An overflow worker idle for idleTimeoutMs is retired (capacity is made below; the deadline fires later).
    const slots = new Slots(o.size, (slot) => after(o.idleTimeoutMs, () => capacity.retireIdle(slot)))
    let stopPolicy: StopPolicy = o.shutdown
    const pool = new Pool({
      options: o,
      python,
      slots,
      store,
      closeScope: () => Effect.runPromiseWith(services)(Scope.close(scope, Exit.void)),
      setGrace: (graceMs) => (stopPolicy = { ...stopPolicy, graceMs }),
      after,
      now,
      telemetry
    })
    // Finalizers run in reverse: this one last, once every worker is gone.
    yield* Scope.addFinalizer(scope, Effect.promise(async () => {
      if (o.store === undefined) await store.close()
      pool.endClose()
    }))
    // With worker.startMethod "forkserver", the workers' supervisor sits under the zygote's (rest_for_one).
    const workers = yield* Scope.provide(poolWorkers(spawnsPython ? o.startMethod : "spawn", {
      spec,
      restart: o.restart,
      readyTimeoutMs: o.initTimeoutMs,
      killAfterMs: () => stopPolicy.killAfterMs,
      onLog: (pid, stream, level, line) => pool.workerEvent({ type: "log", workerId: "zygote", pid, stream, level, line })
    }), scope)
    const supervisor = workers.supervisor
    const tasks = yield* Scope.provide(FiberSet.make(), scope)
    const run = (yield* Scope.provide(FiberSet.runtime(tasks)<never>(), scope)) as <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
    const starts = yield* Semaphore.make(o.startConcurrency)
    const onHostCall = hostRouter(store, o.hostHandlers, (workerId, callId, ms) => pool.programDeadline(workerId, callId, ms))
    const incarnationOf = (slot: Slot) => incarnation({
      workerId: slot.id,
      spec,
      initTimeoutMs: o.initTimeoutMs,
      concurrency: o.spec.concurrency ?? 1,
      prefetch: o.spec.prefetch ?? 0,
      starts,
      heartbeat: o.heartbeat,
      stopPolicy: () => stopPolicy,
      onHostCall,
      // A spawner of the user's starts every worker itself, whatever worker.startMethod says.
      spawn: o.spawner ?? workers.spawn,
      onCreate: (worker) => {
        pool.adopt(slot, worker)
        telemetry?.workerCreated(slot.id)
      },
      ...(pool.inspected === undefined ? {} : { inspectParent: pool.inspected }),
      hooks: {
        event: (_, event) => pool.workerEvent(event),
        activity: (worker, active) => pool.workerActivity(slot, worker, active),
        ready: (worker) => pool.workerReady(slot, worker),
        room: (worker, hasRoom) => pool.workerRoom(slot, worker, hasRoom),
        withdraw: (worker) => pool.workerWithdrawn(slot, worker, worker.state === "draining" ? "was recycled" : "died"),
        exit: (worker, report) => pool.workerExited(slot, worker, report)
      }
    })
    const capacity = new Capacity({
      options: o, slots, supervisor, run, incarnation: incarnationOf,
      queued: () => pool.queued,
      open: () => pool.isOpen,
      emit: (name, event) => pool.emit(name, event),
      now
    })
    pool.attach(capacity)
    yield* Scope.provide(workers.start(capacity.startPermanent("lazy"), o.lazy), scope)
    if (telemetry !== undefined) {
      const detach = telemetry.attach({
        on: (event, listener) => pool.on(event, listener as never),
        workerStates: () => slots.all.map((s) => s.worker?.state ?? "none"),
        queued: () => pool.queued
      })
      // Runs after every worker is gone (finalizers run in reverse): their exits are counted first.
      yield* Scope.addFinalizer(scope, Effect.sync(detach))
    }
    run(Effect.catch(supervisor.await, (escalation) => Effect.sync(() => pool.fail(escalation))))
    // Registered last, so it runs first on close: refuse new calls before any worker stops.
    yield* Scope.addFinalizer(scope, Effect.sync(() => pool.beginClose()))
    if (!o.lazy) yield* Effect.mapError(capacity.startPermanent("eager"), (error) => error as WorkerCrashedError | ProtocolError)
    return pool
  }).pipe(Effect.onError(() => Scope.close(scope, Exit.void)))

/**
 * {@link makePoolIn} in a child of the current scope.
 *
 * @example
 * ```ts
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const pool = yield* makePool({ worker: { module: "my_workers" }, size: 2 })
 *   return yield* Effect.promise(() => pool.call("add", { a: 1, b: 2 }))
 * }))
 * ```
 */
export const makePool = (options: PoolOptions): Effect.Effect<Pool, PoolStartError, Scope.Scope> =>
  Effect.flatMap(Effect.flatMap(Effect.scope, (parent) => Scope.fork(parent)), (scope) => makePoolIn(options, scope))
