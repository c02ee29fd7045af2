// Pools whose workers are forked from a zygote (worker.startMethod "forkserver"), on both
// interpreters: they serve calls from code the zygote imported once, each with its own output,
// randomness and exit facts; snapshot() shows their shared memory (PSS below RSS).
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { createPool, PoolFailedError, WorkerCrashedError } from "../../src/index.ts"
import type { Pool, PoolEvents } from "../../src/index.ts"
import { FIXTURES, INTERPRETERS, isAlive, parentOf, zygotes } from "../helpers.ts"

let pool: Pool | undefined
afterEach(async () => {
  await pool?.close()
  pool = undefined
})

const start = async (python: string, extra: Record<string, unknown> = {}, worker: Record<string, unknown> = {}): Promise<Pool> =>
  (pool = await createPool({ worker: { module: "zygote_probe", cwd: FIXTURES, python, startMethod: "forkserver", ...worker }, size: 2, ...extra }))

describe.each(INTERPRETERS)("forkserver on $python ($codec)", ({ python }) => {
  it("serves calls from workers forked from one zygote that imported the module once", async () => {
    const p = await start(python)
    const pids = p.snapshot().workers.map((w) => w.pid!)
    expect(new Set(pids).size).toBe(2)
    const importers = await Promise.all([0, 1, 2, 3].map(() => p.call("imported_in") as Promise<number>))
    // Imported in one process, which is none of the workers: the zygote.
    expect(new Set(importers).size).toBe(1)
    expect(pids).not.toContain(importers[0])
    expect(isAlive(importers[0]!)).toBe(true)
    expect(pids).toContain(await p.call("pid"))
  })

  it("each worker draws its own random numbers and runs one native thread unless told otherwise", async () => {
    const p = await start(python, {}, { env: { MKL_NUM_THREADS: "2" } })
    const draws = new Map<number, unknown>()
    while (draws.size < 2) {
      for (const { pid, draws: drawn } of await Promise.all([p.call("draw"), p.call("draw")]) as Array<{ pid: number; draws: Array<number> }>) draws.set(pid, drawn)
    }
    const [a, b] = [...draws.values()]
    expect(a).not.toEqual(b)
    expect(await p.call("thread_vars")).toEqual({ OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "2" })
    expect(await p.call("fds")).toEqual({})
  })

  it("forwards each worker's stdout and stderr as log lines of that worker", async () => {
    const p = await start(python)
    const lines: Array<PoolEvents["log"]> = []
    p.on("log", (e) => lines.push(e))
    const workers = p.snapshot().workers
    // Two calls at once: one per worker (size 2, and a worker prefetches only when none is idle).
    await Promise.all([p.call("say", { text: "a" }), p.call("say", { text: "b" })])
    await expect.poll(() => lines.length).toBeGreaterThanOrEqual(4)
    const said = lines.map((l) => `${l.workerId}:${l.pid}:${l.stream}:${l.line}`).sort()
    const byText = (text: string) => said.filter((l) => l.endsWith(`:${text}`))
    expect(byText("out:a")).toHaveLength(1)
    expect(byText("err:a")).toHaveLength(1)
    expect(byText("out:a")[0]!.split(":").slice(0, 3)).toEqual(byText("err:a")[0]!.replace(":stderr", ":stdout").split(":").slice(0, 3))
    expect(byText("out:a")[0]!.split(":")[0]).not.toBe(byText("out:b")[0]!.split(":")[0])
    for (const line of lines) {
      const w = workers.find((x) => x.id === line.workerId)!
      expect(line.pid).toBe(w.pid)
    }
  })

  it("a crash rejects with WorkerCrashedError carrying the exit code, the signal and the stderr tail", async () => {
    const p = await start(python)
    const error = await p.call("die", { code: 5, message: "forked and dying" }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerCrashedError)
    expect(error).toMatchObject({ reason: "exit", exitCode: 5, signal: null })
    expect((error as WorkerCrashedError).stderrTail).toContain("forked and dying")
    const victim = p.snapshot().workers.find((w) => w.state === "ready")!.pid!
    const slow = p.call("sleep_ms", { ms: 30_000 }).catch((e: unknown) => e)
    await expect.poll(() => p.snapshot().workers.find((w) => w.inFlight > 0)?.pid).toBeDefined()
    const busy = p.snapshot().workers.find((w) => w.inFlight > 0)!.pid!
    process.kill(busy, "SIGKILL")
    expect(await slow).toMatchObject({ name: "WorkerCrashedError", reason: "signal", signal: "SIGKILL", exitCode: null, pid: busy })
    expect(victim).toBeGreaterThan(0)
    await expect.poll(() => p.snapshot().workers.every((w) => w.state === "ready")).toBe(true)
    expect(await p.call("bump")).toBe(1)
  })

  it("an import error reaches each worker's start as its own init error", async () => {
    const error = await createPool({ worker: { module: ["zygote_probe", "import_error"], cwd: FIXTURES, python, startMethod: "forkserver" }, size: 1 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerCrashedError)
    expect((error as Error).message).toMatch(/failed to start: ImportError: this fixture cannot be imported on purpose/)
  })
})

describe("a lazy forkserver pool", () => {
  it.each(INTERPRETERS)("$python: starts no zygote before its first call; the first call starts one, whose fork serves it", async ({ python }) => {
    const before = new Set(zygotes())
    const mine = (): Array<number> => zygotes().filter((pid) => !before.has(pid))
    const p = await start(python, { lazy: true, size: 1 })
    expect(mine()).toEqual([])
    expect(p.snapshot().workers.map((w) => w.pid)).toEqual([null])
    const importer = await p.call("imported_in") as number
    expect(mine()).toEqual([importer])
    expect(parentOf(await p.call("pid") as number)).toBe(importer)
  })

  it("a zygote that cannot start fails the pool: the first call rejects naming the interpreter, it does not wait", async () => {
    const p = await start("/nonexistent/python9", { lazy: true, size: 1 })
    const error = await p.call("pid").catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PoolFailedError)
    expect((error as Error).message).toMatch(/the zygote did not start: .*\/nonexistent\/python9/)
    expect((error as PoolFailedError).cause).toMatchObject({ reason: "spawn_failed" })
    expect(p.snapshot().state).toBe("failed")
  })
})

describe("forkserver imports", () => {
  it("the zygote imports the module once: replacing a crashed worker imports nothing again", async () => {
    // flaky_init refuses every import after the first one (test/pool/supervision.test.ts: with
    // spawn, each restart imports it again and the pool fails). Forked workers never import it.
    const dir = mkdtempSync(join(tmpdir(), "pyvisor-fs-once-"))
    const starts = join(dir, "starts")
    try {
      const p = (pool = await createPool({ worker: { module: "flaky_init", cwd: FIXTURES, startMethod: "forkserver", env: { PYVISOR_TEST_STARTS: starts } }, size: 2 }))
      for (let i = 0; i < 3; i++) {
        const pid = p.snapshot().workers[0]!.pid!
        process.kill(pid, "SIGKILL")
        await expect.poll(() => p.snapshot().workers.every((w) => w.state === "ready" && w.pid !== pid), { timeout: 10_000 }).toBe(true)
      }
      expect(await p.call("sleep_ms", { ms: 1 })).toBeTypeOf("number")
      expect(p.snapshot().workers[0]!.restarts).toBe(3)
      expect(readFileSync(starts, "utf8").trim().split("\n")).toHaveLength(1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("forkserver memory", () => {
  it.skipIf(process.platform !== "linux")("snapshot() reports PSS next to RSS, and forked workers share their imports", async () => {
    const p = await start("python3", { rssCheckIntervalMs: 20, size: 3 }, { preload: ["numpy"] })
    await expect.poll(() => p.snapshot().workers.every((w) => w.pss !== null && w.rss !== null), { timeout: 10_000 }).toBe(true)
    for (const w of p.snapshot().workers) {
      // numpy's pages are shared by the zygote and 3 workers: each worker's share is well below its RSS.
      expect(w.pss!).toBeLessThan(w.rss! * 0.75)
      expect(w.pss!).toBeGreaterThan(0)
    }
    // numpy's global RNG was re-seeded in each worker: no two draw the same numbers.
    const draws = new Map<number, Array<number>>()
    while (draws.size < 3) {
      for (const { pid, draws: drawn } of await Promise.all([0, 1, 2].map(() => p.call("draw"))) as Array<{ pid: number; draws: Array<number> }>) draws.set(pid, drawn)
    }
    const numpyDraws = [...draws.values()].map((d) => d[1])
    expect(numpyDraws.every((d) => typeof d === "number")).toBe(true)
    expect(new Set(numpyDraws).size).toBe(3)
  })
})
