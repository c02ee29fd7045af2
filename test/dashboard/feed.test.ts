import { describe, expect, it } from "vitest"
import { Feed } from "../../src/dashboard/feed.ts"
import type { DashboardSource } from "../../src/dashboard/feed.ts"
import { WorkerCrashedError } from "../../src/errors.ts"
import { Emitter } from "../../src/pool/events.ts"
import type { PoolEvents } from "../../src/pool/events.ts"
import type { PoolSnapshot, WorkerSnapshot } from "../../src/pool/snapshot.ts"

const summary = { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 }

/** A pool as the feed sees it: events it can be told, and a snapshot the test sets. */
const fakePool = () => {
  const events = new Emitter<PoolEvents>()
  let workers: Array<WorkerSnapshot> = [{ id: "w1", pid: 7, state: "ready", calls: 0, inFlight: 0, restarts: 0, recycled: 0, rss: null, pss: null, overflow: false }]
  const source: DashboardSource = {
    snapshot: (): PoolSnapshot => ({ state: "ready", python: { requested: "python3", executable: "python3", env: {} }, workers, queued: 0, metrics: { checkoutWaitMs: summary, callDurationMs: summary, utilization: 0 } }),
    on: (event, listener) => events.on(event, listener),
    control: () => null
  }
  return { events, source, setWorkers: (w: Array<WorkerSnapshot>) => (workers = w) }
}

const state = (from: string, to: string): PoolEvents["worker"] =>
  ({ type: "state", workerId: "w1", pid: 7, previous: from, state: to }) as PoolEvents["worker"]

describe("the dashboard feed", () => {
  it("keeps each worker's recent transitions, counting ready ⇄ busy flips on one line", () => {
    const pool = fakePool()
    const feed = new Feed(pool.source, false)
    pool.events.emit("worker", state("initializing", "ready"))
    for (let i = 0; i < 5; i++) pool.events.emit("worker", state(i % 2 === 0 ? "ready" : "busy", i % 2 === 0 ? "busy" : "ready"))
    pool.events.emit("worker", state("busy", "draining"))
    expect(feed.view().workers[0]!.recent).toEqual(["initializing → ready", "ready ⇄ busy ×5", "busy → draining"])
    feed.close()
  })

  it("shows a crashed incarnation as crashed (not 'none') until its replacement spawns, and the last crash", () => {
    const pool = fakePool()
    const feed = new Feed(pool.source, true)
    pool.events.emit("worker", state("ready", "crashed"))
    const error = new WorkerCrashedError({ message: "worker w1 (pid 7) killed by SIGKILL\n--- stderr ---\nboom", workerId: "w1", pid: 7, reason: "signal", exitCode: null, signal: "SIGKILL", stderrTail: "Traceback...\nboom\n" })
    pool.events.emit("worker", { type: "exit", workerId: "w1", pid: 7, exit: null, process: { code: null, signal: "SIGKILL" }, error })
    pool.setWorkers([{ id: "w1", pid: null, state: "none", calls: 0, inFlight: 0, restarts: 1, recycled: 0, rss: null, pss: null, overflow: false }])
    const view = feed.view()
    expect(view.workers[0]).toMatchObject({ state: "crashed", restarts: 1 })
    expect(view.lastCrash).toMatchObject({ workerId: "w1", pid: 7, message: "worker w1 (pid 7) killed by SIGKILL", stderrTail: "Traceback...\nboom\n" })
    expect(view.controls).toBe(true)
    // A clean stop is not a crash.
    pool.events.emit("worker", { type: "exit", workerId: "w1", pid: 8, exit: null, process: { code: 0, signal: null }, error: null })
    expect(feed.view().lastCrash?.pid).toBe(7)
    feed.close()
  })

  it("stops listening to the pool once closed", () => {
    const pool = fakePool()
    const feed = new Feed(pool.source, false)
    feed.close()
    pool.events.emit("worker", state("ready", "busy"))
    expect(feed.view().workers[0]!.recent).toEqual([])
  })
})
