// The ordered stop's last resort: a worker that neither the `shutdown` frame nor SIGTERM ends
// is SIGKILLed `killAfterMs` after the SIGTERM, and close() still resolves with no process left.
import { afterEach, describe, expect, it } from "vitest"
import { createPool, WorkerCrashedError } from "../../src/index.ts"
import type { Pool, PoolEvents } from "../../src/index.ts"
import { FIXTURES, isAlive, pythonChildren, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  const GRACE_MS = 300
  const KILL_AFTER_MS = 400
  // Timers are not early, but performance.now() and the timer clock may round differently.
  const SLACK_MS = 20

  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close({ timeoutMs: 0 })
    pool = undefined
  })

  describe("stopping a worker that ignores SIGTERM", () => {
    it("is SIGKILLed after graceMs + killAfterMs; close() resolves and the pid is gone", async () => {
      const p = pool = await createPool({
        worker: { startMethod, module: "ignore_sigterm", cwd: FIXTURES }, size: 1,
        shutdown: { graceMs: GRACE_MS, killAfterMs: KILL_AFTER_MS }
      })
      expect(await p.call("sigterm_ignored")).toBe(true)
      const pid = p.snapshot().workers[0]!.pid!
      expect(await p.call("pid")).toBe(pid)
      const exits: Array<PoolEvents["worker"]> = []
      p.on("worker", (e) => void (e.type === "exit" && exits.push(e)))
      const stuck = p.call("stuck").catch((e: unknown) => e)
      await expect.poll(() => p.snapshot().workers[0]!.inFlight).toBe(1)

      const t0 = performance.now()
      await p.close()
      const elapsed = performance.now() - t0

      expect(isAlive(pid)).toBe(false)
      expect(pythonChildren()).toEqual([])
      expect(elapsed).toBeGreaterThanOrEqual(GRACE_MS + KILL_AFTER_MS - SLACK_MS)
      const error = await stuck
      expect(error).toBeInstanceOf(WorkerCrashedError)
      expect(error).toMatchObject({ pid, signal: "SIGKILL", exitCode: null })
      expect(exits).toHaveLength(1)
      // Killed by the supervisor (reason "killed"), and the process did end by SIGKILL.
      expect(exits[0]).toMatchObject({ pid, exit: { reason: "killed" }, process: { signal: "SIGKILL" } })
      expect(p.snapshot().state).toBe("closed")
    })

    it("close({ timeoutMs }) replaces graceMs: still SIGKILLed, after timeoutMs + killAfterMs", async () => {
      const p = pool = await createPool({
        worker: { startMethod, module: "ignore_sigterm", cwd: FIXTURES }, size: 2,
        shutdown: { graceMs: 60_000, killAfterMs: KILL_AFTER_MS }
      })
      const pids = p.snapshot().workers.map((w) => w.pid!)
      const stuck = [p.call("stuck").catch((e: unknown) => e), p.call("stuck").catch((e: unknown) => e)]
      await expect.poll(() => p.snapshot().workers.map((w) => w.inFlight)).toEqual([1, 1])

      const t0 = performance.now()
      await p.close({ timeoutMs: GRACE_MS })
      const elapsed = performance.now() - t0

      for (const pid of pids) expect(isAlive(pid)).toBe(false)
      expect(pythonChildren()).toEqual([])
      expect(elapsed).toBeGreaterThanOrEqual(GRACE_MS + KILL_AFTER_MS - SLACK_MS)
      for (const error of await Promise.all(stuck)) expect(error).toMatchObject({ code: "WORKER_CRASHED", signal: "SIGKILL" })
    })
  })
})
