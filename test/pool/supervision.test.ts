// The pool under its supervisor, with real Python: crash recovery, idempotent retries,
// restart intensity turning a crash-at-every-start into a failed pool (not a loop).
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { createPool, InvalidOptionError, PoolFailedError, WorkerCrashedError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { eventually, FIXTURES, isAlive, START_METHODS } from "../helpers.ts"

let pool: Pool | undefined
const dirs: Array<string> = []
afterEach(async () => {
  await pool?.close()
  pool = undefined
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const busyPid = async (p: Pool): Promise<number> => {
  await expect.poll(() => p.snapshot().workers.some((w) => w.inFlight > 0)).toBe(true)
  return p.snapshot().workers.find((w) => w.inFlight > 0)!.pid!
}

const allReady = (p: Pool, n: number): boolean =>
  p.snapshot().workers.length === n && p.snapshot().workers.every((w) => w.state === "ready")

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  describe("crash recovery", () => {
    it("SIGKILL of a busy worker: its call rejects with the crash, the pool is back to full size", async () => {
      const p = (pool = await createPool({ worker: { startMethod, module: "pooled", cwd: FIXTURES }, size: 3 }))
      const call = p.call("hang", { ms: 30_000 }).catch((e: unknown) => e)
      const pid = await busyPid(p)
      const workerId = p.snapshot().workers.find((w) => w.pid === pid)!.id
      process.kill(pid, "SIGKILL")
      const error = await call
      expect(error).toBeInstanceOf(WorkerCrashedError)
      expect(error).toMatchObject({ workerId, pid, signal: "SIGKILL", exitCode: null })
      expect((error as WorkerCrashedError).stderrTail).toBeTypeOf("string")
      expect(await eventually(() => allReady(p, 3))).toBe(true)
      const replaced = p.snapshot().workers.find((w) => w.id === workerId)!
      expect(replaced).toMatchObject({ restarts: 1 })
      expect(replaced.pid).not.toBe(pid)
      expect(p.snapshot().state).toBe("ready")
    })

    it("an idempotent call is retried on another incarnation and succeeds", async () => {
      const p = (pool = await createPool({ worker: { startMethod, module: "pooled", cwd: FIXTURES }, size: 2 }))
      const call = p.call("span", { ms: 1_500 }, { idempotent: true })
      const pid = await busyPid(p)
      process.kill(pid, "SIGKILL")
      const result = (await call) as { pid: number }
      expect(result.pid).not.toBe(pid)
      expect(isAlive(result.pid)).toBe(true)
    })

    it("retries are bounded: with retries 0 an idempotent call still rejects", async () => {
      const p = (pool = await createPool({ worker: { startMethod, module: "pooled", cwd: FIXTURES }, size: 2 }))
      const call = p.call("hang", { ms: 30_000 }, { idempotent: true, retries: 0 }).catch((e: unknown) => e)
      process.kill(await busyPid(p), "SIGKILL")
      expect(await call).toBeInstanceOf(WorkerCrashedError)
    })

    it("queued and prefetched calls are served by the replacement; only the started one fails", async () => {
      const p = (pool = await createPool({ worker: { startMethod, module: "pooled", cwd: FIXTURES }, size: 1 }))
      const first = p.call("hang", { ms: 30_000 }).catch((e: unknown) => e)
      const pid = await busyPid(p)
      const waiting = [p.call("pid"), p.call("pid"), p.call("pid")]
      // Two sit in Python behind the hung call (prefetch 2), one in the pool's queue.
      expect(p.snapshot()).toMatchObject({ queued: 1, workers: [{ inFlight: 3 }] })
      process.kill(pid, "SIGKILL")
      expect(await first).toBeInstanceOf(WorkerCrashedError)
      // Python never started the prefetched ones: they run once, on the replacement, in order.
      const pids = await Promise.all(waiting)
      expect(new Set(pids).size).toBe(1)
      expect(pids[0]).not.toBe(pid)
    })

    it("prefetch 0: calls wait in the pool's queue and go to the replacement", async () => {
      const p = (pool = await createPool({ worker: { startMethod, module: "pooled", cwd: FIXTURES, prefetch: 0 }, size: 1 }))
      const first = p.call("hang", { ms: 30_000 }).catch((e: unknown) => e)
      const pid = await busyPid(p)
      const queued = [p.call("pid"), p.call("pid"), p.call("pid")]
      expect(p.snapshot().queued).toBe(3)
      process.kill(pid, "SIGKILL")
      expect(await first).toBeInstanceOf(WorkerCrashedError)
      const pids = await Promise.all(queued)
      expect(new Set(pids).size).toBe(1)
      expect(pids[0]).not.toBe(pid)
    })

    it("validates the restart policy, naming the option", async () => {
      const worker = { module: "pooled", cwd: FIXTURES }
      await expect(createPool({ worker, restart: { maxRestarts: -1 } })).rejects.toThrow(/restart\.maxRestarts must be an integer from 0 .*got -1/)
      await expect(createPool({ worker, restart: { withinMs: 0 } })).rejects.toThrow(/restart\.withinMs must be .*got 0/)
      await expect(createPool({ worker, restart: { backoff: { initialMs: 100, maxMs: 10 } } })).rejects.toThrow(/restart\.backoff\.maxMs must be .*>= initialMs \(100\).*got 10/)
      await expect(createPool({ worker, restart: { backoff: { jitter: 2 } } })).rejects.toBeInstanceOf(InvalidOptionError)
      await expect(createPool({ worker, restart: "often" as never })).rejects.toThrow(/restart must be an object/)
    })
  })

  describe("heartbeat", () => {
    it("a worker wedged in C code holding the GIL is killed by the heartbeat and replaced", async () => {
      const p = (pool = await createPool({ worker: { startMethod, module: "wedged", cwd: FIXTURES }, size: 2, heartbeat: { intervalMs: 200, misses: 3 } }))
      const call = p.call("wedge").catch((e: unknown) => e)
      const pid = await busyPid(p)
      const error = await call
      expect(error).toBeInstanceOf(WorkerCrashedError)
      expect(error).toMatchObject({ reason: "heartbeat", signal: "SIGKILL", pid })
      expect((error as Error).message).toMatch(/missing heartbeats: no pong to 3 heartbeats \(every 200 ms\)/)
      expect(await eventually(() => allReady(p, 2))).toBe(true)
      expect(await p.call("add", { a: 2, b: 3 })).toBe(5)
    })

    it("validates the heartbeat option, naming it", async () => {
      const worker = { module: "wedged", cwd: FIXTURES }
      await expect(createPool({ worker, heartbeat: { intervalMs: 0 } })).rejects.toThrow(/heartbeat\.intervalMs/)
      await expect(createPool({ worker, heartbeat: { misses: 1.5 } })).rejects.toThrow(/heartbeat\.misses/)
      await expect(createPool({ worker, heartbeat: true as never })).rejects.toBeInstanceOf(InvalidOptionError)
    })
  })
})

// Spawn only: its module refuses every import after the first, and under forkserver the zygote
// imports it once for all workers (test/forkserver/forkserver.test.ts checks that instead).
describe("restart intensity", () => {
  it("a worker that crashes at every restart fails the pool: calls get PoolFailedError, no restart loop", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pyvisor-flaky-"))
    dirs.push(dir)
    const starts = join(dir, "starts")
    const p = (pool = await createPool({
      worker: { module: "flaky_init", cwd: FIXTURES, env: { PYVISOR_TEST_STARTS: starts } },
      size: 1,
      restart: { maxRestarts: 3, withinMs: 60_000, backoff: { initialMs: 5, maxMs: 20 } }
    }))
    const states: Array<string> = []
    p.on("pool", (e) => states.push(e.state))
    const pid = p.snapshot().workers[0]!.pid!
    const running = p.call("sleep_ms", { ms: 30_000 }).catch((e: unknown) => e)
    await busyPid(p)
    process.kill(pid, "SIGKILL")
    expect(await running).toBeInstanceOf(WorkerCrashedError)
    // Queued while the supervisor is still trying: rejected when it gives up.
    const queued = p.call("sleep_ms", { ms: 1 }).catch((e: unknown) => e)
    const failure = await queued
    expect(failure).toBeInstanceOf(PoolFailedError)
    expect((failure as PoolFailedError).message).toMatch(/4 restarts within 60000 ms \(max 3\)/)
    const cause = (failure as PoolFailedError).cause
    expect(cause).toBeInstanceOf(WorkerCrashedError)
    // The runtime reports a SystemExit during import as an init error (ready {status: "error"}).
    expect(cause).toMatchObject({ reason: "init_error", exitCode: 1 })
    expect((cause as Error).message).toMatch(/failed to start: SystemExit/)
    expect((cause as WorkerCrashedError).stderrTail).toContain("flaky_init: refusing to start again")
    expect(p.snapshot().state).toBe("failed")
    expect(states).toContain("failed")
    await expect(p.call("sleep_ms", { ms: 1 })).rejects.toBeInstanceOf(PoolFailedError)
    // The first start plus 3 restarts, then nothing more: the supervisor gave up.
    await new Promise((r) => setTimeout(r, 300))
    const lines = readFileSync(starts, "utf8").trim().split("\n")
    expect(lines).toHaveLength(4)
    expect(lines.map(Number).filter(isAlive)).toEqual([])
    await p.close()
  })
})
