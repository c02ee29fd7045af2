/**
 * The Promise API: a thin layer over the Effect one. `createPool` builds a `ManagedRuntime`
 * over `PythonPool.layer(options)`, so a pool started either way is owned by the same layer
 * (same start, same typed errors, same ordered shutdown); `pool.close()` disposes it. Calls go
 * straight to the engine: a `runPromise` per call would add ~3 µs for nothing.
 */
import { Effect, ManagedRuntime } from "effect"
import { PythonPool } from "../effect/python-pool.ts"
import type { PoolOptions } from "./options.ts"
import { ADOPT_RUNTIME } from "./pool.ts"
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
export const createPool = async (options: PoolOptions): Promise<Pool> => {
  const runtime = ManagedRuntime.make(PythonPool.layer(options))
  let pool: Pool
  try {
    pool = await runtime.runPromise(Effect.map(PythonPool, (service) => service.engine))
  } catch (error) {
    await runtime.dispose()
    throw error
  }
  pool[ADOPT_RUNTIME](() => runtime.dispose())
  return pool
}
