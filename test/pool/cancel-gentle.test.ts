import { afterEach, describe, expect, it } from "vitest"
import { AbortError, CallTimeoutError, createPool } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, INTERPRETERS, isAlive } from "../helpers.ts"

/**
 * Calls `name`, aborts it once the worker logs `line` (proof that the handler runs, so the cancel
 * reaches its frame), and returns what the call rejected with.
 */
const abortWhenLogged = async (p: Pool, name: string, args: Record<string, unknown> | undefined, line: string): Promise<unknown> => {
  const controller = new AbortController()
  const running = new Promise<void>((resolve) => p.on("log", (e) => e.line === line && resolve()))
  const call = p.call(name, args, { signal: controller.signal }).catch((e: unknown) => e)
  await running
  controller.abort()
  return call
}

// Cancelling a running call tries Python first (Cancelled raised in a sync handler, the task
// cancelled for an async one); only a handler that does not stop within cancelGraceMs costs its worker.
describe.each(INTERPRETERS)("gentle cancellation on $python ($codec)", ({ python }) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close({ timeoutMs: 0 })
    pool = undefined
  })
  // prefetch 0 where a call must wait in the pool's queue rather than in Python's.
  const start = async (cancelGraceMs: number, prefetch = 2): Promise<Pool> =>
    (pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES, python, prefetch }, size: 1, cancelGraceMs }))

  it("a `while True: pass` handler is stopped by timeoutMs: the same worker serves the next call", async () => {
    const p = await start(60_000)
    const pid = await p.call("pid") as number
    const error = await p.call("spin", undefined, { timeoutMs: 200 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CallTimeoutError)
    expect(error).toMatchObject({ code: "CALL_TIMEOUT", handler: "spin", timeoutMs: 200, ended: "cancelled-in-python" })
    expect((error as Error).message).toMatch(/cancelled in Python/)
    expect(await p.call("pid")).toBe(pid)
    expect(p.snapshot().workers[0]).toMatchObject({ pid, restarts: 0, inFlight: 0 })
  })

  it("an abort stops a pure-Python loop too, and its finally block runs", async () => {
    const p = await start(60_000)
    const pid = await p.call("pid") as number
    const error = await abortWhenLogged(p, "spin_and_clean", undefined, "spinning")
    expect(error).toBeInstanceOf(AbortError)
    expect(error).toMatchObject({ ended: "cancelled-in-python" })
    expect(await p.call("counters")).toMatchObject({ finally: 1 })
    expect(await p.call("pid")).toBe(pid)
  })

  it("`time.sleep(30)` cannot be interrupted: the worker is killed after the grace and replaced", async () => {
    const p = await start(300)
    const pid = await p.call("pid") as number
    const error = await p.call("sleep_in_c", { s: 30 }, { timeoutMs: 200 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CallTimeoutError)
    expect(error).toMatchObject({ ended: "worker-killed" })
    expect((error as Error).message).toMatch(/its worker was killed/)
    // The error comes once the call has stopped: its process is already gone.
    expect(isAlive(pid)).toBe(false)
    const next = await p.call("pid") as number
    expect(next).not.toBe(pid)
    expect(p.snapshot().workers[0]).toMatchObject({ restarts: 1, state: "ready" })
  })

  it("an async handler's task is cancelled: its finally ran, the worker lives on", async () => {
    const p = await start(60_000)
    const pid = await p.call("pid") as number
    expect(await abortWhenLogged(p, "async_wait", { ms: 30_000 }, "waiting")).toMatchObject({ _tag: "AbortError", ended: "cancelled-in-python" })
    expect(await p.call("counters")).toMatchObject({ finally: 1 })
    expect(await p.call("pid")).toBe(pid)
  })

  // An `async def` that never awaits: its task's cancel alone would never reach it, so its running
  // step gets the exception, with one call at a time and with tasks interleaving.
  it.each([1, 4])("an `async def` spinning in `while True: pass` is stopped by timeoutMs (concurrency %i)", async (concurrency) => {
    pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES, python, concurrency }, size: 1, cancelGraceMs: 60_000 })
    const pid = await pool.call("pid") as number
    const error = await pool.call("spin_async", undefined, { timeoutMs: 200 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CallTimeoutError)
    expect(error).toMatchObject({ code: "CALL_TIMEOUT", handler: "spin_async", timeoutMs: 200, ended: "cancelled-in-python" })
    expect(await pool.call("pid")).toBe(pid)
    expect(pool.snapshot().workers[0]).toMatchObject({ pid, restarts: 0, inFlight: 0 })
  })

  it("an abort stops a spinning `async def`: `except asyncio.CancelledError` and `finally` run", async () => {
    const p = await start(60_000)
    const pid = await p.call("pid") as number
    const error = await abortWhenLogged(p, "spin_async_and_clean", undefined, "spinning async")
    expect(error).toMatchObject({ _tag: "AbortError", ended: "cancelled-in-python" })
    expect(await p.call("counters")).toMatchObject({ async_caught: 1, async_finally: 1 })
    expect(await p.call("pid")).toBe(pid)
  })

  it("a handler that swallows Cancelled and returns: its result is dropped, ended is 'returned'", async () => {
    const p = await start(60_000)
    const pid = await p.call("pid") as number
    const error = await abortWhenLogged(p, "stubborn", undefined, "stubborn")
    expect(error).toMatchObject({ _tag: "AbortError", ended: "returned" })
    expect((error as Error).message).toMatch(/ignored the cancel and returned/)
    expect(await p.call("pid")).toBe(pid)
  })

  it("a call timed out while waiting for a worker never starts", async () => {
    const p = await start(60_000, 0)
    const running = p.call("spin", undefined, { timeoutMs: 400 }).catch((e: unknown) => e)
    const queued = await p.call("pid", undefined, { timeoutMs: 100 }).catch((e: unknown) => e)
    expect(queued).toMatchObject({ _tag: "CallTimeoutError", ended: "never-started" })
    expect(await running).toMatchObject({ ended: "cancelled-in-python" })
  })
})
