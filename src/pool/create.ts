/**
 * The Promise API's entry: a pool whose scope is the root of its own scope tree. `pool.close()`
 * closes that scope; nothing else keeps a runtime alive. The Effect API (`PythonPool.layer`)
 * builds the same pool in the layer's scope instead.
 */
import { Effect, Scope } from "effect"
import { makePoolIn } from "./make.ts"
import type { PoolOptions } from "./options.ts"
import type { Pool } from "./pool.ts"

/**
 * Starts a pool. Eager pools resolve once every worker is ready; lazy ones at once. Rejects
 * with `InvalidOptionError` for bad options, or with the first worker's start error.
 *
 * @example
 * ```ts
 * import { createPool } from "pyvisor"
 * const pool = await createPool({ worker: { module: "my_workers", cwd: "./py" }, size: 4, overflow: 2 })
 * ```
 */
export const createPool = (options: PoolOptions): Promise<Pool> =>
  Effect.runPromise(Effect.flatMap(Scope.make(), (scope) => makePoolIn(options, scope)))
