// The zygote SIGKILLed while calls run: its workers die with it; calls in flight fail with
// WorkerCrashedError (an idempotent one is retried), prefetched ones are requeued; the tree
// (rest_for_one: zygote, then the workers' supervisor) restarts the zygote once and the workers
// after it; the pool serves again; no process of the old generation is left.
import { readFileSync } from "node:fs"
import { afterEach, expect, it } from "vitest"
import { createPool, WorkerCrashedError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { eventually, FIXTURES, isAlive, parentOf } from "../helpers.ts"

let pool: Pool | undefined
afterEach(async () => {
  await pool?.close()
  pool = undefined
})

const pids = (p: Pool): Array<number> => p.snapshot().workers.map((w) => w.pid).filter((pid): pid is number => pid !== null)

it.skipIf(process.platform !== "linux")("a zygote killed mid-load: typed errors or requeues, one tree restart, the pool recovers, no orphan", { timeout: 60_000 }, async () => {
  const p = (pool = await createPool({
    worker: { module: "zygote_probe", cwd: FIXTURES, startMethod: "forkserver", prefetch: 1 },
    size: 3,
    // Two tree restarts would fail the pool: one zygote death must cost one, not one per worker.
    restart: { maxRestarts: 1, withinMs: 60_000 }
  }))
  const before = pids(p)
  const zygote = parentOf(before[0]!)
  expect(before.map(parentOf)).toEqual([zygote, zygote, zygote])
  expect(readFileSync(`/proc/${zygote}/cmdline`, "utf8")).toContain("pyvisor_worker")

  // 3 running + 3 prefetched non-idempotent calls, and 3 idempotent ones queued behind them.
  const plain = Array.from({ length: 6 }, () => p.call("sleep_ms", { ms: 2_000 }).then((v) => ({ ok: v }), (e: unknown) => ({ error: e })))
  const retried = Array.from({ length: 3 }, () => p.call("sleep_ms", { ms: 10 }, { idempotent: true, retries: 2 }))
  await expect.poll(() => p.snapshot().workers.filter((w) => w.inFlight === 2).length).toBe(3)
  process.kill(zygote, "SIGKILL")

  const outcomes = await Promise.all(plain)
  const crashed = outcomes.filter((o) => "error" in o)
  // The 3 running calls may have started: WorkerCrashedError. The 3 prefetched ones never did: requeued, they succeed.
  expect(crashed).toHaveLength(3)
  for (const c of crashed) expect((c as { error: unknown }).error).toBeInstanceOf(WorkerCrashedError)
  for (const c of crashed) expect((c as { error: WorkerCrashedError }).error.signal).toBe("SIGKILL")
  expect(outcomes.filter((o) => "ok" in o).map((o) => (o as { ok: unknown }).ok)).toEqual([2_000, 2_000, 2_000])
  expect(await Promise.all(retried)).toEqual([10, 10, 10])

  await expect.poll(() => p.snapshot().workers.every((w) => w.state === "ready"), { timeout: 20_000 }).toBe(true)
  expect(p.snapshot().state).toBe("ready")
  const after = pids(p)
  expect(after.filter((pid) => before.includes(pid))).toEqual([])
  const zygote2 = parentOf(after[0]!)
  expect(zygote2).not.toBe(zygote)
  expect(after.map(parentOf)).toEqual([zygote2, zygote2, zygote2])
  expect(await p.call("bump")).toBe(1)
  expect(await eventually(() => ![zygote, ...before].some(isAlive), 2_000)).toBe(true)

  await p.close()
  pool = undefined
  expect(await eventually(() => ![zygote2, ...after].some(isAlive), 2_000)).toBe(true)
})
