import { afterEach, describe, expect, it } from "vitest"
import { createPool, ProtocolError, PythonError, WorkerCrashedError } from "../../src/index.ts"
import type { Pool, PoolEvents } from "../../src/index.ts"
import { eventually, FIXTURES, isAlive, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })

  const start = async (module = "basic", extra: Record<string, unknown> = {}): Promise<Pool> =>
    (pool = await createPool({ worker: { startMethod, module, cwd: FIXTURES }, size: 1, ...extra }))

  const states = (p: Pool): Array<string> => {
    const seen: Array<string> = []
    p.on("worker", (e: PoolEvents["worker"]) => seen.push(e.type === "state" ? e.state : "exit"))
    return seen
  }

  describe("a worker that dies", () => {
    it("SIGKILL mid-call rejects the call with WorkerCrashedError and the machine goes crashed", async () => {
      const p = await start()
      const seen = states(p)
      const pid = p.snapshot().workers[0]!.pid!
      const call = p.call("sleep_ms", { ms: 10_000 }).catch((e: unknown) => e)
      await expect.poll(() => p.snapshot().workers[0]!.inFlight).toBe(1)
      process.kill(pid, "SIGKILL")
      const error = await call
      expect(error).toBeInstanceOf(WorkerCrashedError)
      expect(error).toMatchObject({ code: "WORKER_CRASHED", signal: "SIGKILL", exitCode: null, reason: "signal", workerId: "w1", pid })
      expect((error as Error).message).toMatch(/killed by SIGKILL/)
      expect(seen).toEqual(expect.arrayContaining(["crashed", "exit"]))
      expect(seen.indexOf("exit")).toBeGreaterThan(seen.indexOf("crashed"))
      // The next call gets a fresh incarnation of the slot.
      expect(await p.call("add", { a: 1, b: 2 })).toBe(3)
      expect(p.snapshot().workers[0]).toMatchObject({ restarts: 1, state: "ready" })
      expect(p.snapshot().workers[0]!.pid).not.toBe(pid)
    })

    it("a handler calling os._exit ends the process; its exit code is reported", async () => {
      const p = await start()
      await expect(p.call("hard_exit", { code: 3 })).rejects.toMatchObject({ reason: "exit", exitCode: 3, signal: null })
    })
  })

  describe("a worker that does not start", () => {
    it("never sending ready: killed at the init timeout, with a clear error and its stderr", async () => {
      const pids: Array<number> = []
      // Generous: on a loaded machine Python may take most of a second to reach the fixture's print.
      const error = await createPool({ worker: { startMethod, module: "never_ready", cwd: FIXTURES }, size: 1, initTimeoutMs: 2_500 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(WorkerCrashedError)
      const crash = error as WorkerCrashedError
      expect(crash).toMatchObject({ reason: "init_timeout", signal: "SIGKILL" })
      expect(crash.message).toMatch(/no ready within the init timeout/)
      expect(crash.stderrTail).toContain("never_ready: importing, slowly")
      if (crash.pid !== null) pids.push(crash.pid)
      expect(pids).toHaveLength(1)
      expect(isAlive(pids[0]!)).toBe(false)
    })

    it("failing to import: the Python exception is the cause, not a silent loop", async () => {
      const error = await createPool({ worker: { startMethod, module: "import_error", cwd: FIXTURES } }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(WorkerCrashedError)
      expect(error).toMatchObject({ reason: "init_error", exitCode: 1 })
      expect((error as Error).message).toMatch(/failed to start: ImportError: this fixture cannot be imported on purpose/)
      expect((error as WorkerCrashedError).cause).toMatchObject({ type: "ImportError", traceback: expect.stringContaining("import_error.py") })
    })

    it("an interpreter that does not exist: spawn_failed, naming it", async () => {
      const error = await createPool({ worker: { startMethod, module: "basic", cwd: FIXTURES, python: "/nonexistent/python9" } }).catch((e: unknown) => e)
      expect(error).toMatchObject({ reason: "spawn_failed" })
      expect((error as Error).message).toMatch(/\/nonexistent\/python9/)
    })
  })

  describe("a worker that breaks the protocol", () => {
    it.each([
      ["garbage", /cannot decode a 5-byte payload|not a map/],
      ["oversized", /4294967295 bytes exceeds maxFrameBytes/]
    ])("%s → ProtocolError, process killed, host unaffected", async (handler, why) => {
      const p = await start("garbage")
      const pid = p.snapshot().workers[0]!.pid!
      const error = await p.call(handler).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ProtocolError)
      expect(error).toMatchObject({ code: "PROTOCOL_ERROR", workerId: "w1" })
      expect((error as ProtocolError).detail).toMatch(why)
      expect(isAlive(pid)).toBe(false)
      expect(p.snapshot().workers[0]!.state).not.toBe("ready")
    })

    it("garbage during the handshake fails the start with ProtocolError", async () => {
      const error = await createPool({ worker: { startMethod, module: "garbage_at_start", cwd: FIXTURES } }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ProtocolError)
    })
  })

  describe("no orphans", () => {
    it("close() leaves no Python process behind", async () => {
      const p = await start()
      const pid = p.snapshot().workers[0]!.pid!
      expect(isAlive(pid)).toBe(true)
      await p.close()
      expect(isAlive(pid)).toBe(false)
      expect(p.snapshot().workers[0]!.state).toBe("none")
    })

    it("a closed pool refuses calls with PoolClosedError", async () => {
      const p = await start()
      await p.close()
      await expect(p.call("noop")).rejects.toMatchObject({ code: "POOL_CLOSED" })
    })

    it("closing waits for the call in flight", async () => {
      const p = await start()
      const call = p.call("sleep_ms", { ms: 300 })
      await expect.poll(() => p.snapshot().workers[0]!.inFlight).toBe(1)
      await p.close()
      expect(await call).toBe(300)
    })

    it("a host killed with SIGKILL takes its Python worker down within 1 s", async () => {
      const { spawn } = await import("node:child_process")
      const host = spawn(process.execPath, [new URL("../fixtures/host.ts", import.meta.url).pathname, "1"], { stdio: ["ignore", "pipe", "inherit"] })
      const line = await new Promise<string>((resolve, reject) => {
        host.stdout.once("data", (d: Buffer) => resolve(d.toString()))
        host.once("exit", () => reject(new Error("host exited early")))
      })
      const [pid] = JSON.parse(line) as Array<number>
      expect(isAlive(pid!)).toBe(true)
      host.kill("SIGKILL")
      // PR_SET_PDEATHSIG and EOF on fd 3 both fire at once; 1 s is the contract, not a tuning.
      expect(await eventually(() => !isAlive(pid!), 1_000)).toBe(true)
    })
  })

  it("a handler calling sys.exit fails its call with PythonError SystemExit; the worker lives on", async () => {
    const p = await start()
    const pid = await p.call("pid")
    const error = await p.call("exit_now", { code: 3 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PythonError)
    expect(error).toMatchObject({ type: "SystemExit", handler: "exit_now" })
    expect((error as Error).message).toMatch(/sys\.exit\(3\)/)
    expect(await p.call("pid")).toBe(pid)
    expect(p.snapshot().workers[0]!.restarts).toBe(0)
  })
})
