/**
 * pyvisor/testing: run a whole pool without Python. `fakeWorker(...)` is a `ProcessSpawner` (the
 * pool's `spawner` option) whose workers are scripted in JavaScript and speak protocol v1 in this
 * process; under Effect's `TestClock` every pool timer follows the test clock. See docs/testing.md.
 *
 * @example
 * ```ts
 * import { createPool } from "pyvisor"
 * import { fakeWorker } from "pyvisor/testing"
 *
 * const pool = await createPool({ worker: { module: "app" }, size: 1, spawner: fakeWorker({ handlers: { add: ({ a, b }) => a + b } }) })
 * await pool.call("add", { a: 1, b: 2 }) // 3
 * await pool.close()
 * ```
 * @module
 */
export { fakeWorker } from "./fake-worker.ts"
export type { FakeSpawner, FakeWorkerOptions } from "./fake-worker.ts"
export type { FakeProcess } from "./fake-process.ts"
export type { FakeCallContext, FakeHandler } from "./fake-call.ts"
export type { ProcessExit, ProcessSpawner, ProcessSpec, PythonProcess, SpawnContext, SpawnedProcess } from "../actors/python-process.ts"
