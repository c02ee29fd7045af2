// Counterexamples the lifecycle property suite (lifecycle/lifecycle.test.ts) found, shrunk and
// pinned as plain tests.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { acquirePool } from "../../src/effect/index.ts"
import { createPool } from "../../src/index.ts"
import { PoolClosedError } from "../../src/errors.ts"
import { fakeWorker } from "../../src/testing/index.ts"
import { FIXTURES } from "../helpers.ts"
import { track, until } from "./harness.ts"

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

  // [{size:2, prefetch:1}, …, sigterm, …]: a call refused by the stopping worker went back to the
  // queue, and another worker's answer dispatched it to the first idle slot: the stopping worker,
  // which had exited meanwhile, so the call was lost as if it had started.
  it("a worker that refused a call gets no more calls before it exits", async () => {
    const gates = new Map<string, () => void>()
    const runs: Array<string> = []
    const fake = fakeWorker({
      handlers: {
        hold: ({ tag }: { tag: string }) => new Promise((resolve) => gates.set(tag, () => resolve(tag))),
        tag: ({ tag }: { tag: string }, ctx) => (runs.push(`${tag}@${ctx.workerId}`), tag)
      }
    })
    const pool = await createPool({ worker: { module: "fake", prefetch: 1 }, size: 2, heartbeat: false, spawner: fake })
    const held = [pool.call("hold", { tag: "h1" }), pool.call("hold", { tag: "h2" })]
    const prefetched = pool.call("tag", { tag: "p" })
    await turn()
    const first = fake.alive.find((p) => p.queued === 1)!
    first.kill("SIGTERM")
    // Both answers in one turn: the refusal of p, then the other worker's answer, which pumps the queue.
    for (const open of gates.values()) open()
    expect(await Promise.all(held)).toEqual(["h1", "h2"])
    expect(await prefetched).toBe("p")
    expect(runs).toHaveLength(1)
    expect(runs[0]).not.toBe(`p@${first.workerId}`)
    await pool.close()
  })

  // [{size:2, prefetch:0}, call(idempotent, hold), crash(0, SIGSEGV)]: the retried call waited in
  // the queue for the crashed worker's replacement (its backoff) while the other worker sat idle.
  it.effect("a call retried after a crash runs at once on an idle worker, not after the replacement's backoff", () =>
    Effect.gen(function*() {
      const runs: Array<string> = []
      const fake = fakeWorker({ handlers: { once: (_: unknown, ctx) => (runs.push(ctx.workerId), runs.length === 1 ? new Promise(() => {}) : ctx.workerId) } })
      const pool = yield* acquirePool({ worker: { module: "fake", prefetch: 0 }, size: 2, heartbeat: false, spawner: fake })
      const call = track(pool.call("once", {}, { idempotent: true }))
      yield* until(() => runs.length === 1, "running")
      fake.alive.find((p) => p.running === 1)!.crash()
      // The test clock never moves: the replacement's backoff never ends.
      yield* until(() => call.settled, "answered by the idle worker")
      expect(call.value).not.toBe(runs[0])
      expect(runs).toHaveLength(2)
    }))

  // The same with a prefetched call that never started: requeued, it waited for the replacement.
  it.effect("a call requeued after a crash (never started there) runs at once on an idle worker", () =>
    Effect.gen(function*() {
      const gates = new Map<number, () => void>()
      const runs: Array<string> = []
      const fake = fakeWorker({
        handlers: {
          hold: (_: unknown, ctx) => new Promise((resolve) => gates.set(ctx.pid, () => resolve("held"))),
          tag: (_: unknown, ctx) => (runs.push(ctx.workerId), ctx.workerId)
        }
      })
      const pool = yield* acquirePool({ worker: { module: "fake", prefetch: 1 }, size: 2, heartbeat: false, spawner: fake })
      const held = [track(pool.call("hold")), track(pool.call("hold"))]
      // Both workers hold a call; this one is prefetched behind one of them.
      const call = track(pool.call("tag"))
      yield* until(() => fake.alive.some((p) => p.queued === 1) && gates.size === 2, "prefetched")
      const crashed = fake.alive.find((p) => p.queued === 1)!
      const other = fake.alive.find((p) => p !== crashed)!
      // The other worker frees up (and has nothing to do), then the one holding the prefetched call dies.
      gates.get(other.pid)!()
      yield* until(() => held.some((h) => h.settled), "one held call answered")
      crashed.crash()
      // The test clock never moves: the replacement's backoff never ends.
      yield* until(() => call.settled, "answered by the idle worker")
      expect(call.value).toBe(other.workerId)
      expect(runs).toEqual([other.workerId])
    }))
})
