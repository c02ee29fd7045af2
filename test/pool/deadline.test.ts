import { afterEach, describe, expect, it } from "vitest"
import { CallTimeoutError, createPool, InvalidOptionError, PythonError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { armProgramDeadline } from "../../src/pool/deadlines.ts"
import { Job } from "../../src/pool/job.ts"
import type { InterruptError } from "../../src/pool/job.ts"
import { makeSession } from "../../src/pool/session.ts"
import type { SessionHost } from "../../src/pool/session.ts"
import { failingIterator } from "../../src/pool/stream.ts"
import { FIXTURES } from "../helpers.ts"

let pool: Pool | undefined
afterEach(async () => {
  await pool?.close()
  pool = undefined
})

type Seen = { readonly deadline: number | null; readonly now: number; readonly left: number | null }

describe("timeoutMs travels with the call", () => {
  it("Python sees what is left of the budget as ctx.deadline and ctx.time_left(); None without a timeout", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES, prefetch: 0 }, size: 1 })
    expect(await p.call("deadline")).toEqual({ deadline: null, now: expect.any(Number), left: null })
    const seen = await p.call("deadline", undefined, { timeoutMs: 30_000 }) as Seen
    expect(seen.left).toBeGreaterThan(20)
    expect(seen.left).toBeLessThanOrEqual(30)
    expect(seen.deadline! - seen.now).toBeCloseTo(seen.left!, 2)
    // Time spent waiting in the pool's queue is taken off the budget Python sees.
    const busy = p.call("sleep_in_c", { s: 1 })
    const queued = p.call("deadline", undefined, { timeoutMs: 30_000 }) as Promise<Seen>
    await busy
    expect((await queued).left).toBeLessThanOrEqual(29)
  })
})

describe("a session's default timeoutMs", () => {
  it("applies to the session's calls and streams without one; a call's own timeoutMs wins, larger or smaller", async () => {
    const calls: Array<unknown> = []
    const host: SessionHost = {
      call: (_name, _args, options) => (calls.push(options), Promise.resolve(undefined)),
      stream: (_name, _args, options) => {
        calls.push(options)
        return failingIterator(new Error("unused"))
      },
      closeSession: () => Promise.resolve()
    }
    const s = makeSession(host, "s1", { timeoutMs: 500 })
    await s.call("f")
    await s.call("f", {}, { timeoutMs: 60_000 })
    await s.call("f", {}, { timeoutMs: 5 })
    await s.call("f", {}, { timeoutMs: undefined } as never)
    s.stream("g", {}, { window: 2 })
    s.stream("g", {}, { timeoutMs: 7 })
    await makeSession(host, "s2", {}).call("f")
    expect(calls).toEqual([
      { session: "s1", affinity: "prefer", timeoutMs: 500 },
      { session: "s1", affinity: "prefer", timeoutMs: 60_000 },
      { session: "s1", affinity: "prefer", timeoutMs: 5 },
      { session: "s1", affinity: "prefer", timeoutMs: 500 },
      { window: 2, session: "s1", affinity: "prefer", timeoutMs: 500 },
      { timeoutMs: 7, session: "s1", affinity: "prefer" },
      { session: "s2", affinity: "prefer" }
    ])
  })

  it("Python sees it as ctx.time_left(); a call's own timeoutMs replaces it; a call without a session has none", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES, prefetch: 0 }, size: 1 })
    const s = p.session("bounded", { timeoutMs: 30_000 })
    const seen = await s.call("deadline") as Seen
    expect(seen.left).toBeGreaterThan(20)
    expect(seen.left).toBeLessThanOrEqual(30)
    expect((await s.call("deadline", undefined, { timeoutMs: 120_000 }) as Seen).left).toBeGreaterThan(60)
    expect((await s.call("deadline", undefined, { timeoutMs: 5_000 }) as Seen).left).toBeLessThanOrEqual(5)
    expect(await p.call("deadline")).toMatchObject({ deadline: null, left: null })
  })

  it("a call that runs past it is cancelled in Python and fails with CallTimeoutError; the worker lives on", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES, prefetch: 0 }, size: 1 })
    const pid = await p.call("pid")
    const s = p.session("short", { timeoutMs: 200 })
    const error = await s.call("spin").catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CallTimeoutError)
    expect(error).toMatchObject({ handler: "spin", timeoutMs: 200, ended: "cancelled-in-python" })
    // A stream is bounded as a whole.
    const items: Array<unknown> = []
    const streamError = await (async () => {
      for await (const item of s.stream("emit_forever", undefined, { window: 4 })) items.push(item)
    })().catch((e: unknown) => e)
    expect(streamError).toBeInstanceOf(CallTimeoutError)
    expect(streamError).toMatchObject({ handler: "emit_forever", timeoutMs: 200 })
    expect(await p.call("pid")).toBe(pid)
  })

  it("a bad value is refused when the session is made, naming the option and the value", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES }, size: 1, lazy: true })
    expect(() => p.session("s", { timeoutMs: 0 })).toThrow(InvalidOptionError)
    expect(() => p.session("s", { timeoutMs: "5000" as never })).toThrow(
      "session.timeoutMs must be an integer from 1, at most 2147483647 ms (~24.8 days), got '5000'"
    )
  })
})

describe("a program's default timeout (ctx.programs.create(..., timeout_ms=) or @program(..., timeout_ms=))", () => {
  const start = async (size = 1): Promise<Pool> =>
    (pool = await createPool({ worker: { module: "store_worker", cwd: FIXTURES, prefetch: 0 }, size }))

  type Deadlines = { readonly before: number | null; readonly left: number | null; readonly pid: number }

  it("is stored with the program and bounds a call without a timeout on a worker that never built it", { timeout: 30_000 }, async () => {
    const p = await start()
    const creator = await p.call("whoami") as number
    const id = await p.call("create_program", { kind: "echo", spec: 1, timeout_ms: 300 }) as string
    expect(await p.call("store_get", { key: `program:${id}` })).toEqual({ kind: "echo", spec: 1, timeout_ms: 300 })
    // The creator (which holds the built program) is gone: its replacement rebuilds it from the store.
    process.kill(creator, "SIGKILL")
    await expect.poll(() => p.snapshot().workers.every((w) => w.state === "ready" && w.pid !== creator), { timeout: 10_000 }).toBe(true)
    const error = await p.call("run_program_until_cancelled", { program_id: id }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CallTimeoutError)
    expect(error).toMatchObject({ handler: "run_program_until_cancelled", timeoutMs: 300, ended: "cancelled-in-python" })
    expect((error as Error).message).toMatch(/did not finish within 300 ms, the default timeout of the program it ran/)
    // The worker lives on, and the next call has no deadline until it gets a program.
    expect(await p.call("program_deadline")).toMatchObject({ before: null, left: null })
  })

  it("Python's ctx.time_left() shows it; the kind's default applies to programs created without one", async () => {
    const p = await start()
    const own = await p.call("create_program", { kind: "echo", timeout_ms: 20_000 }) as string
    const kinds = await p.call("create_program", { kind: "bounded" }) as string
    const none = await p.call("create_program", { kind: "echo" }) as string
    const seenOwn = await p.call("program_deadline", { program_ids: [own] }) as Deadlines
    expect(seenOwn.before).toBeNull()
    expect(seenOwn.left).toBeGreaterThan(15)
    expect(seenOwn.left).toBeLessThanOrEqual(20)
    const seenKinds = await p.call("program_deadline", { program_ids: [kinds] }) as Deadlines
    expect(seenKinds.left).toBeGreaterThan(25)
    expect(seenKinds.left).toBeLessThanOrEqual(30)
    expect(await p.call("program_deadline", { program_ids: [none] })).toMatchObject({ left: null })
    // Of two programs in one call, the earlier end wins.
    expect((await p.call("program_deadline", { program_ids: [kinds, own] }) as Deadlines).left).toBeLessThanOrEqual(20)
  })

  it("a call's own timeoutMs, or its session's default, wins over the program's, larger or smaller", { timeout: 30_000 }, async () => {
    const p = await start()
    const id = await p.call("create_program", { kind: "echo", timeout_ms: 100 }) as string
    expect((await p.call("program_deadline", { program_ids: [id] }, { timeoutMs: 120_000 }) as Deadlines).left).toBeGreaterThan(60)
    const s = p.session("patient", { timeoutMs: 120_000 })
    const sid = await s.call("create_program", { kind: "echo", timeout_ms: 100 }) as string
    expect((await s.call("program_deadline", { program_ids: [sid] }) as Deadlines).left).toBeGreaterThan(60)
    const long = await p.call("create_program", { kind: "echo", timeout_ms: 60_000 }) as string
    const error = await p.call("run_program_until_cancelled", { program_id: long }, { timeoutMs: 200 }).catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "CallTimeoutError", timeoutMs: 200 })
    expect((error as Error).message).not.toMatch(/default timeout of the program/)
  })

  it("a bad value is refused by create, naming timeout_ms and the value, before anything is stored", async () => {
    const p = await start()
    for (const bad of [0, 1.5, "1000"]) {
      const error = await p.call("create_program", { kind: "echo", timeout_ms: bad }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PythonError)
      expect((error as PythonError).message).toMatch(/timeout_ms must be an int from 1 to 2147483647 \(ms\), or None, got/)
      expect((error as PythonError).message).toContain(bad === "1000" ? "'1000'" : String(bad))
    }
    expect(await p.call("store_keys")).toEqual([])
  })
})

describe("armProgramDeadline (on a manual clock)", () => {
  it("arms a timeout the first time, keeps an earlier deadline, replaces a later one, and stops with the job", () => {
    let now = 1_000
    const timers: Array<{ readonly at: number; readonly fn: () => void; cancelled: boolean }> = []
    const after = (ms: number, fn: () => void): (() => void) => {
      const timer = { at: now + ms, fn, cancelled: false }
      timers.push(timer)
      return () => void (timer.cancelled = true)
    }
    const advance = (to: number): void => {
      now = to
      for (const t of timers) if (!t.cancelled && t.at <= now) t.fn()
    }
    const interrupts: Array<Error> = []
    const interrupt = (error: InterruptError): void => void interrupts.push(error("cancelled-in-python"))
    const job = new Job({ answered: () => {}, lost: () => {} }, "run", undefined, {}, undefined, 0, () => {}, () => {})
    expect(armProgramDeadline(job, 500, interrupt, after, () => now)).toBe(500)
    now = 1_100
    expect(armProgramDeadline(job, 10_000, interrupt, after, () => now)).toBe(400) // the earlier end stays
    expect(timers).toHaveLength(1)
    expect(armProgramDeadline(job, 100, interrupt, after, () => now)).toBe(100) // an earlier one replaces it
    expect(timers).toHaveLength(2)
    advance(1_199)
    expect(interrupts).toEqual([])
    advance(1_200)
    expect(interrupts).toHaveLength(1)
    expect(interrupts[0]).toBeInstanceOf(CallTimeoutError)
    expect(interrupts[0]).toMatchObject({ handler: "run", timeoutMs: 100, ended: "cancelled-in-python" })
    expect(interrupts[0]!.message).toBe("'run' did not finish within 100 ms, the default timeout of the program it ran (cancelled in Python; the worker lives on)")
    job.fail(new Error("settled"))
    expect(timers.every((t) => t.cancelled)).toBe(true)
  })
})
