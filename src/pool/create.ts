/**
 * The Promise API's entry: a pool whose scope is the root of its own scope tree. `pool.close()`
 * closes that scope; nothing else keeps a runtime alive. The Effect API (`PythonPool.layer`)
 * builds the same pool in the layer's scope instead.
 *
 * The pool's machinery (Effect, the supervisors, execa) is loaded by the first `createPool`, not by
 * `import "pyvisor"`: an application that imports pyvisor at start-up pays for it only when it
 * makes a pool.
 */
import type { Pool } from "./pool.ts"
import type { PoolOptions } from "./options.ts"
import type { HandlerMap, TypedPool } from "../types/typed-pool.ts"

/**
 * Starts a pool. Eager pools resolve once every worker is ready; lazy ones at once. Rejects
 * with `InvalidOptionError` for bad options, or with the first worker's start error.
 * `createPool<Handlers>(…)`, with the interface `pyvisor types` generates, gives a pool whose
 * calls TypeScript checks (docs/types.md); the pool itself is the same.
 *
 * @example
 * ```ts
 * import { createPool } from "pyvisor"
 * const pool = await createPool({ worker: { module: "my_workers", cwd: "./py" }, size: 4, overflow: 2 })
 * const typed = await createPool<Handlers>({ worker: { module: "my_workers", cwd: "./py" } })
 * ```
 */
export function createPool(options: PoolOptions): Promise<Pool>
export function createPool<H extends HandlerMap<H>>(options: PoolOptions): Promise<TypedPool<H>>
export async function createPool(options: PoolOptions): Promise<Pool> {
  const [Effect, Scope, { makePoolIn }] = await Promise.all([import("effect/Effect"), import("effect/Scope"), import("./make.ts")])
  return Effect.runPromise(Effect.flatMap(Scope.make(), (scope) => makePoolIn(options, scope)))
}
