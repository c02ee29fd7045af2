import { describe, expect, it } from "vitest"
import { createPool, PoolClosedError } from "../../src/index.ts"
import { FIXTURES, pythonChildren, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  describe("close", () => {
    it("in-flight calls finish, queued ones get PoolClosedError, no process is left", async () => {
      // prefetch 0: the three calls wait in the pool's queue (prefetched ones would be in flight, and finish).
      const pool = await createPool({ worker: { startMethod, module: "pooled", cwd: FIXTURES, prefetch: 0 }, size: 2 })
      const inFlight = Promise.allSettled([pool.call("span", { ms: 300 }), pool.call("span", { ms: 300 })])
      const queued = Promise.allSettled([pool.call("pid"), pool.call("pid"), pool.call("pid")])
      await expect.poll(() => pool.snapshot().queued).toBe(3)
      await pool.close({ timeoutMs: 5_000 })
      for (const r of await inFlight) expect(r.status).toBe("fulfilled")
      for (const r of await queued) {
        expect(r.status).toBe("rejected")
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(PoolClosedError)
      }
      expect(pythonChildren()).toEqual([])
      expect(pool.snapshot().state).toBe("closed")
      await expect(pool.call("pid")).rejects.toThrow(PoolClosedError)
    })

    it("close with timeoutMs 0 does not wait for a hung call", async () => {
      const pool = await createPool({ worker: { startMethod, module: "pooled", cwd: FIXTURES }, size: 1, shutdown: { killAfterMs: 100 } })
      const hung = pool.call("hang", { ms: 60_000 }).catch((e: unknown) => e)
      await expect.poll(() => pool.snapshot().workers[0]!.inFlight).toBe(1)
      await pool.close({ timeoutMs: 0 })
      expect(await hung).toMatchObject({ code: "WORKER_CRASHED" })
      expect(pythonChildren()).toEqual([])
    })

    it("close is idempotent and validates its timeout", async () => {
      const pool = await createPool({ worker: { startMethod, module: "pooled", cwd: FIXTURES }, size: 1 })
      await expect(pool.close({ timeoutMs: -1 })).rejects.toMatchObject({ option: "close.timeoutMs" })
      await Promise.all([pool.close(), pool.close()])
      expect(pythonChildren()).toEqual([])
    })
  })
})
