/**
 * The fork-server's supervision tree, built from the generic supervisors:
 *
 * ```
 * forkserver (Supervisor, rest_for_one, the pool's restart intensity and backoff)
 * ├─ zygote    the zygote process (permanent)
 * └─ workers   the pool's dynamic supervisor (permanent), one child per worker slot
 * ```
 *
 * A zygote that dies takes its workers with it (their PDEATHSIG); rest_for_one then stops the
 * workers' supervisor, restarts the zygote (counted once, with backoff) and starts a new workers'
 * supervisor, which brings the permanent workers back. The pool keeps one stable handle on "the
 * workers' supervisor" ({@link CurrentDynamic}), whichever incarnation of it runs.
 *
 * The exit of a worker whose zygote died is the tree's to handle, not the workers' supervisor's:
 * that supervisor never hears it (the child's `exit` never completes), so a zygote crash costs one
 * restart of the tree's intensity, not one per worker, whatever the order the exits arrive in. The
 * worker itself still ends at once: its calls in flight fail or are requeued as for any crash.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import type { ProtocolError, WorkerCrashedError } from "../../errors.ts"
import { makeDynamic } from "../../supervisors/dynamic.ts"
import type { DynamicChildSpec, DynamicOptions, DynamicSupervisor } from "../../supervisors/dynamic.ts"
import { make as makeSupervisor } from "../../supervisors/supervisor.ts"
import { SupervisorEscalation } from "../../supervisors/supervisor.ts"
import type { Child } from "../../supervisors/supervisor.ts"
import type { ProcessSpec, SpawnedProcess } from "../python-process.ts"
import { ForkedProcess } from "./forked.ts"
import { zygoteResource } from "./zygote.ts"
import type { Zygote, ZygoteReady } from "./zygote.ts"

/**
 * How workers start: a new interpreter each (`spawn`), or forked from a preloaded zygote.
 *
 * @example
 * ```ts
 * const method: StartMethod = forkAvailable() ? "forkserver" : "spawn"
 * ```
 */
export type StartMethod = "spawn" | "forkserver"

/**
 * Whether this platform can fork a Python process safely (POSIX fork; not Windows).
 *
 * @example
 * ```ts
 * forkAvailable("linux") // true
 * forkAvailable("win32") // false
 * ```
 */
export const forkAvailable = (platform: NodeJS.Platform = process.platform): boolean => platform === "linux" || platform === "darwin"

/** A lazy pool's zygote that did not start: the pool gives up on it, as createPool would. */
const notStarted = (error: unknown): SupervisorEscalation => {
  const message = error instanceof Error ? error.message : String(error)
  return new SupervisorEscalation({
    message: `supervisor forkserver: the zygote did not start: ${message}`,
    supervisorId: "forkserver",
    restarts: 0,
    withinMs: 0,
    childId: "zygote",
    lastReason: { normal: false, reason: message, cause: error }
  })
}

/**
 * Wraps a child's start; see {@link CurrentDynamic.make}.
 *
 * @example
 * ```ts
 * const guard: ChildGuard = (start) => Effect.tap(start, () => Effect.log("started"))
 * ```
 */
export type ChildGuard = <E>(start: Effect.Effect<Child, E, Scope.Scope>) => Effect.Effect<Child, E, Scope.Scope>

/**
 * The workers' supervisor as the pool sees it: the running incarnation of it, whichever that is.
 * Between a zygote's death and its restart there is none: starts fail (and are retried by the new
 * supervisor once the zygote is back), nothing is supervised. `await` fails when the workers'
 * supervisor or the tree above it gives up.
 *
 * @example
 * ```ts
 * const workers = yield* CurrentDynamic.make("pool")
 * workers.current = yield* makeDynamic({ id: "pool" })
 * ```
 */
export class CurrentDynamic implements DynamicSupervisor<unknown> {
  readonly id: string
  current: DynamicSupervisor<unknown> | undefined = undefined
  /** A child was started once: after a zygote restart, the permanent workers come back. */
  started = false
  /** A lazy pool's tree, not started yet: the first child's start starts it (see {@link deferStart}). */
  #pending: Effect.Effect<void, unknown> | undefined = undefined
  readonly #escalated: Deferred.Deferred<never, SupervisorEscalation>
  readonly #guard: ChildGuard

  private constructor(id: string, escalated: Deferred.Deferred<never, SupervisorEscalation>, guard: ChildGuard) {
    this.id = id
    this.#escalated = escalated
    this.#guard = guard
  }

  /** `guard` wraps every child's start (and so every restart of it too). */
  static make(id: string, guard: ChildGuard = (start) => start): Effect.Effect<CurrentDynamic> {
    return Effect.map(Deferred.make<never, SupervisorEscalation>(), (d) => new CurrentDynamic(id, d, guard))
  }

  /**
   * Leaves `start` (the tree: zygote, then workers' supervisor) for the first child's start, which
   * waits for it. It runs once, in `scope` (not in the fiber that asked, so no caller's interruption
   * can abandon it halfway); every start meanwhile waits for that one. A failed start is the
   * pool's failure, as it fails `createPool` for an eager pool: the calls waiting for it are not
   * left waiting for a zygote that will not come.
   */
  deferStart(start: Effect.Effect<void, unknown, Scope.Scope>, scope: Scope.Scope): void {
    let done: Deferred.Deferred<void, unknown> | undefined
    this.#pending = Effect.uninterruptibleMask((restore) => Effect.suspend(() => {
      if (done === undefined) {
        done = Deferred.makeUnsafe<void, unknown>()
        const failed = (error: unknown) => Effect.andThen(this.escalate(notStarted(error)), Effect.fail(error))
        return Effect.andThen(
          Effect.forkIn(Deferred.into(Effect.catch(Scope.provide(start, scope), failed), done), scope),
          restore(Deferred.await(done))
        )
      }
      return restore(Deferred.await(done))
    }))
  }

  readonly startChild = (id: string, spec: DynamicChildSpec<unknown>): Effect.Effect<void, unknown> =>
    Effect.suspend(() => {
      if (this.#pending !== undefined) {
        const pending = this.#pending
        return Effect.andThen(Effect.tap(pending, () => Effect.sync(() => {
          if (this.#pending === pending) this.#pending = undefined
        })), this.startChild(id, spec))
      }
      if (this.current === undefined) return Effect.fail(new Error(`${this.id}: the zygote is restarting; ${id} starts with it`))
      this.started = true
      return this.current.startChild(id, { ...spec, start: this.#guard(spec.start) })
    })

  readonly terminateChild = (id: string): Effect.Effect<boolean> => Effect.suspend(() => this.current?.terminateChild(id) ?? Effect.succeed(false))
  readonly restartChild = (id: string): Effect.Effect<boolean> => Effect.suspend(() => this.current?.restartChild(id) ?? Effect.succeed(false))
  readonly has = (id: string): boolean => this.current?.has(id) ?? false
  readonly children: Effect.Effect<ReadonlyArray<string>> = Effect.suspend(() => this.current?.children ?? Effect.succeed([]))

  get await(): Effect.Effect<never, SupervisorEscalation> {
    return Deferred.await(this.#escalated)
  }

  /** Reports an escalation (of the workers' supervisor or of the tree) as this supervisor's. */
  escalate(error: SupervisorEscalation): Effect.Effect<void> {
    return Effect.asVoid(Deferred.fail(this.#escalated, error))
  }
}

/**
 * Options of {@link forkserverTree}.
 *
 * @example
 * ```ts
 * const options: ForkserverOptions = { spec, restart: { intensity: { maxRestarts: 10, withinMs: 60_000 } }, readyTimeoutMs: 10_000, killAfterMs: () => 2_000, onLog }
 * ```
 */
export interface ForkserverOptions {
  readonly spec: ProcessSpec
  /** The pool's restart options: the workers' supervisor's, and the tree's. */
  readonly restart: Omit<DynamicOptions, "id">
  readonly readyTimeoutMs: number
  readonly killAfterMs: () => number
  /** Output of the zygote, and warnings about it. */
  readonly onLog: (pid: number | null, stream: "stdout" | "stderr" | "worker", level: "info" | "warning", line: string) => void
}

/**
 * The fork-server side of a pool: the stable workers' supervisor and the spawn function for its workers.
 *
 * @example
 * ```ts
 * const { supervisor, spawn, start } = yield* forkserverTree(options)
 * ```
 */
export interface Forkserver {
  readonly supervisor: CurrentDynamic
  /** Forks a worker from the running zygote (the `spawn` option of a worker). */
  readonly spawn: (spec: ProcessSpec) => SpawnedProcess
  /**
   * Starts the tree in the current Scope: the zygote (ready), then the workers' supervisor.
   * `restartWorkers` runs each time the workers' supervisor comes back after a zygote restart.
   * `lazy`: the tree starts with the first worker instead (a lazy pool runs no process before its first call).
   */
  readonly start: (restartWorkers: Effect.Effect<void, unknown>, lazy?: boolean) => Effect.Effect<void, WorkerCrashedError | ProtocolError, Scope.Scope>
}

const threadWarning = (ready: ZygoteReady): string =>
  `the zygote runs ${ready.threads} threads after its imports; a worker forked from it may deadlock ` +
  "(an import started a thread: set OMP_NUM_THREADS etc. or move that import into a handler)"

/**
 * Builds the fork-server tree (started by `start`, once the pool's capacity exists).
 *
 * @example
 * ```ts
 * const fs = yield* forkserverTree({ spec, restart, readyTimeoutMs: 10_000, killAfterMs: () => 2_000, onLog })
 * yield* fs.start(capacity.startPermanent("lazy"))
 * ```
 */
export const forkserverTree = (options: ForkserverOptions): Effect.Effect<Forkserver> =>
  Effect.gen(function*() {
    let zygote: Zygote | undefined
    // A worker's exit after its zygote died is not the workers' supervisor's to see (see above).
    const supervisor = yield* CurrentDynamic.make("pool", (start) => Effect.map(start, (child): Child => {
      const parent = zygote
      return { exit: Effect.flatMap(child.exit, (reason) => parent === undefined || parent.gone ? Effect.never : Effect.succeed(reason)) }
    }))
    const spawn = (_spec: ProcessSpec): SpawnedProcess => zygote?.fork() ?? ForkedProcess.notStarted("the zygote is not running")
    const zygoteChild: Effect.Effect<Child, WorkerCrashedError | ProtocolError, Scope.Scope> = Effect.gen(function*() {
      const started = yield* zygoteResource({
        spec: options.spec,
        readyTimeoutMs: options.readyTimeoutMs,
        killAfterMs: options.killAfterMs,
        onLog: (stream, line, pid) => options.onLog(pid, stream, stream === "stderr" ? "warning" : "info", line)
      })
      if (started.ready.threads > 1) options.onLog(started.ready.pid, "worker", "warning", threadWarning(started.ready))
      zygote = started.zygote
      yield* Effect.addFinalizer(() => Effect.sync(() => {
        if (zygote === started.zygote) zygote = undefined
      }))
      return {
        exit: Effect.map(Effect.promise(() => started.zygote.exited), (exit) => {
          const cause = started.zygote.crashError(exit)
          return { normal: false, reason: cause.message, cause }
        })
      }
    })
    let generation = 0
    const workersChild = (restartWorkers: Effect.Effect<void, unknown>): Effect.Effect<Child, never, Scope.Scope> => Effect.gen(function*() {
      const dynamic = yield* makeDynamic<unknown>({ id: "pool", ...options.restart })
      // A worker crash loop fails the pool, as without a zygote: it is not the tree's to restart.
      yield* Effect.forkScoped(Effect.catch(dynamic.await, (escalation) => supervisor.escalate(escalation)))
      supervisor.current = dynamic
      yield* Effect.addFinalizer(() => Effect.sync(() => {
        if (supervisor.current === dynamic) supervisor.current = undefined
      }))
      if (generation++ > 0 && supervisor.started) yield* Effect.forkScoped(Effect.ignore(restartWorkers))
      return { exit: Effect.never }
    })
    const startTree = (restartWorkers: Effect.Effect<void, unknown>): Effect.Effect<void, WorkerCrashedError | ProtocolError, Scope.Scope> => Effect.gen(function*() {
      const tree = yield* makeSupervisor<WorkerCrashedError | ProtocolError, never>({
        id: "forkserver",
        strategy: "rest_for_one",
        ...options.restart,
        children: [
          { id: "zygote", start: zygoteChild, restart: "permanent" },
          { id: "workers", start: workersChild(restartWorkers), restart: "permanent" }
        ]
      })
      yield* Effect.forkScoped(Effect.catch(tree.await, (escalation) => supervisor.escalate(escalation)))
    })
    return {
      supervisor,
      spawn,
      start: (restartWorkers, lazy = false) =>
        lazy ? Effect.map(Effect.scope, (scope) => supervisor.deferStart(startTree(restartWorkers), scope)) : startTree(restartWorkers)
    }
  })

/**
 * The workers' supervisor of a pool, however its workers start.
 *
 * @example
 * ```ts
 * const { supervisor, spawn } = yield* poolWorkers(o.startMethod, options) // spawn undefined: spawnPython
 * ```
 */
export interface PoolWorkers {
  readonly supervisor: DynamicSupervisor<unknown>
  /** The `spawn` option of each worker; undefined: a new interpreter each (spawnPython). */
  readonly spawn: ((spec: ProcessSpec) => SpawnedProcess) | undefined
  /** Starts what must run before the first worker (the fork-server tree), now or, `lazy`, with the first worker; see {@link Forkserver}. */
  readonly start: (restartWorkers: Effect.Effect<void, unknown>, lazy?: boolean) => Effect.Effect<void, WorkerCrashedError | ProtocolError, Scope.Scope>
}

/**
 * The workers' supervisor for `method`: a plain dynamic supervisor for `spawn`; the fork-server
 * tree for `forkserver`, or a dynamic supervisor and a warning where fork is unavailable.
 *
 * @example
 * ```ts
 * const workers = yield* poolWorkers("forkserver", { spec, restart, readyTimeoutMs, killAfterMs, onLog })
 * ```
 */
export const poolWorkers = (method: StartMethod, options: ForkserverOptions, platform: NodeJS.Platform = process.platform): Effect.Effect<PoolWorkers, never, Scope.Scope> => {
  if (method === "forkserver" && forkAvailable(platform)) return forkserverTree(options)
  if (method === "forkserver") options.onLog(null, "worker", "warning", `worker.startMethod "forkserver" needs fork, which ${platform} does not have: workers are spawned`)
  return Effect.map(makeDynamic<unknown>({ id: "pool", ...options.restart }), (supervisor) => ({ supervisor, spawn: undefined, start: () => Effect.void }))
}
