// worker.concurrency: async def calls run at once on a worker's event loop, up to the limit;
// cancelling one cancels its task (its finally runs) and the worker lives on; a call still
// waiting in Python's queue is cancelled without ever running.
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { AbortError, CallTimeoutError, createPool } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  let pool: Pool | undefined
  const dirs: Array<string> = []
  afterEach(async () => {
    await pool?.close({ timeoutMs: 0 })
    pool = undefined
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })

  const start = async (worker: { readonly concurrency?: number; readonly prefetch?: number }, extra: Record<string, unknown> = {}): Promise<Pool> =>
    (pool = await createPool({ worker: { startMethod, module: "concurrency", cwd: FIXTURES, ...worker }, size: 1, ...extra }))

  const marker = (): string => {
    const dir = mkdtempSync(join(tmpdir(), "pyvisor-conc-"))
    dirs.push(dir)
    return join(dir, "finally")
  }

  describe("worker.concurrency", () => {
    it("runs up to `concurrency` async calls at once, never more; the rest wait (prefetched or queued)", async () => {
      const p = await start({ concurrency: 4 })
      const peaks = await Promise.all(Array.from({ length: 12 }, () => p.call("probe", { ms: 150 }) as Promise<number>))
      expect(Math.max(...peaks)).toBe(4)
      expect(await p.call("peak")).toBe(4)
      // Capacity is concurrency + prefetch: 4 running, 2 more waiting in Python.
      const more = Array.from({ length: 10 }, () => p.call("sleepy", { ms: 100 }))
      expect(p.snapshot()).toMatchObject({ queued: 4, workers: [{ inFlight: 6 }] })
      expect(await Promise.all(more)).toEqual(Array.from({ length: 10 }, () => 100))
    })

    it("concurrency 1 (the default): one call at a time", async () => {
      const p = await start({})
      const peaks = await Promise.all(Array.from({ length: 4 }, () => p.call("probe", { ms: 30 }) as Promise<number>))
      expect(Math.max(...peaks)).toBe(1)
    })

    it("a timeout cancels the running task: CancelledError in the handler, its finally runs, the worker lives on", async () => {
      const p = await start({ concurrency: 2 }, { cancelGraceMs: 60_000 })
      const pid = p.snapshot().workers[0]!.pid
      const file = marker()
      const error = await p.call("cancellable", { ms: 30_000, marker: file }, { timeoutMs: 200 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CallTimeoutError)
      await expect.poll(() => { try { return readFileSync(file, "utf8") } catch { return "" } }, { timeout: 10_000 }).toBe("finally cancelled=True")
      // Not killed and replaced: the task stopped, the same process serves the next call.
      expect(await p.call("sleepy", { ms: 1 })).toBe(1)
      expect(p.snapshot().workers[0]).toMatchObject({ pid, restarts: 0, inFlight: 0 })
    })

    it("a call waiting in Python behind a long one is cancelled without ever running", async () => {
      const p = await start({ concurrency: 1, prefetch: 2 }, { cancelGraceMs: 60_000 })
      const long = p.call("block", { ms: 800 })
      const file = marker()
      const controller = new AbortController()
      const waiting = p.call("cancellable", { ms: 10, marker: file }, { signal: controller.signal }).catch((e: unknown) => e)
      expect(p.snapshot().workers[0]!.inFlight).toBe(2) // prefetched: it is in Python's queue, not the pool's
      controller.abort()
      expect(await waiting).toBeInstanceOf(AbortError)
      expect(await long).toBe(800)
      expect(await p.call("sleepy", { ms: 1 })).toBe(1)
      // Its handler never ran: no finally, no marker.
      expect(() => readFileSync(file, "utf8")).toThrow(/ENOENT/)
      expect(p.snapshot().workers[0]).toMatchObject({ restarts: 0, inFlight: 0 })
    })
  })
})
