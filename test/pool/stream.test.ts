import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { afterEach, describe, expect, it } from "vitest"
import { createPool, PythonError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, START_METHODS } from "../helpers.ts"

// The garbage collector, without starting Node with --expose-gc.
setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })
  const start = async (python = "python3"): Promise<Pool> =>
    (pool = await createPool({ worker: { startMethod, module: "pooled", cwd: FIXTURES, python }, size: 1 }))

  describe("streams", () => {
    it.each(["python3", "/usr/bin/python3"])("10 000 chunks arrive in order (%s)", async (python) => {
      const p = await start(python)
      let expected = 0
      for await (const value of p.stream("numbers", { n: 10_000 })) expect(value).toBe(expected++)
      expect(expected).toBe(10_000)
      expect(await p.call("pid")).toEqual(expect.any(Number))
    })

    it.each([1, 2, 7, 1000])("quick items come batched yet in order, within a window of %i", async (window) => {
      const p = await start("/usr/bin/python3")
      const n = window < 10 ? 2_000 : 10_000
      let expected = 0
      for await (const value of p.stream("numbers", { n }, { window })) expect(value).toBe(expected++)
      expect(expected).toBe(n)
      expect(await p.call("pid")).toEqual(expect.any(Number))
    })

    // A generator that yields, then blocks until the test lets it go: what it yielded must already
    // be here, not held for a batch.
    const gated = async (handler: string, quick: number): Promise<void> => {
      const p = await start()
      const gate = join(mkdtempSync(join(tmpdir(), "pyvisor-")), "gate")
      const it = p.stream(handler, { gate, quick })
      const seen: Array<unknown> = []
      for (let i = 0; i < quick; i++) {
        const next = await Promise.race([it.next(), new Promise((r) => setTimeout(r, 3_000, "held"))])
        expect(next, `item ${i} must arrive while the generator waits`).toEqual({ value: i, done: false })
        seen.push(i)
      }
      writeFileSync(gate, "")
      for await (const value of it) seen.push(value)
      expect(seen).toEqual([...Array(quick + 1).keys()])
    }

    it("a slow generator's item arrives before the next is produced", () => gated("gated", 1))

    it("an async generator's quick items arrive while it awaits", () => gated("agated", 3))

    it("ctx.emit streams too", async () => {
      const p = await start()
      const items: Array<unknown> = []
      for await (const item of p.stream("emitter", { n: 3 })) items.push(item)
      expect(items).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }])
    })

    it("an early break stops the Python generator and frees the worker", async () => {
      const p = await start()
      const dir = mkdtempSync(join(tmpdir(), "pyvisor-"))
      const marker = join(dir, "closed")
      let seen = 0
      for await (const _ of p.stream("numbers", { n: 1_000_000, marker })) if (++seen === 5) break
      await expect.poll(() => existsSync(marker)).toBe(true)
      await expect.poll(() => p.snapshot().workers[0]!.state).toBe("ready")
      expect(await p.call("pid")).toEqual(expect.any(Number))
    })

    it("backpressure: the generator runs at most a window ahead of a slow consumer", async () => {
      const p = await start()
      const progress = join(mkdtempSync(join(tmpdir(), "pyvisor-")), "progress")
      let taken = 0
      for await (const _ of p.stream("numbers", { n: 100_000, progress }, { window: 8 })) {
        if (++taken === 20) {
          await new Promise((r) => setTimeout(r, 200))
          const produced = Number(readFileSync(progress, "utf8"))
          // 20 taken + at most one window in flight (+1 for the item being produced).
          expect(produced).toBeLessThanOrEqual(20 + 8 + 1)
          break
        }
      }
    })

    it("an exception mid-stream arrives after the items before it", async () => {
      const p = await start()
      const items: Array<unknown> = []
      const error = await (async () => {
        for await (const item of p.stream("broken_stream", { n: 3 })) items.push(item)
      })().catch((e: unknown) => e)
      expect(items).toEqual([0, 1, 2])
      expect(error).toBeInstanceOf(PythonError)
      expect((error as Error).message).toMatch(/stream broke after 3 items/)
    })

    it("rejects a bad window, naming the bound", async () => {
      const p = await start()
      await expect(p.stream("numbers", { n: 1 }, { window: 0 }).next()).rejects.toMatchObject({ option: "options.window" })
      await expect(p.stream("numbers", { n: 1 }, { window: 1e9 }).next())
        .rejects.toThrow(/options\.window must be an integer from 1 to 65536.*1000000000/)
    })

    it("an iterator taken once and dropped without return() frees its worker once garbage-collected", async () => {
      const p = await start()
      const marker = join(mkdtempSync(join(tmpdir(), "pyvisor-")), "closed")
      // In a function of its own, so no variable of the test keeps the iterator alive.
      const takeOneAndDrop = async (): Promise<unknown> => (await p.stream("numbers", { n: 1_000_000, marker }, { window: 4 }).next()).value
      expect(await takeOneAndDrop()).toBe(0)
      expect(p.snapshot().workers[0]!.inFlight).toBe(1)
      await expect.poll(async () => {
        gc()
        await new Promise((r) => setImmediate(r))
        return existsSync(marker)
      }, { timeout: 10_000, interval: 50 }).toBe(true)
      await expect.poll(() => p.snapshot().workers[0]!.inFlight).toBe(0)
      expect(await p.call("pid")).toEqual(expect.any(Number))
    })

    it("close() cancels open streams (their generators end) instead of waiting for the grace and SIGKILL", async () => {
      const p = await start()
      const marker = join(mkdtempSync(join(tmpdir(), "pyvisor-")), "closed")
      const it = p.stream("numbers", { n: 1_000_000, marker }, { window: 4 })
      expect((await it.next()).value).toBe(0)
      const exits: Array<{ signal: string | null }> = []
      p.on("worker", (e) => void (e.type === "exit" && exits.push({ signal: e.process.signal })))
      const started = performance.now()
      await p.close({ timeoutMs: 20_000 })
      expect(performance.now() - started).toBeLessThan(10_000) // far from the 20 s grace
      expect(existsSync(marker)).toBe(true) // the generator's finally ran: cancelled, not killed
      expect(exits.map((e) => e.signal)).toEqual([null])
      // The consumer drains what was buffered, then hears why the stream stopped.
      const error = await (async () => {
        for (let r = await it.next(); !r.done; r = await it.next()) void r
      })().catch((e: unknown) => e)
      expect(error).toMatchObject({ _tag: "PoolClosedError" })
    })
  })
})
