import { afterEach, describe, expect, it } from "vitest"
import { createPool } from "../../src/index.ts"
import type { Pool, PoolEvents } from "../../src/index.ts"
import { FIXTURES, isAlive, pythonChildren, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })
  const worker = { startMethod, module: "pooled", cwd: FIXTURES }

  interface Span { pid: number; start: number; end: number }
  const maxOverlap = (spans: ReadonlyArray<Span>): number => {
    const edges = spans.flatMap((s) => [[s.start, 1], [s.end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1])
    let now = 0
    let max = 0
    for (const [, d] of edges) max = Math.max(max, (now += d))
    return max
  }

  describe("scheduling", () => {
    it("4 workers run 200 concurrent 50 ms calls truly in parallel, every worker serving", async () => {
      pool = await createPool({ worker, size: 4 })
      const pids = new Set(pool.snapshot().workers.map((w) => w.pid))
      const t0 = performance.now()
      const spans = await Promise.all(Array.from({ length: 200 }, () => pool!.call("span", { ms: 50 }) as Promise<Span>))
      const wall = performance.now() - t0
      expect(maxOverlap(spans)).toBe(4)
      expect(new Set(spans.map((s) => s.pid))).toEqual(pids)
      for (const pid of pids) expect(spans.filter((s) => s.pid === pid).length).toBeGreaterThan(20)
      // Sequential would be 10 s; four-way parallel is 2.5 s. Generous bound for a shared machine.
      expect(wall).toBeLessThan(200 * 50 / 2)
      expect(pool.snapshot().metrics.callDurationMs.count).toBe(200)
    })

    it("eager: all 8 workers are up before createPool resolves, with warm-up progress and time to ready", async () => {
      const progress: Array<string> = []
      const order: Array<string> = []
      pool = await createPool({
        worker, size: 8,
        on: { warmup: (e) => progress.push(`${e.ready}/${e.total}`), ready: (e) => order.push(`ready:${e.timeToReadyMs > 0}`) }
      })
      expect(progress).toEqual(["1/8", "2/8", "3/8", "4/8", "5/8", "6/8", "7/8", "8/8"])
      expect(order).toEqual(["ready:true"])
      const snap = pool.snapshot()
      expect(snap.state).toBe("ready")
      expect(snap.workers.map((w) => w.state)).toEqual(Array(8).fill("ready"))
      const pids = snap.workers.map((w) => w.pid!)
      expect(new Set(pids).size).toBe(8)
      for (const pid of pids) expect(isAlive(pid)).toBe(true)
      expect(pythonChildren().sort()).toEqual([...pids].sort())
    })

    it("reports warm-up progress and time to ready", async () => {
      const p = await createPool({ worker, size: 3, lazy: true })
      pool = p
      const progress: Array<string> = []
      let readyEvent: PoolEvents["ready"] | undefined
      p.on("warmup", (e) => progress.push(`${e.ready}/${e.total}`))
      p.on("ready", (e) => (readyEvent = e))
      await p.call("pid")
      await p.ready
      expect(progress).toHaveLength(3)
      expect(progress.at(-1)).toBe("3/3")
      expect(readyEvent!.timeToReadyMs).toBeGreaterThan(0)
    })

    it("utilization follows busy time exactly under back-to-back load", async () => {
      const p = (pool = await createPool({ worker, size: 1 }))
      await Promise.all(Array.from({ length: 20 }, () => p.call("span", { ms: 20 })))
      const { utilization, callDurationMs } = p.snapshot().metrics
      expect(callDurationMs.count).toBe(20)
      // One worker busy for ~400 ms since a start of well under a second: far above the 1.5 % once reported.
      expect(utilization).toBeGreaterThan(0.2)
    })

    it("reports exhaustion once per episode: queue non-empty and no idle worker", async () => {
      const p = (pool = await createPool({ worker: { ...worker, prefetch: 0 }, size: 1 }))
      const exhausted: Array<number> = []
      p.on("exhausted", (e) => exhausted.push(e.queued))
      await Promise.all([p.call("span", { ms: 50 }), p.call("pid"), p.call("pid")])
      expect(exhausted).toEqual([1])
      await p.call("pid")
      expect(exhausted).toEqual([1])
      await Promise.all([p.call("span", { ms: 50 }), p.call("pid")])
      expect(exhausted).toEqual([1, 1])
    })

    it("lazy: no process before the first call", async () => {
      pool = await createPool({ worker, size: 2, lazy: true })
      expect(pythonChildren()).toEqual([])
      expect(pool.snapshot().workers.map((w) => w.state)).toEqual(["none", "none"])
      expect(typeof (await pool.call("pid"))).toBe("number")
      await pool.ready
      expect(pythonChildren()).toHaveLength(2)
    })

    it("bounds parallel starts by startConcurrency", async () => {
      const p = await createPool({ worker, size: 4, lazy: true, startConcurrency: 1 })
      pool = p
      let starting = 0
      let maxStarting = 0
      p.on("worker", (e) => {
        if (e.type !== "state") return
        if (e.state === "initializing") maxStarting = Math.max(maxStarting, ++starting)
        else if (e.previous === "initializing") starting--
      })
      await p.call("pid")
      await p.ready
      expect(maxStarting).toBe(1)
    })

    it("overflow: grows to size + overflow under load, never beyond, then shrinks after idle", async () => {
      const p = await createPool({ worker, size: 2, overflow: 2, idleTimeoutMs: 300 })
      pool = p
      let maxWorkers = 0
      const recycled: Array<string> = []
      p.on("worker", () => (maxWorkers = Math.max(maxWorkers, p.snapshot().workers.filter((w) => w.state !== "none").length)))
      p.on("recycle", (e) => recycled.push(e.workerId))
      const spans = await Promise.all(Array.from({ length: 40 }, () => p.call("span", { ms: 100 }) as Promise<Span>))
      expect(maxWorkers).toBe(4)
      expect(new Set(spans.map((s) => s.pid)).size).toBe(4)
      expect(maxOverlap(spans)).toBeLessThanOrEqual(4)
      await expect.poll(() => p.snapshot().workers.length, { timeout: 5_000 }).toBe(2)
      expect(recycled.sort()).toEqual(["o1", "o2"])
      expect(pythonChildren()).toHaveLength(2)
    })
  })
})
