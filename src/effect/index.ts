/**
 * `pyvisor/effect`: the pool as an Effect service. `PythonPool.layer(options)` owns the
 * pool's lifetime; calls are Effects with pyvisor's tagged errors in the error channel;
 * interrupting a call or ending a stream early cancels it in Python.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { PythonPool } from "pyvisor/effect"
 *
 * const program = Effect.gen(function*() {
 *   const sum = yield* PythonPool.call("add", { a: 1, b: 2 }).pipe(
 *     Effect.catchTag("PythonError", (e) => Effect.succeed(e.type))
 *   )
 *   const first = yield* Stream.runCollect(PythonPool.stream("tokens", { n: 100 }).pipe(Stream.take(3)))
 *   return { sum, first }
 * })
 * await Effect.runPromise(program.pipe(Effect.provide(PythonPool.layer({ worker: { module: "my_workers", cwd: "./py" } }))))
 * ```
 * @module
 */
import "../node-version.ts"
export { PythonPool, acquirePool, fromEngine } from "./python-pool.ts"
export type { PythonCallOptions, PythonPoolService, PythonStreamOptions } from "./python-pool.ts"
export { openSession } from "./session.ts"
export type { EngineSession, PythonSession, PythonSessionCallOptions, PythonSessionOptions } from "./session.ts"
export { fromCall, fromIterator } from "./bridge.ts"
export { isCallError, isStartError } from "./errors.ts"
export type { CallError, StartError } from "./errors.ts"
export { makeRuntime } from "./runtime.ts"
export { typedService } from "./typed.ts"
export type { TypedEffectCalls, TypedPythonPoolService, TypedPythonSession } from "./typed.ts"
