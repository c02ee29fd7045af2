/**
 * The Promise bridge: a `ManagedRuntime` over `PythonPool.layer`, for code outside Effect.
 *
 * @module
 */
import * as ManagedRuntime from "effect/ManagedRuntime"
import type { PoolOptions } from "../pool/options.ts"
import type { StartError } from "./errors.ts"
import { PythonPool } from "./python-pool.ts"

/**
 * A `ManagedRuntime` whose context holds a `PythonPool`. The pool starts on first use (or
 * `await runtime.context()`); `await runtime.dispose()` drains it and stops every process.
 *
 * @example
 * ```ts
 * const runtime = makeRuntime({ worker: { module: "my_workers", cwd: "./py" }, size: 2 })
 * const sum = await runtime.runPromise(PythonPool.call("add", { a: 1, b: 2 }))
 * await runtime.dispose()
 * ```
 */
export const makeRuntime = (options: PoolOptions): ManagedRuntime.ManagedRuntime<PythonPool, StartError> =>
  ManagedRuntime.make(PythonPool.layer(options))
