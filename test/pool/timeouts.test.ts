import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { AbortError, CallTimeoutError, CheckoutTimeoutError, createPool, QueueFullError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, isAlive, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close({ timeoutMs: 0 })
    pool = undefined
  })
  // prefetch 0: these tests are about calls waiting in the pool's queue for one busy worker.
  const start = async (extra: Record<string, unknown> = {}): Promise<Pool> =>
    (pool = await createPool({ worker: { startMethod, module: "pooled", cwd: FIXTURES, prefetch: 0 }, size: 1, ...extra }))

  const executions = (file: string): Array<string> => {
    try {
      return readFileSync(file, "utf8").trim().split("\n").filter(Boolean)
    } catch {
      return []
    }
  }

  describe("limits and timeouts", () => {
    it("a full queue rejects at once with QueueFullError", async () => {
      const p = await start({ maxQueue: 2 })
      const running = p.call("span", { ms: 300 })
      const queued = [p.call("pid"), p.call("pid")]
      const error = await p.call("pid").catch((e: unknown) => e)
      expect(error).toBeInstanceOf(QueueFullError)
      expect(error).toMatchObject({ code: "QUEUE_FULL", maxQueue: 2 })
      await Promise.all([running, ...queued])
    })

    it("a call waiting too long for a worker gets CheckoutTimeoutError and never runs", async () => {
      const p = await start({ checkoutTimeoutMs: 150 })
      const log = join(mkdtempSync(join(tmpdir(), "pyvisor-")), "runs")
      const running = p.call("span", { ms: 600 })
      const error = await p.call("record", { path: log, tag: "late" }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CheckoutTimeoutError)
      expect(error).toMatchObject({ timeoutMs: 150 })
      await running
      await p.call("record", { path: log, tag: "after" })
      expect(executions(log)).toEqual(["after"])
    })

    it("a hung handler: the worker is killed after the cancel grace and replaced; then the caller gets CallTimeoutError", async () => {
      const p = await start({ cancelGraceMs: 200 })
      const pid = await p.call("pid") as number
      const error = await p.call("hang", { ms: 60_000 }, { timeoutMs: 150 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CallTimeoutError)
      expect(error).toMatchObject({ code: "CALL_TIMEOUT", handler: "hang", timeoutMs: 150, ended: "worker-killed" })
      await expect.poll(() => isAlive(pid), { timeout: 5_000 }).toBe(false)
      const next = await p.call("pid") as number
      expect(next).not.toBe(pid)
      expect(p.snapshot().workers[0]).toMatchObject({ restarts: 1, state: "ready" })
    })

    it("a handler that notices ctx.cancelled after a timeout keeps its worker", async () => {
      const p = await start({ cancelGraceMs: 2_000 })
      const pid = await p.call("pid")
      await expect(p.call("polite", { ms: 10_000 }, { timeoutMs: 100 })).rejects.toThrow(CallTimeoutError)
      expect(await p.call("pid")).toBe(pid)
      expect(p.snapshot().workers[0]!.restarts).toBe(0)
    })

    it("abort before dispatch: an aborted signal never queues, an abort while queued never reaches Python", async () => {
      const p = await start()
      const log = join(mkdtempSync(join(tmpdir(), "pyvisor-")), "runs")
      await expect(p.call("record", { path: log, tag: "pre" }, { signal: AbortSignal.abort() })).rejects.toThrow(AbortError)
      const running = p.call("span", { ms: 300 })
      const controller = new AbortController()
      const queued = p.call("record", { path: log, tag: "queued" }, { signal: controller.signal })
      expect(p.snapshot().queued).toBe(1)
      controller.abort(new Error("user left"))
      const error = await queued.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AbortError)
      expect((error as Error).message).toMatch(/aborted: user left/)
      expect(p.snapshot().queued).toBe(0)
      await running
      await p.call("record", { path: log, tag: "after" })
      expect(executions(log)).toEqual(["after"])
    })

    it("abort after dispatch: released once Python stopped the call, the worker lives on", async () => {
      const p = await start()
      const pid = await p.call("pid")
      const controller = new AbortController()
      const call = p.call("polite", { ms: 10_000 }, { signal: controller.signal })
      await expect.poll(() => p.snapshot().workers[0]!.inFlight).toBe(1)
      controller.abort()
      await expect(call).rejects.toThrow(AbortError)
      await expect.poll(() => p.snapshot().workers[0]!.state).toBe("ready")
      expect(await p.call("pid")).toBe(pid)
    })

    it("validates per-call options", async () => {
      const p = await start()
      await expect(p.call("pid", undefined, { timeoutMs: 0 })).rejects.toMatchObject({ option: "options.timeoutMs" })
      await expect(p.call("pid", undefined, { signal: {} as AbortSignal })).rejects.toMatchObject({ option: "options.signal" })
    })
  })
})
