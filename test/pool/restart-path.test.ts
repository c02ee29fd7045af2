// Every start of a worker is a supervisor operation: lazy first starts, overflow starts and
// recycles all fall under restart intensity, so a module that cannot be imported fails the pool
// instead of being spawned again for every call.
import { afterEach, describe, expect, it } from "vitest"
import { createPool, PoolFailedError, PythonError, WorkerCrashedError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, isAlive, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })

  const spawnsOf = (p: Pool): Array<number> => {
    const pids: Array<number> = []
    p.on("worker", (e) => {
      if (e.type === "state" && e.state === "initializing" && e.pid !== null) pids.push(e.pid)
    })
    return pids
  }

  describe("one restart path", () => {
    it("a lazy pool whose module raises at import fails after maxRestarts and spawns no more", { timeout: 60_000 }, async () => {
      const p = (pool = await createPool({ worker: { startMethod, module: "import_error", cwd: FIXTURES }, size: 1, lazy: true, restart: { maxRestarts: 2 } }))
      const spawns = spawnsOf(p)
      const errors: Array<unknown> = []
      for (let i = 0; i < 6; i++) errors.push(await p.call("anything").catch((e: unknown) => e))
      for (const error of errors) expect(error).toBeInstanceOf(PoolFailedError)
      const failure = errors[0] as PoolFailedError
      expect(failure.message).toMatch(/3 restarts within 60000 ms \(max 2\)/)
      // The cause is the import error itself, with what Python printed.
      expect(failure.cause).toBeInstanceOf(WorkerCrashedError)
      expect(failure.cause).toMatchObject({ reason: "init_error" })
      expect((failure.cause as WorkerCrashedError).cause).toBeInstanceOf(PythonError)
      expect((failure.cause as Error).message).toMatch(/ImportError: this fixture cannot be imported on purpose/)
      expect(p.snapshot().state).toBe("failed")
      // The first start and 2 restarts; then the supervisor gave up and nothing more is spawned.
      expect(spawns).toHaveLength(3)
      await new Promise((r) => setTimeout(r, 300))
      expect(spawns).toHaveLength(3)
      expect(spawns.filter(isAlive)).toEqual([])
    })

    it("an eager pool still rejects at once with the import error (OTP start_child), spawning once", async () => {
      const error = await createPool({ worker: { startMethod, module: "import_error", cwd: FIXTURES }, size: 1 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(WorkerCrashedError)
      expect(error).toMatchObject({ reason: "init_error", exitCode: 1 })
    })

    it("workerTtlMs shorter than the start time: each worker serves before it is recycled (age counts from ready)", { timeout: 60_000 }, async () => {
      // The worker needs 500 ms to import; a TTL of 50 ms counted from the spawn would recycle it at ready, forever.
      const p = (pool = await createPool({ worker: { startMethod, module: "py_slow_import", cwd: FIXTURES }, size: 1, workerTtlMs: 50, rssCheckIntervalMs: 20 }))
      const recycles: Array<string> = []
      p.on("recycle", (e) => recycles.push(e.reason))
      for (let i = 0; i < 3; i++) expect(await p.call("slow_ok", {}, { timeoutMs: 30_000 })).toBe("ok")
      // At most one recycle per call served: never one for a worker that served nothing.
      expect(recycles.length).toBeLessThanOrEqual(3)
      for (const reason of recycles) expect(reason).toMatch(/older than workerTtlMs \(50 ms\)/)
      expect(p.snapshot().workers[0]!.restarts).toBe(0)
    })
  })
})
