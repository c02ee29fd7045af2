/**
 * pyvisor: supervised pools of Python worker processes for Node.js.
 *
 * @example
 * ```ts
 * import { createPool } from "pyvisor"
 * const pool = await createPool({ worker: { module: "my_workers", cwd: "./py" } })
 * console.log(await pool.call("add", { a: 1, b: 2 }))
 * await pool.close()
 * ```
 * @module
 */
import "./node-version.ts"
export { createPool } from "./pool/create.ts"
export { Pool } from "./pool/pool.ts"
export type { CallOptions } from "./pool/job.ts"
export type { PoolEvents } from "./pool/events.ts"
export type { LatencySummary, PoolSnapshot, WorkerSnapshot } from "./pool/snapshot.ts"
export type { PoolStateValue } from "./machines/pool.ts"
export type { PoolOptions, WorkerOptions } from "./pool/options.ts"
export type { InheritEnv } from "./actors/env.ts"
export type { WorkerActorEvent } from "./actors/worker.ts"
export type { ExitInfo, ExitReason, WorkerStateValue } from "./machines/worker.ts"
export * from "./errors.ts"
export type { CallRest, HandlerArgs, HandlerMap, HandlerOf, HandlerSignature, TypedCalls, TypedPool, TypedSession, TypedSessionCallOptions } from "./types/typed-pool.ts"
export { NdArray } from "./protocol/index.ts"
export type { NdData, NdDataOf, NdDtype } from "./protocol/index.ts"
export { PoolSession } from "./pool/session.ts"
export type { SessionOptions } from "./pool/session.ts"
export type { HostHandler } from "./pool/host-router.ts"
export type { HostCallContext } from "./actors/host-calls.ts"
export * from "./store/index.ts"
export type { CallError } from "./effect/errors.ts"
export type { Dashboard, DashboardOptions } from "./dashboard/index.ts"
