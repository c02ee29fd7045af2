/** Validate options, make the pool engine, start it unless lazy. Both APIs start pools here. */
import { resolveOptions } from "./options.ts"
import type { PoolOptions } from "./options.ts"
import { Pool } from "./pool.ts"

/**
 * Starts a pool engine. Eager pools resolve once every worker is ready; lazy ones at once.
 * @internal use `createPool` or `PythonPool.layer`
 */
export const startPool = async (options: PoolOptions): Promise<Pool> => {
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
