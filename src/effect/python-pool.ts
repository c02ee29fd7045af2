/**
 * `PythonPool`: the pool as an Effect service. The pool is built in the layer's scope (its
 * supervisor and every worker incarnation are scopes below it); this module turns its calls'
 * Promises into Effects (interruption aborts the call in Python) and its async iterators into
 * Streams (ending a stream early cancels the Python generator). The hot path stays plain code.
 *
 * @module
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type * as Scope from "effect/Scope"
import type { InvalidOptionError } from "../errors.ts"
import type { CallOptions } from "../pool/job.ts"
import { makePool } from "../pool/make.ts"
import type { PoolOptions } from "../pool/options.ts"
import type { Pool } from "../pool/pool.ts"
import type { PoolSnapshot } from "../pool/snapshot.ts"
import type { CallArgs } from "../protocol/index.ts"
import type { InvalidSessionIdError } from "../store/errors.ts"
import { fromCall, fromIterator, withSignal } from "./bridge.ts"
import type { CallError, StartError } from "./errors.ts"
import { openSession } from "./session.ts"
import type { PythonSession, PythonSessionOptions } from "./session.ts"

/**
 * Options of `PythonPool.call`: those of `pool.call` without `signal` (interrupting the
 * Effect is how a call is cancelled).
 *
 * @example
 * ```ts
 * const options: PythonCallOptions = { timeoutMs: 1_000, idempotent: true }
 * ```
 */
export type PythonCallOptions = Omit<CallOptions, "signal">

/**
 * Options of `PythonPool.stream`: call options plus the credit `window` (default 64).
 *
 * @example
 * ```ts
 * const options: PythonStreamOptions = { window: 8 }
 * ```
 */
export type PythonStreamOptions = PythonCallOptions & { readonly window?: number }

/**
 * The `PythonPool` service: what `yield* PythonPool` gives you.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const py = yield* PythonPool
 *   return yield* py.call("add", { a: 1, b: 2 })
 * })
 * ```
 */
export interface PythonPoolService {
  /** Runs handler `name`; interrupting the Effect cancels the call in Python. */
  readonly call: (name: string, args?: CallArgs, options?: PythonCallOptions) => Effect.Effect<unknown, CallError>
  /** Streams generator handler `name`; ending the stream early cancels the generator. */
  readonly stream: (name: string, args?: CallArgs, options?: PythonStreamOptions) => Stream.Stream<unknown, CallError>
  /** A session (see `pool.session`), closed when the enclosing scope closes. */
  readonly session: (id: string, options?: PythonSessionOptions) => Effect.Effect<PythonSession, InvalidSessionIdError | InvalidOptionError, Scope.Scope>
  /** Workers, queue, state and metrics, as they are when the Effect runs. */
  readonly snapshot: Effect.Effect<PoolSnapshot>
  /** The underlying engine, e.g. for `engine.on("worker", …)`. Its lifetime is the layer's. */
  readonly engine: Pool
}

/**
 * Wraps a running engine as the service (no lifetime management: closing it is yours).
 *
 * @example
 * ```ts
 * const service = fromEngine(await createPool({ worker: { module: "w" } }))
 * ```
 */
export const fromEngine = (engine: Pool): PythonPoolService => ({
  call: (name, args, options) => fromCall((signal) => engine.call(name, args, withSignal(options, signal))),
  stream: (name, args, options) => fromIterator(() => engine.stream(name, args, options ?? {})),
  session: (id, options) => openSession(engine, id, options),
  snapshot: Effect.sync(() => engine.snapshot()),
  engine
})

/**
 * Starts a pool for the current scope: closing the scope drains it and stops every process.
 * Bad options and workers that cannot start fail the Effect (not defects).
 *
 * @example
 * ```ts
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const pool = yield* acquirePool({ worker: { module: "w" }, size: 2 })
 *   return yield* Effect.promise(() => pool.call("noop"))
 * }))
 * ```
 */
export const acquirePool = (options: PoolOptions): Effect.Effect<Pool, StartError, Scope.Scope> => makePool(options)

/**
 * A pool of Python workers as an Effect service. Provide it with `PythonPool.layer(options)`;
 * the pool lives as long as the layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { PythonPool } from "pyvisor/effect"
 *
 * const program = Effect.gen(function*() {
 *   const py = yield* PythonPool
 *   const sum = yield* py.call("add", { a: 1, b: 2 })
 *   const tokens = yield* Stream.runCollect(py.stream("tokens", { n: 3 }))
 *   return { sum, tokens }
 * })
 * Effect.runPromise(program.pipe(Effect.provide(PythonPool.layer({ worker: { module: "my_workers", cwd: "./py" } }))))
 * ```
 */
export class PythonPool extends Context.Service<PythonPool, PythonPoolService>()("pyvisor/effect/PythonPool") {
  /**
   * The pool, started when the layer is built and closed (drained, every process stopped)
   * when it is released.
   *
   * @example
   * ```ts
   * const PoolLive = PythonPool.layer({ worker: { module: "my_workers", cwd: "./py" }, size: 4 })
   * ```
   */
  static layer(options: PoolOptions): Layer.Layer<PythonPool, StartError> {
    return Layer.effect(PythonPool, Effect.map(acquirePool(options), fromEngine))
  }

  /**
   * `call` of the `PythonPool` in context.
   *
   * @example
   * ```ts
   * const three = PythonPool.call("add", { a: 1, b: 2 }, { timeoutMs: 1_000 })
   * ```
   */
  static override call(name: string, args?: CallArgs, options?: PythonCallOptions): Effect.Effect<unknown, CallError, PythonPool> {
    return PythonPool.use((pool) => pool.call(name, args, options))
  }

  /**
   * `stream` of the `PythonPool` in context.
   *
   * @example
   * ```ts
   * const firstTwo = Stream.runCollect(PythonPool.stream("count", { n: 10 }).pipe(Stream.take(2)))
   * ```
   */
  static stream(name: string, args?: CallArgs, options?: PythonStreamOptions): Stream.Stream<unknown, CallError, PythonPool> {
    return Stream.unwrap(PythonPool.useSync((pool) => pool.stream(name, args, options)))
  }

  /**
   * `session` of the `PythonPool` in context.
   *
   * @example
   * ```ts
   * const run = Effect.scoped(Effect.flatMap(PythonPool.session("user-42"), (s) => s.call("whoami")))
   * ```
   */
  static session(id: string, options?: PythonSessionOptions): Effect.Effect<PythonSession, InvalidSessionIdError | InvalidOptionError, Scope.Scope | PythonPool> {
    return PythonPool.use((pool) => pool.session(id, options))
  }

  /**
   * `snapshot` of the `PythonPool` in context.
   *
   * @example
   * ```ts
   * const states = Effect.map(PythonPool.snapshot(), (s) => s.workers.map((w) => w.state))
   * ```
   */
  static snapshot(): Effect.Effect<PoolSnapshot, never, PythonPool> {
    return PythonPool.use((pool) => pool.snapshot)
  }
}
