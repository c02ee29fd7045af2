// Poison calls: the table on a fake clock, then a real pool whose handler kills its worker.
import { afterEach, describe, expect, it } from "vitest"
import { createPool, InvalidOptionError, PoisonCallError, WorkerCrashedError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { PoisonTable, poisonKeyOf } from "../../src/pool/poison.ts"
import { FIXTURES, INTERPRETERS } from "../helpers.ts"

describe("PoisonTable", () => {
  const call = (args: unknown, poisonKey?: string) => ({ name: "parse", args: args as never, options: poisonKey === undefined ? {} : { poisonKey } })

  it("keys calls by handler and arguments, or by poisonKey", () => {
    expect(poisonKeyOf(call({ doc: "x" }))).toBe(poisonKeyOf(call({ doc: "x" })))
    expect(poisonKeyOf(call({ doc: "x" }))).not.toBe(poisonKeyOf(call({ doc: "y" })))
    expect(poisonKeyOf(call({ doc: "x" }))).toMatch(/^parse:[0-9a-f]{40}$/)
    expect(poisonKeyOf(call({ doc: "x" }, "tenant-7"))).toBe("tenant-7")
  })

  it("refuses a key at its maxWorkerKills-th kill, for ttlMs, then forgets it", () => {
    let now = 0
    const table = new PoisonTable({ maxWorkerKills: 2, ttlMs: 1_000 }, () => now)
    expect(table.check(call({ doc: "x" }))).toBeUndefined()
    expect(table.killed(call({ doc: "x" }))).toBeUndefined()
    expect(table.check(call({ doc: "x" }))).toBeUndefined()
    const error = table.killed(call({ doc: "x" }))
    expect(error).toBeInstanceOf(PoisonCallError)
    expect(error).toMatchObject({ code: "POISON_CALL", handler: "parse", workerKills: 2 })
    expect(table.check(call({ doc: "x" }))).toBeInstanceOf(PoisonCallError)
    expect(table.check(call({ doc: "y" }))).toBeUndefined() // other arguments: another key
    now = 999
    expect(table.check(call({ doc: "x" }))).toBeInstanceOf(PoisonCallError)
    now = 1_000
    expect(table.check(call({ doc: "x" }))).toBeUndefined()
    expect(table.killed(call({ doc: "x" }))).toBeUndefined() // counting starts again
  })

  it("kills spread further apart than ttlMs never add up", () => {
    let now = 0
    const table = new PoisonTable({ maxWorkerKills: 2, ttlMs: 1_000 }, () => now)
    expect(table.killed(call(1))).toBeUndefined()
    now = 1_500
    expect(table.killed(call(1))).toBeUndefined()
  })

  it("is off with maxWorkerKills Infinity (poison: false)", () => {
    const table = new PoisonTable({ maxWorkerKills: Infinity, ttlMs: 0 }, () => 0)
    for (let i = 0; i < 5; i++) expect(table.killed(call(1))).toBeUndefined()
    expect(table.check(call(1))).toBeUndefined()
  })
})

describe.each(INTERPRETERS)("poison calls on $python", ({ python }) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })
  const start = async (extra: Record<string, unknown> = {}): Promise<Pool> =>
    (pool = await createPool({ worker: { module: "basic", cwd: FIXTURES, python }, size: 2, restart: { backoff: { initialMs: 1 } }, ...extra }))

  it("an idempotent call with 20 retries that always kills its worker stops after 2 kills, and the pool lives on", async () => {
    const p = await start()
    let exits = 0
    p.on("worker", (e) => void (e.type === "exit" && exits++))
    const error = await p.call("hard_exit", { code: 7 }, { idempotent: true, retries: 20 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PoisonCallError)
    expect(error).toMatchObject({ handler: "hard_exit", workerKills: 2 })
    expect(exits).toBe(2)
    // The same call is refused at once, without costing a worker.
    await expect(p.call("hard_exit", { code: 7 })).rejects.toBeInstanceOf(PoisonCallError)
    expect(exits).toBe(2)
    expect(p.snapshot().state).not.toBe("failed")
    expect(await p.call("add", { a: 1, b: 2 })).toBe(3)
    // Other arguments are another call: it runs (and kills its worker once).
    await expect(p.call("hard_exit", { code: 8 })).rejects.toBeInstanceOf(WorkerCrashedError)
  })

  it("calls sharing a poisonKey share their kills; poison: false turns the rule off", async () => {
    const p = await start()
    await expect(p.call("hard_exit", { code: 1 }, { poisonKey: "k" })).rejects.toBeInstanceOf(WorkerCrashedError)
    await expect(p.call("hard_exit", { code: 2 }, { poisonKey: "k" })).rejects.toBeInstanceOf(WorkerCrashedError)
    await expect(p.call("add", { a: 1, b: 1 }, { poisonKey: "k" })).rejects.toBeInstanceOf(PoisonCallError)
    await p.close()
    const q = await start({ poison: false })
    for (let i = 0; i < 3; i++) await expect(q.call("hard_exit", { code: 1 })).rejects.toBeInstanceOf(WorkerCrashedError)
  })

  it("a worker killed from outside (SIGKILL) counts no kill against the call it was running", async () => {
    const p = await start()
    for (let i = 0; i < 3; i++) {
      const call = p.call("sleep_ms", { ms: 5_000 })
      await expect.poll(() => p.snapshot().workers.find((w) => w.inFlight > 0)?.pid ?? null).not.toBeNull()
      process.kill(p.snapshot().workers.find((w) => w.inFlight > 0)!.pid!, "SIGKILL")
      await expect(call).rejects.toBeInstanceOf(WorkerCrashedError)
    }
    await expect.poll(() => p.snapshot().workers.filter((w) => w.state === "ready").length).toBe(2)
    const late = p.call("sleep_ms", { ms: 5_000 }, { timeoutMs: 100 }).catch((e: unknown) => e)
    expect(await late).not.toBeInstanceOf(PoisonCallError)
  })

  it("validates its options", async () => {
    await expect(start({ poison: { maxWorkerKills: 0 } })).rejects.toThrow(/poison\.maxWorkerKills must be an integer from 1 to 1000, got 0/)
    await expect(start({ poison: true })).rejects.toBeInstanceOf(InvalidOptionError)
    const p = await start()
    await expect(p.call("add", { a: 1, b: 1 }, { poisonKey: "" })).rejects.toThrow(/options\.poisonKey/)
  })
})
