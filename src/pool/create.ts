/** The Promise entry point: validate options, make the pool, start it unless lazy. */
import { resolveOptions } from "./options.ts"
import type { PoolOptions } from "./options.ts"
import { Pool } from "./pool.ts"

/**
 * Starts a pool. Eager pools resolve once every worker is ready; lazy ones at once.
 *
 * @example
 * ```ts
 * import { createPool } from "pyvisor"
 * const pool = await createPool({ worker: { module: "my_workers", cwd: "./py" }, size: 4, overflow: 2 })
 * ```
 */
export const createPool = async (options: PoolOptions): Promise<Pool> => {
  const resolved = resolveOptions(options)
  const pool = new Pool(resolved)
  if (resolved.lazy) return pool
  try {
    await pool.start()
  } catch (error) {
    await pool.close()
    throw error
  }
  return pool
}
