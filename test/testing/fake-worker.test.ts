// Each fakeWorker behaviour, seen through the public pool API only (createPool, call, stream,
// close, snapshot): what a user testing their own pool code gets.
import { afterEach, describe, expect, it } from "vitest"
import { createPool } from "../../src/index.ts"
import type { Pool, PoolOptions } from "../../src/index.ts"
import {
  AbortError, CallTimeoutError, InvalidOptionError, ProtocolError, PythonError, UnknownHandlerError, WorkerCrashedError
} from "../../src/errors.ts"
import { fakeWorker } from "../../src/testing/index.ts"
import type { FakeSpawner, FakeWorkerOptions } from "../../src/testing/index.ts"

const pools: Array<Pool> = []
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()))
})

const poolWith = async (fake: FakeSpawner, options: Partial<PoolOptions> = {}): Promise<Pool> => {
  const pool = await createPool({ worker: { module: "fake" }, size: 1, heartbeat: false, spawner: fake, ...options })
  pools.push(pool)
  return pool
}

const fakePool = (options: FakeWorkerOptions, pool: Partial<PoolOptions> = {}) => {
  const fake = fakeWorker(options)
  return poolWith(fake, pool).then((p) => ({ fake, pool: p }))
}

const rejection = (promise: Promise<unknown>): Promise<unknown> => promise.then((v) => {
  throw new Error(`expected a rejection, got ${JSON.stringify(v)}`)
}, (e: unknown) => e)

describe("fakeWorker: calls", () => {
  it("runs sync and async handlers with keyword or positional arguments, on both codecs", async () => {
    for (const codecs of [["json"], ["msgpack"]] as const) {
      const { pool } = await fakePool({
        codecs,
        handlers: { add: ({ a, b }: { a: number; b: number }) => a + b, later: async (xs: Array<number>) => xs.map((x) => x * 2) }
      })
      expect(await pool.call("add", { a: 1, b: 2 })).toBe(3)
      expect(await pool.call("later", [1, 2])).toEqual([2, 4])
    }
  })

  it("a thrown error becomes a PythonError of its `type` (or its name), with the message", async () => {
    const { pool } = await fakePool({
      handlers: {
        value: () => { throw Object.assign(new Error("bad value"), { type: "ValueError" }) },
        plain: async () => { throw new TypeError("not a number") }
      }
    })
    const value = await rejection(pool.call("value"))
    expect(value).toBeInstanceOf(PythonError)
    expect(value).toMatchObject({ type: "ValueError", message: "ValueError: bad value", handler: "value", workerId: "w1" })
    expect(await rejection(pool.call("plain"))).toMatchObject({ type: "TypeError", message: "TypeError: not a number" })
  })

  it("a handler the worker does not have is an UnknownHandlerError, as with Python", async () => {
    const { pool } = await fakePool({ handlers: { add: () => 0 } })
    expect(await rejection(pool.call("ad"))).toBeInstanceOf(UnknownHandlerError)
  })

  it("a generator outside a stream answers with the list of its items", async () => {
    const { pool } = await fakePool({ handlers: { count: function*({ n }: { n: number }) { for (let i = 0; i < n; i++) yield i } } })
    expect(await pool.call("count", { n: 4 })).toEqual([0, 1, 2, 3])
  })

  it("ctx.callHost reaches the pool's hostHandlers with the call's session", async () => {
    const { pool } = await fakePool(
      { handlers: { ask: async ({ q }: { q: string }, ctx) => `answer: ${String(await ctx.callHost("lookup", { q }))}` } },
      { hostHandlers: { lookup: (args, who) => `${(args as { q: string }).q}@${who.session ?? "-"}` } }
    )
    expect(await pool.call("ask", { q: "x" }, { session: "s1" })).toBe("answer: x@s1")
  })
})

describe("fakeWorker: streams", () => {
  it("a generator streams within its credit: the items sent stay within the window ahead of the consumer", async () => {
    let produced = 0
    const { pool } = await fakePool({ handlers: { tokens: function*({ n }: { n: number }) { for (let i = 0; i < n; i++) yield produced++ } } })
    let consumed = 0
    let maxAhead = 0
    for await (const item of pool.stream("tokens", { n: 100 }, { window: 8 })) {
      expect(item).toBe(consumed)
      consumed++
      await new Promise((resolve) => setImmediate(resolve))
      maxAhead = Math.max(maxAhead, produced - consumed)
    }
    expect(consumed).toBe(100)
    // The window (8), plus the one item the generator has made and holds until credit comes.
    expect(maxAhead).toBeLessThanOrEqual(9)
    expect(maxAhead).toBeGreaterThan(1)
  })

  it("breaking out of a stream cancels it: the generator's finally runs, the worker serves on", async () => {
    let closed = false
    const { pool } = await fakePool({
      handlers: {
        endless: async function*() {
          try {
            for (let i = 0; ; i++) yield i
          } finally {
            closed = true
          }
        },
        ok: () => "ok"
      }
    })
    const seen: Array<unknown> = []
    for await (const item of pool.stream("endless", {}, { window: 4 })) {
      seen.push(item)
      if (seen.length === 3) break
    }
    expect(seen).toEqual([0, 1, 2])
    expect(await pool.call("ok")).toBe("ok")
    expect(closed).toBe(true)
  })
})

describe("fakeWorker: failures", () => {
  it("crashAfter: the call that kills the process gets WorkerCrashedError, the pool restarts it", async () => {
    const { fake, pool } = await fakePool({ handlers: { pid: (_, ctx) => ctx.pid }, crashAfter: 2 })
    const first = await pool.call("pid")
    expect(await pool.call("pid")).toBe(first)
    const crashed = await rejection(pool.call("pid"))
    expect(crashed).toBeInstanceOf(WorkerCrashedError)
    expect(crashed).toMatchObject({ reason: "exit", exitCode: 1 })
    expect((crashed as WorkerCrashedError).stderrTail).toContain("crashAfter 2")
    expect(await pool.call("pid")).not.toBe(first)
    expect(fake.processes).toHaveLength(2)
  })

  it("crashAfter: an idempotent call is retried on the replacement; calls queued behind it run once, elsewhere", async () => {
    const runs: Array<string> = []
    const { fake, pool } = await fakePool(
      { handlers: { job: ({ tag }: { tag: string }) => (runs.push(tag), tag) }, crashAfter: { calls: 1, signal: "SIGSEGV" } },
      { worker: { module: "fake", prefetch: 2 } }
    )
    expect(await pool.call("job", { tag: "a" })).toBe("a")
    // b kills the first process; c and d were prefetched behind it and never started there. On the
    // replacement, b (retried) runs and c kills it in turn; d, still never started, runs on a third.
    const [b, c, d] = await Promise.all([
      pool.call("job", { tag: "b" }, { idempotent: true }),
      rejection(pool.call("job", { tag: "c" })),
      pool.call("job", { tag: "d" })
    ])
    expect(b).toBe("b")
    expect(c).toBeInstanceOf(WorkerCrashedError)
    expect(c).toMatchObject({ reason: "signal", signal: "SIGSEGV" })
    expect(d).toBe("d")
    expect(runs).toEqual(["a", "b", "d"])
    expect(fake.processes).toHaveLength(3)
  })

  it("hangOn: a call timeout cancels, the cancel is ignored, the cancel grace kills the worker", async () => {
    const { fake, pool } = await fakePool({ handlers: { ok: () => "ok" }, hangOn: ["stuck"] }, { cancelGraceMs: 10 })
    expect(await rejection(pool.call("stuck", {}, { timeoutMs: 20 }))).toBeInstanceOf(CallTimeoutError)
    const wedged = fake.processes[0]!
    await wedged.exited
    expect(wedged.exit).toEqual({ code: null, signal: "SIGKILL" })
    expect(await pool.call("ok")).toBe("ok")
  })

  it("hangOn: a wedged worker ignores SIGTERM, so close ends it with SIGKILL after killAfterMs", async () => {
    const fake = fakeWorker({ handlers: {}, hangOn: ["stuck"] })
    const pool = await createPool({ worker: { module: "fake" }, size: 1, spawner: fake, shutdown: { graceMs: 10, killAfterMs: 10 } })
    const call = rejection(pool.call("stuck"))
    await new Promise((resolve) => setImmediate(resolve))
    await pool.close()
    expect(await call).toBeInstanceOf(WorkerCrashedError)
    expect(fake.processes[0]!.exit).toEqual({ code: null, signal: "SIGKILL" })
  })

  it("garbageOn: undecodable bytes on fd 4 are a ProtocolError, and the worker is replaced", async () => {
    for (const codecs of [["json"], ["msgpack"]] as const) {
      const { fake, pool } = await fakePool({ codecs, handlers: { ok: () => "ok" }, garbageOn: ["bad"] })
      expect(await rejection(pool.call("bad"))).toBeInstanceOf(ProtocolError)
      expect(await pool.call("ok")).toBe("ok")
      expect(fake.processes[0]!.exit).toEqual({ code: null, signal: "SIGKILL" })
      expect(fake.processes).toHaveLength(2)
    }
  })

  it("ctx.exit(code) ends the process like sys.exit: the call gets WorkerCrashedError with that code", async () => {
    const { pool } = await fakePool({ handlers: { quit: (_, ctx) => ctx.exit(7), ok: () => "ok" } })
    expect(await rejection(pool.call("quit"))).toMatchObject({ _tag: "WorkerCrashedError", exitCode: 7 })
    expect(await pool.call("ok")).toBe("ok")
  })

  it("initError: the start fails with the import's Python exception as the cause", async () => {
    const fake = fakeWorker({ handlers: {}, initError: { type: "ModuleNotFoundError", message: "No module named 'app'" } })
    const error = await rejection(createPool({ worker: { module: "app" }, size: 1, spawner: fake }))
    expect(error).toBeInstanceOf(WorkerCrashedError)
    expect((error as WorkerCrashedError).message).toContain("ModuleNotFoundError: No module named 'app'")
    expect(fake.alive).toHaveLength(0)
  })
})

describe("fakeWorker: cancel and stop", () => {
  it("aborting a running call answers it at once; the handler sees ctx.cancelled and its signal", async () => {
    let seen: { cancelled: boolean } | undefined
    const { pool } = await fakePool({
      handlers: {
        wait: (_, ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve(seen = { cancelled: ctx.cancelled }))),
        ok: () => "ok"
      }
    })
    const controller = new AbortController()
    const call = rejection(pool.call("wait", {}, { signal: controller.signal }))
    await new Promise((resolve) => setImmediate(resolve))
    controller.abort()
    expect(await call).toBeInstanceOf(AbortError)
    expect(await pool.call("ok")).toBe("ok")
    expect(seen).toEqual({ cancelled: true })
  })

  it("close lets the running call finish, then every process exits 0", async () => {
    let release!: () => void
    const fake = fakeWorker({ handlers: { slow: () => new Promise((resolve) => (release = () => resolve("done"))) } })
    const pool = await createPool({ worker: { module: "fake" }, size: 2, spawner: fake })
    const call = pool.call("slow")
    await new Promise((resolve) => setImmediate(resolve))
    const closing = pool.close()
    release()
    expect(await call).toBe("done")
    await closing
    expect(fake.alive).toHaveLength(0)
    expect(fake.processes.map((p) => p.exit)).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }])
  })
})

describe("fakeWorker: options", () => {
  it("the pool's spawner must be a function", async () => {
    expect(await rejection(createPool({ worker: { module: "fake" }, spawner: "python" as never }))).toMatchObject({
      _tag: "InvalidOptionError", option: "spawner"
    })
  })

  it("bad fakeWorker options are InvalidOptionErrors naming the option", () => {
    const bad: ReadonlyArray<[unknown, string]> = [
      [{}, "handlers"],
      [{ handlers: { a: 1 } }, "handlers.a"],
      [{ handlers: {}, crashAfter: -1 }, "crashAfter"],
      [{ handlers: {}, crashAfter: { calls: 1, signal: "KILL" } }, "crashAfter.signal"],
      [{ handlers: {}, hangOn: "x" }, "hangOn"],
      [{ handlers: {}, initDelayMs: -5 }, "initDelayMs"],
      [{ handlers: {}, codecs: ["cbor"] }, "codecs"],
      [{ handlers: {}, crashafter: 1 }, "crashafter"]
    ]
    for (const [options, option] of bad) {
      let error: unknown
      try {
        fakeWorker(options as FakeWorkerOptions)
      } catch (e) {
        error = e
      }
      expect(error, option).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe(option)
    }
  })
})
