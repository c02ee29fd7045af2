import { afterEach, describe, expect, it } from "vitest"
import { createPool, PythonError, SerializationError, UnknownHandlerError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, MATRIX } from "../helpers.ts"

describe.each(MATRIX)("calls on $python ($codec, $startMethod)", ({ python, startMethod }) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })
  const start = async (worker: { readonly prefetch?: number } = {}): Promise<Pool> =>
    (pool = await createPool({ worker: { startMethod, module: "basic", cwd: FIXTURES, python, ...worker }, size: 1 }))

  it("returns values with keyword and positional arguments", async () => {
    const p = await start()
    expect(await p.call("add", { a: 1, b: 2 })).toBe(3)
    expect(await p.call("add", [40, 2])).toBe(42)
    expect(await p.call("echo", { value: { s: "日本 🐍", n: [1, 2.5, null, true], big: 2 ** 40 } }))
      .toEqual({ s: "日本 🐍", n: [1, 2.5, null, true], big: 2 ** 40 })
    expect(await p.call("noop")).toBeNull()
    expect(await p.call("async_add", { a: 2, b: 3 })).toBe(5)
    expect(await p.call("count", { n: 4 })).toEqual([0, 1, 2, 3])
  })

  it("serves 1000 sequential calls correctly on one worker", async () => {
    const p = await start()
    const pid = p.snapshot().workers[0]!.pid
    for (let i = 0; i < 1000; i++) {
      expect(await p.call("add", { a: i, b: 1 })).toBe(i + 1)
    }
    expect(p.snapshot().workers[0]).toMatchObject({ pid, calls: 1000, state: "ready" })
  })

  it("prefetch 0: hands a worker exactly one call at a time", async () => {
    const p = await start({ prefetch: 0 })
    const transitions: Array<string> = []
    let maxInFlight = 0
    p.on("worker", (e) => {
      if (e.type === "state") transitions.push(e.state)
    })
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => {
      const call = p.call(i % 7 ? "add" : "boom", { a: i, b: 1 }).catch(() => "err")
      maxInFlight = Math.max(maxInFlight, p.snapshot().workers[0]!.inFlight)
      return call
    }))
    expect(results.filter((r) => r === "err")).toHaveLength(29)
    expect(p.snapshot().workers[0]!.calls).toBe(200)
    expect(maxInFlight).toBe(1)
    // Saturated by its first call and refilled from the queue at each answer: busy once, ready at the end.
    expect(transitions).toEqual(["busy", "ready"])
    // Alone, each call crosses the capacity edge both ways.
    transitions.length = 0
    for (let i = 0; i < 3; i++) await p.call("noop")
    expect(transitions).toEqual(["busy", "ready", "busy", "ready", "busy", "ready"])
  })

  it("prefetch (default 2): up to 3 calls in flight, answered in order; the machine moves only at the edges", async () => {
    const p = await start()
    const transitions: Array<string> = []
    let maxInFlight = 0
    p.on("worker", (e) => {
      if (e.type === "state") transitions.push(e.state)
    })
    const calls = Array.from({ length: 200 }, (_, i) => p.call(i % 7 ? "add" : "boom", { a: i, b: 1 }).catch(() => "err").finally(() => {
      maxInFlight = Math.max(maxInFlight, p.snapshot().workers[0]!.inFlight)
    }))
    maxInFlight = Math.max(maxInFlight, p.snapshot().workers[0]!.inFlight)
    const results = await Promise.all(calls)
    expect(results.filter((r) => r === "err")).toHaveLength(29)
    expect(results.filter((r) => r !== "err")).toEqual(Array.from({ length: 200 }, (_, i) => i).filter((i) => i % 7).map((i) => i + 1))
    expect(maxInFlight).toBe(3)
    expect(p.snapshot().workers[0]).toMatchObject({ calls: 200, inFlight: 0, state: "ready" })
    // Kept full by its queue, the worker stayed busy: one edge in, one out, not two per call.
    expect(transitions).toEqual(["busy", "ready"])
  })

  it("sequential calls on a prefetching worker cause no machine transition at all", async () => {
    const p = await start()
    const transitions: Array<string> = []
    p.on("worker", (e) => {
      if (e.type === "state") transitions.push(e.state)
    })
    for (let i = 0; i < 50; i++) expect(await p.call("add", { a: i, b: 1 })).toBe(i + 1)
    expect(transitions).toEqual([])
  })

  it("carries large binaries, sent from the caller's memory, intact among concurrent small calls", async () => {
    const p = await start({ prefetch: 4 })
    const sizes = [64 * 1024, 1024 * 1024 + 3, 200_000]
    const buffers = sizes.map((n, k) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + k) & 0xff)))
    const f64 = new Float64Array(20_000).map((_, i) => i / 7)
    const [a, small, b, typed, c] = await Promise.all([
      p.call("echo", { value: { data: buffers[0], tail: "t" } }),
      p.call("add", { a: 1, b: 2 }),
      p.call("echo", { value: [buffers[1], buffers[2]] }),
      p.call("echo", { value: f64 }),
      p.call("echo", { value: "after" })
    ])
    expect(Buffer.compare((a as { data: Buffer }).data, buffers[0]!)).toBe(0)
    expect((a as { tail: string }).tail).toBe("t")
    expect(small).toBe(3)
    expect((b as Array<Buffer>).map((x, i) => Buffer.compare(x, buffers[i + 1]!))).toEqual([0, 0])
    expect(typed).toEqual(f64)
    expect(c).toBe("after")
  })

  it("turns a handler exception into PythonError and keeps the same worker serving", async () => {
    const p = await start()
    const pid = await p.call("pid")
    const error = await p.call("boom", { message: "kaput" }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PythonError)
    expect(error).toMatchObject({ code: "PYTHON_ERROR", type: "ValueError", handler: "boom", workerId: "w1" })
    expect((error as PythonError).message).toBe("ValueError: kaput")
    expect((error as PythonError).traceback).toMatch(/Traceback[\s\S]*in boom[\s\S]*ValueError: kaput/)
    expect(await p.call("pid")).toBe(pid)
    expect(await p.call("add", { a: 1, b: 1 })).toBe(2)
  })

  it("rejects an unknown handler with the list of available ones", async () => {
    const p = await start()
    const error = await p.call("nope").catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnknownHandlerError)
    expect(error).toMatchObject({ code: "UNKNOWN_HANDLER", handler: "nope" })
    expect((error as UnknownHandlerError).available).toEqual(expect.arrayContaining(["add", "boom", "echo"]))
    expect((error as Error).message).toMatch(/no handler 'nope'.*available: .*add/)
    expect(await p.call("noop")).toBeNull()
  })

  it("forwards prints as log events and keeps calls unaffected", async () => {
    const p = await start()
    const lines: Array<string> = []
    p.on("log", (e) => lines.push(`${e.stream}:${e.line}`))
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => p.call(i % 2 ? "chatty" : "add", i % 2 ? { n: 3 } : { a: i, b: 0 })))
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 ? 3 : i)))
    await expect.poll(() => lines.filter((l) => l.startsWith("stdout:stdout line")).length).toBe(30)
    await expect.poll(() => lines.filter((l) => l.startsWith("stderr:stderr line")).length).toBe(30)
  })

  it("rejects unserialisable values with typed errors and lives on", async () => {
    const p = await start()
    await expect(p.call("echo", { value: () => 1 })).rejects.toThrow(SerializationError)
    await expect(p.call("echo", { value: Symbol("s") })).rejects.toThrow(/a symbol/)
    const fromPython = await p.call("unserializable").catch((e: unknown) => e)
    expect(fromPython).toBeInstanceOf(PythonError)
    expect(fromPython).toMatchObject({ type: "pyvisor.Unserializable" })
    // Bytes travel both ways with either codec.
    expect(Buffer.from(await p.call("binary", { size: 4 }) as Uint8Array)).toEqual(Buffer.from([0, 1, 2, 3]))
    expect(Buffer.from(await p.call("echo", { value: Buffer.from([7, 8]) }) as Uint8Array)).toEqual(Buffer.from([7, 8]))
    // A lone surrogate is refused on the host: it never costs a worker.
    await expect(p.call("echo", { value: "\ud800" })).rejects.toThrow(SerializationError)
    expect(await p.call("add", { a: 1, b: 2 })).toBe(3)
  })

  it("passes the session and the call id to ctx", async () => {
    const p = await start()
    expect(await p.call("whoami", undefined, { session: "user-42" })).toMatchObject({ session: "user-42", cancelled: false })
    expect(await p.call("whoami")).toMatchObject({ session: null })
  })
})
