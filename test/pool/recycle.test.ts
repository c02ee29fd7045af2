import { afterEach, describe, expect, it, vi } from "vitest"
import { createPool } from "../../src/index.ts"
import type { Pool, PoolEvents } from "../../src/index.ts"
import { RSS_JITTER, rssLimit } from "../../src/pool/capacity.ts"
import type { Slot } from "../../src/pool/slots.ts"
import { FIXTURES, isAlive, pythonChildren, START_METHODS } from "../helpers.ts"

describe("the RSS limit of one incarnation", () => {
  const slot = (): Slot => ({ id: "w1", overflow: false, restarts: 0, recycled: 0, worker: null, readyAt: null, recycle: null, rssLimit: null, idleTimer: null })
  const MAX = 100 * 1024 * 1024

  it("is drawn once between (1 - RSS_JITTER) and 1 times maxWorkerRssMb, so workers do not recycle together", () => {
    const random = vi.spyOn(Math, "random")
    try {
      random.mockReturnValue(0)
      expect(rssLimit(slot(), MAX)).toBe(MAX)
      random.mockReturnValue(0.999_999)
      const low = slot()
      expect(rssLimit(low, MAX)).toBe(Math.round(MAX * (1 - RSS_JITTER * 0.999_999)))
      random.mockReturnValue(0)
      expect(rssLimit(low, MAX)).toBe(Math.round(MAX * (1 - RSS_JITTER * 0.999_999))) // kept for the incarnation
    } finally {
      random.mockRestore()
    }
    const limits = Array.from({ length: 200 }, () => rssLimit(slot(), MAX))
    expect(Math.min(...limits)).toBeGreaterThanOrEqual(MAX * (1 - RSS_JITTER))
    expect(Math.max(...limits)).toBeLessThanOrEqual(MAX)
    expect(new Set(limits).size).toBeGreaterThan(100)
    expect(rssLimit(slot(), Infinity)).toBe(Infinity)
  })
})

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })
  const worker = { startMethod, module: "pooled", cwd: FIXTURES }

  describe("recycling", () => {
    it("by call count: fresh workers replace old ones and no call fails", async () => {
      const p = (pool = await createPool({ worker, size: 2, maxCallsPerWorker: 10 }))
      const events: Array<PoolEvents["recycle"]> = []
      p.on("recycle", (e) => events.push(e))
      const pids = await Promise.all(Array.from({ length: 100 }, () => p.call("pid") as Promise<number>))
      expect(pids).toHaveLength(100)
      expect(new Set(pids).size).toBeGreaterThanOrEqual(10)
      expect(events.length).toBeGreaterThanOrEqual(8)
      expect(events.every((e) => e.calls === 10 && /maxCallsPerWorker 10/.test(e.reason))).toBe(true)
      // The last recycle may begin with the last answer: wait for the recycled processes to be gone
      // first, since two children may also mean "one still draining, its replacement not spawned yet".
      await expect.poll(() => events.filter((e) => isAlive(e.pid!))).toEqual([])
      await expect.poll(() => pythonChildren().length).toBe(2)
    })

    it("by resident memory: a worker that grows past maxWorkerRssMb is replaced between calls", async () => {
      const p = (pool = await createPool({ worker, size: 1, maxWorkerRssMb: 120, rssCheckIntervalMs: 50 }))
      const events: Array<PoolEvents["recycle"]> = []
      p.on("recycle", (e) => events.push(e))
      const pid = await p.call("pid")
      expect(await p.call("hold", { mb: 200 })).toBe(1)
      await expect.poll(() => events.length, { timeout: 5_000 }).toBe(1)
      expect(events[0]!.reason).toMatch(/resident memory \d+ MiB over maxWorkerRssMb \(120 MiB; this worker's limit, jittered by 10 % so workers do not recycle together: 1(0[89]|1\d|20) MiB\)/)
      const results = await Promise.all(Array.from({ length: 20 }, () => p.call("pid")))
      expect(results.every((r) => typeof r === "number" && r !== pid)).toBe(true)
      expect(p.snapshot().workers[0]).toMatchObject({ recycled: 1, restarts: 0 })
      await expect.poll(() => p.snapshot().workers[0]!.rss ?? Infinity).toBeLessThan(120 * 1024 * 1024)
    })

    it("by age: workerTtlMs replaces a worker with no failed call", async () => {
      const p = (pool = await createPool({ worker, size: 1, workerTtlMs: 200, rssCheckIntervalMs: 50 }))
      const first = await p.call("pid")
      await expect.poll(async () => p.call("pid"), { timeout: 60_000 }).not.toBe(first)
    })
  })
})
