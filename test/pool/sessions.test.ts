// Sessions, the host store and programs, end to end with real Python workers (memory store).
import { afterEach, describe, expect, it } from "vitest"
import {
  CheckoutTimeoutError, createPool, InvalidSessionIdError, memoryStore, PoolClosedError, PythonError, SessionAffinityError, SessionExpiredError, SessionNotFoundError
} from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { eventually, FIXTURES, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })

  const start = async (extra: Record<string, unknown> = {}): Promise<Pool> =>
    (pool = await createPool({ worker: { startMethod, module: "store_worker", cwd: FIXTURES }, size: 4, ...extra }))

  const idlePids = (p: Pool): Array<number> => p.snapshot().workers.filter((w) => w.state === "ready" && w.inFlight === 0).map((w) => w.pid!)

  describe("programs: any worker runs any program, not only the one that created it", () => {
    it("a program created on one worker runs on another while the creator is busy", async () => {
      const p = await start()
      const blockers = [0, 1, 2].map(() => p.call("slow", { ms: 600 }))
      await expect.poll(() => idlePids(p).length).toBe(1)
      const created = (await p.call("create_program_here", { kind: "echo", spec: { greeting: "hi" } })) as { id: string; pid: number }
      // Keep the creator busy, so the run must go to one of the other three.
      const creatorBusy = p.call("slow", { ms: 2_000 })
      await expect.poll(() => p.snapshot().workers.find((w) => w.pid === created.pid)?.inFlight).toBe(1)
      const ran = (await p.call("run_program", { program_id: created.id, input: 7 })) as { output: unknown; pid: number }
      expect(ran.pid).not.toBe(created.pid)
      expect(ran.output).toEqual({ spec: { greeting: "hi" }, input: 7 })
      await Promise.all([...blockers, creatorBusy])
    })

    it("1 000 create/execute pairs with random routing across 4 workers: 0 not found", { timeout: 60_000 }, async () => {
      const p = await start()
      let crossed = 0
      const failures: Array<unknown> = []
      const pair = async (i: number): Promise<void> => {
        const created = (await p.call("create_program_here", { kind: "echo", spec: i })) as { id: string; pid: number }
        const ran = (await p.call("run_program", { program_id: created.id, input: i })) as { output: { spec: number; input: number }; pid: number }
        expect(ran.output).toEqual({ spec: i, input: i })
        if (ran.pid !== created.pid) crossed++
      }
      // 16 pairs at a time: creations and runs interleave, so routing is effectively random.
      for (let base = 0; base < 1_000; base += 16) {
        const batch = Array.from({ length: Math.min(16, 1_000 - base) }, (_, k) => pair(base + k).catch((e: unknown) => failures.push(e)))
        await Promise.all(batch)
      }
      expect(failures).toEqual([])
      expect(crossed).toBeGreaterThan(100)
    })

    it("a program created in a session still runs after its creator is SIGKILLed", async () => {
      const p = await start({ size: 2 })
      const s = p.session("crash-survivor")
      const created = (await s.call("create_program_here", { kind: "echo", spec: "kept" })) as { id: string; pid: number }
      process.kill(created.pid, "SIGKILL")
      await expect.poll(() => p.snapshot().workers.every((w) => w.state === "ready" && w.pid !== created.pid), { timeout: 5_000 }).toBe(true)
      const ran = (await s.call("run_program", { program_id: created.id, input: 1 })) as { output: unknown; pid: number }
      expect(ran.output).toEqual({ spec: "kept", input: 1 })
      expect(ran.pid).not.toBe(created.pid)
      // The same id is not visible outside the session.
      await expect(p.call("run_program", { program_id: created.id })).rejects.toMatchObject({ type: expect.stringMatching(/ProgramNotFound/) })
    })
  })

  describe("isolation", () => {
    it("session A cannot read or delete session B's keys, even with forged keys; global is separate", async () => {
      const p = await start({ size: 2 })
      const a = p.session("A")
      const b = p.session("B")
      await b.call("store_put", { key: "secret", value: "b-only" })
      await p.call("store_put", { key: "secret", value: "global" })
      for (const forged of ["secret", "session:B:secret", "B:secret", "../B/secret", "data:B"]) {
        expect(await a.call("store_get", { key: forged })).toBeNull()
        expect(await a.call("store_delete", { key: forged })).toBe(false)
      }
      expect(await a.call("store_keys")).toEqual([])
      expect(await b.call("store_get", { key: "secret" })).toBe("b-only")
      expect(await p.call("store_get", { key: "secret" })).toBe("global")
      expect(await p.call("store_keys")).toEqual(["secret"])
    })

    it("a thread that keeps session A's ctx cannot read or write session B's keys while B's call runs", async () => {
      const p = await start({ size: 1 })
      const pid = await p.session("A").call("start_spy")
      const seen = (await p.session("B").call("run_spy_now")) as { read: Array<string>; write: Array<string>; pid: number }
      expect(seen.pid).toBe(pid) // same worker: B's call runs while A's ctx is held by the thread
      for (const outcome of [seen.read, seen.write]) {
        expect(outcome[0]).toBe("refused")
        expect(outcome[2]).toMatch(/only available while a call is running/)
      }
      expect(await p.session("B").call("store_get", { key: "written_by_spy", default: "absent" })).toBe("absent")
      expect(await p.session("A").call("store_get", { key: "written_by_spy", default: "absent" })).toBe("absent")
    })

    it("closing a session deletes its keys; the closed handle refuses calls", async () => {
      const store = memoryStore()
      const p = await start({ size: 1, store })
      const s = p.session("temp")
      await s.call("store_put", { key: "k", value: 1 })
      expect(await store.list({ session: "temp" })).toEqual(["k"])
      await s.close()
      await expect(store.list({ session: "temp" })).rejects.toBeInstanceOf(SessionNotFoundError)
      await expect(s.call("store_get", { key: "k" })).rejects.toBeInstanceOf(SessionNotFoundError)
      await store.close()
    })
  })

  describe("TTL", () => {
    it("session calls touch the store at most once per tenth of the TTL (on the store's clock)", async () => {
      let now = 1_000_000
      const store = memoryStore({ clock: () => now, defaultTtlMs: 60_000, sweepIntervalMs: 0 })
      let touches = 0
      const touch = store.touchSession.bind(store)
      const counted = { ...store, touchSession: (id: string) => (touches++, touch(id)) }
      const p = await start({ size: 1, store: counted })
      const s = p.session("busy")
      for (let i = 0; i < 20; i++) await s.call("whoami")
      expect(touches).toBe(1) // the first call (it also created the session)
      now += 5_999
      await s.call("whoami")
      expect(touches).toBe(1)
      now += 1
      await s.call("whoami")
      expect(touches).toBe(2)
      // Closing forgets: the next call asks the store again (and creates the session anew).
      await s.close()
      await p.session("busy").call("whoami")
      expect(touches).toBe(3)
      await store.close()
    })

    it("with a fake clock a session expires exactly at its TTL: keys gone, next call SessionExpiredError", async () => {
      let now = 1_000_000
      const store = memoryStore({ clock: () => now, defaultTtlMs: 60_000, sweepIntervalMs: 0 })
      const p = await start({ size: 1, store })
      const s = p.session("ttl")
      await s.call("store_put", { key: "k", value: "v" })
      now += 59_999
      expect(await store.getSession("ttl")).toBeDefined()
      // A call touches the session: its TTL starts again from here.
      expect(await s.call("store_get", { key: "k" })).toBe("v")
      now += 59_999
      expect(await store.getSession("ttl")).toBeDefined()
      now += 1
      expect(await store.getSession("ttl")).toBeUndefined()
      await expect(s.call("store_get", { key: "k" })).rejects.toBeInstanceOf(SessionExpiredError)
      expect(await store.sweep()).toBe(1)
      await expect(s.call("whoami")).rejects.toBeInstanceOf(SessionExpiredError)
      await expect(store.get({ session: "ttl" }, "k")).rejects.toBeInstanceOf(SessionExpiredError)
      await store.close()
    })
  })

  describe("affinity", () => {
    it("prefer: the session's last worker when idle, any worker when it is busy", async () => {
      const p = await start({ size: 3 })
      const s = p.session("sticky")
      const first = (await s.call("whoami")) as number
      for (let i = 0; i < 10; i++) expect(await s.call("whoami")).toBe(first)
      const busy = p.call("slow", { ms: 800 })
      await expect.poll(() => p.snapshot().workers.some((w) => w.inFlight > 0)).toBe(true)
      const busyPid = p.snapshot().workers.find((w) => w.inFlight > 0)!.pid
      // Whichever worker the unrelated call took, the session is never kept waiting.
      const next = (await s.call("whoami")) as number
      expect(next).not.toBe(busyPid)
      await busy
    })

    it("strict: waits for its own worker, and fails with SessionAffinityError once it died", async () => {
      const p = await start({ size: 2 })
      const s = p.session("pinned", { affinity: "strict" })
      const own = (await s.call("whoami")) as number
      const long = s.call("slow", { ms: 700 })
      const waiting = s.call("whoami")
      expect(await waiting).toBe(own)
      await long
      process.kill(own, "SIGKILL")
      await eventually(() => !p.snapshot().workers.some((w) => w.pid === own))
      await expect(s.call("whoami")).rejects.toBeInstanceOf(SessionAffinityError)
    })

    it("strict: the wait for its busy worker is bounded by the checkout timeout, even with other workers idle", async () => {
      const p = await start({ size: 2, checkoutTimeoutMs: 300 })
      const s = p.session("patient", { affinity: "strict" })
      const own = (await s.call("whoami")) as number
      const long = s.call("slow", { ms: 1_500 })
      await expect.poll(() => p.snapshot().workers.find((w) => w.pid === own)?.inFlight).toBe(1)
      await expect(s.call("whoami")).rejects.toBeInstanceOf(CheckoutTimeoutError)
      expect(p.snapshot().workers.some((w) => w.pid !== own && w.state === "ready")).toBe(true)
      await long
      expect(await s.call("whoami")).toBe(own)
    })

    it("strict calls waiting for a worker that dies are rejected, not moved", async () => {
      const p = await start({ size: 2 })
      const s = p.session("pinned2", { affinity: "strict" })
      const own = (await s.call("whoami")) as number
      const running = s.call("slow", { ms: 30_000 }).catch((e: unknown) => e)
      await expect.poll(() => p.snapshot().workers.find((w) => w.pid === own)?.inFlight).toBe(1)
      const queued = s.call("whoami").catch((e: unknown) => e)
      process.kill(own, "SIGKILL")
      expect(await queued).toBeInstanceOf(SessionAffinityError)
      expect(((await queued) as Error).message).toMatch(/strictly bound to worker w\d \(pid \d+\), which died/)
      await running
    })
  })

  describe("a closed pool", () => {
    it("rejects session calls with PoolClosedError and leaves the store alone", async () => {
      const store = memoryStore()
      const p = await start({ size: 1, store })
      await p.close()
      await expect(p.call("whoami", {}, { session: "late" })).rejects.toBeInstanceOf(PoolClosedError)
      await expect(p.session("late").call("whoami")).rejects.toBeInstanceOf(PoolClosedError)
      expect(await store.getSession("late")).toBeUndefined()
      await store.close()
    })
  })

  describe("host calls and bad input", () => {
    it("ctx.call_host reaches hostHandlers while the handler waits; errors come back as Python exceptions", async () => {
      const seen: Array<unknown> = []
      const p = await start({
        size: 1,
        hostHandlers: {
          double: (args: unknown, ctx: unknown) => {
            seen.push(ctx)
            return (args as { x: number }).x * 2
          },
          boom: () => {
            throw new RangeError("no such thing")
          }
        }
      })
      expect(await p.session("h").call("ask_host", { name: "double", args: { x: 21 } })).toEqual({ value: 42 })
      expect(seen[0]).toMatchObject({ workerId: "w1", session: "h" })
      expect(await p.call("ask_host", { name: "boom" })).toEqual({ error: { type: "RangeError", message: "no such thing" } })
      expect(await p.call("ask_host", { name: "nope" })).toEqual({ error: { type: "pyvisor.NoHostHandler", message: expect.stringMatching(/no host handler 'nope'; available: double, boom/) } })
    })

    it("oversized and non-serialisable values and bad keys are typed errors, and the store is unchanged", async () => {
      const store = memoryStore({ maxValueBytes: 1_024 })
      const p = await start({ size: 1, store })
      const big = await p.call("store_try", { op: "put", key: "big", value: "x".repeat(5_000) })
      expect(big).toEqual({ error: { type: "pyvisor.ValueTooLargeError", message: expect.stringMatching(/big/) } })
      const badKey = await p.call("store_try", { op: "put", key: "", value: 1 })
      expect(badKey).toMatchObject({ error: { type: "pyvisor.InvalidKeyError" } })
      await expect(p.call("store_put_unserializable", { key: "obj" })).rejects.toBeInstanceOf(PythonError)
      expect(await store.list("global")).toEqual([])
      expect(() => p.session("bad id!")).toThrow(InvalidSessionIdError)
      await expect(p.call("whoami", {}, { session: "x".repeat(200) })).rejects.toBeInstanceOf(InvalidSessionIdError)
      expect(() => p.session("ok", { affinity: "sometimes" as never })).toThrow(/session.affinity must be 'prefer' or 'strict'/)
      await store.close()
    })
  })
})
