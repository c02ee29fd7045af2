// Counterexamples the lifecycle property suite (lifecycle/lifecycle.test.ts) found, shrunk and
// pinned as plain tests.
import { describe, expect, it } from "vitest"
import { createPool } from "../../src/index.ts"
import { PoolClosedError } from "../../src/errors.ts"
import { fakeWorker } from "../../src/testing/index.ts"
import { FIXTURES } from "../helpers.ts"

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A worker whose `hold` calls wait for `release()`; `runs` counts each handler run by tag. */
const gated = () => {
  const gates: Array<() => void> = []
  const runs: Record<string, number> = {}
  const fake = fakeWorker({
    handlers: {
      hold: (_: unknown) => new Promise((resolve) => gates.push(() => resolve("held"))),
      tag: ({ tag }: { tag: string }) => {
        runs[tag] = (runs[tag] ?? 0) + 1
        return tag
      },
      tags: function*({ tag }: { tag: string }) {
        runs[tag] = (runs[tag] ?? 0) + 1
        yield tag
      }
    }
  })
  return { fake, runs, release: () => gates.splice(0).forEach((open) => open()) }
}

describe("regressions found by the lifecycle suite", () => {
  // [{size:1, prefetch:1}, call(hold), stream, sigterm(0), release(0)]: the stream call, prefetched
  // behind the held call, was refused by the worker stopping on an outside SIGTERM, and its caller
  // got PythonError "pyvisor.ShuttingDown" although it never ran and the pool was open.
  it("a call refused by a worker stopping on its own (SIGTERM from outside) runs on another worker, once", async () => {
    const { fake, runs, release } = gated()
    const pool = await createPool({ worker: { module: "fake", prefetch: 1 }, size: 1, heartbeat: false, spawner: fake })
    const held = pool.call("hold")
    const streamed: Array<unknown> = []
    const stream = (async () => {
      for await (const item of pool.stream("tags", { tag: "s" })) streamed.push(item)
    })()
    await turn()
    fake.processes[0]!.kill("SIGTERM")
    release()
    expect(await held).toBe("held")
    await stream
    expect(streamed).toEqual(["s"])
    expect(runs).toEqual({ s: 1 })
    expect(fake.processes).toHaveLength(2)
    await pool.close()
  })

  it("the same refusal while the pool closes is a PoolClosedError, not a PythonError", async () => {
    const { fake, release } = gated()
    const pool = await createPool({ worker: { module: "fake", prefetch: 1 }, size: 1, heartbeat: false, spawner: fake, shutdown: { graceMs: 0, killAfterMs: 60_000 } })
    const held = pool.call("hold")
    const prefetched = pool.call("tag", { tag: "c" }).then(() => "ran", (e: unknown) => e)
    await turn()
    const closing = pool.close()
    // The grace is over at once: SIGTERM; the held call ends, the prefetched one is refused.
    await turn()
    release()
    expect(await held).toBe("held")
    expect(await prefetched).toBeInstanceOf(PoolClosedError)
    await closing
    expect(fake.alive).toHaveLength(0)
  })

  it("with a real Python worker: SIGTERMed mid-call, its prefetched call runs on the replacement", async () => {
    const pool = await createPool({ worker: { module: "basic", cwd: FIXTURES, prefetch: 1 }, size: 1, heartbeat: false })
    try {
      const pid = pool.snapshot().workers[0]!.pid!
      const slow = pool.call("sleep_ms", { ms: 1_500 })
      const prefetched = pool.call("add", { a: 1, b: 2 })
      await expect.poll(() => pool.snapshot().workers[0]!.inFlight).toBe(2)
      // Python's reader thread queues the prefetched call within a few ms of its arrival.
      await new Promise((resolve) => setTimeout(resolve, 200))
      process.kill(pid, "SIGTERM")
      expect(await slow).toBe(1_500)
      expect(await prefetched).toBe(3)
      expect(pool.snapshot().workers[0]!.pid).not.toBe(pid)
    } finally {
      await pool.close()
    }
  })
})
