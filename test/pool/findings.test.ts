// Regression tests for faults found by using the public API as a new user would (issue 13).
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { createPool, PoolFailedError, PythonError, WorkerCrashedError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { eventually, FIXTURES, INTERPRETERS, isAlive, PRE_SAFEPATH_INTERPRETERS, processGroupOf, START_METHODS } from "../helpers.ts"

let pool: Pool | undefined
afterEach(async () => {
  await pool?.close({ timeoutMs: 0 })
  pool = undefined
})

describe("worker.cwd that cannot host a process", () => {
  it("a regular file: createPool rejects with WorkerCrashedError spawn_failed naming ENOTDIR and the cwd", async () => {
    const file = join(FIXTURES, "gentle.py")
    const error = await createPool({ worker: { module: "gentle", cwd: file }, size: 1 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerCrashedError)
    expect(error).toMatchObject({ reason: "spawn_failed", pid: null })
    expect((error as Error).message).toContain(`worker.cwd '${file}' is not a directory (ENOTDIR)`)
  })

  it("a missing folder: the error names the cwd, not the interpreter", async () => {
    const missing = join(tmpdir(), "pyvisor-no-such-folder", "py")
    const error = await createPool({ worker: { module: "gentle", cwd: missing }, size: 1 }).catch((e: unknown) => e)
    expect(error).toMatchObject({ _tag: "WorkerCrashedError", reason: "spawn_failed" })
    expect((error as Error).message).toContain(`worker.cwd '${missing}' does not exist (ENOENT)`)
    expect((error as Error).message).not.toMatch(/spawn python3 ENOENT/)
  })
})

describe("the worker's own pipes and processes", () => {
  it("a handler that dup2s over fd 4: a crash at once, not a hang (heartbeat off)", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES }, size: 1, heartbeat: false })
    const pid = await p.call("pid") as number
    const error = await p.call("close_answers").catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerCrashedError)
    expect(error).toMatchObject({ reason: "killed", signal: "SIGKILL", pid, callName: "close_answers" })
    expect((error as Error).message).toMatch(/closed fd 4/)
    expect(await p.call("pid")).not.toBe(pid)
  })

  it("each worker leads its own process group; what a handler Popens does not survive close()", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES }, size: 1 })
    const pid = await p.call("pid") as number
    expect(processGroupOf(pid)).toBe(pid)
    const child = await p.call("spawn_child") as number
    expect(processGroupOf(child)).toBe(pid)
    await p.close()
    expect(await eventually(() => !isAlive(child))).toBe(true)
  })

  it("a worker killed mid-call takes its handler's subprocesses with it", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES }, size: 1, cancelGraceMs: 100 })
    const child = await p.call("spawn_child") as number
    await p.call("sleep_in_c", { s: 30 }, { timeoutMs: 100 }).catch(() => {})
    expect(await eventually(() => !isAlive(child))).toBe(true)
  })
})

describe("the user's cwd on sys.path", () => {
  // 3.9 and 3.10 ignore PYTHONSAFEPATH: there the runtime takes cwd off sys.path itself.
  const cases = [...INTERPRETERS.map((i) => i.python), ...PRE_SAFEPATH_INTERPRETERS].flatMap((python) => START_METHODS.map((startMethod) => ({ python, startMethod })))
  it.each(cases)("$python, $startMethod: a user file named like a stdlib module the runtime uses (platform.py) does not break start", async ({ python, startMethod }) => {
    if (python.startsWith("/")) expect(existsSync(python), `${python} is missing (test/helpers.ts lists it)`).toBe(true)
    const dir = mkdtempSync(join(tmpdir(), "pyvisor-cwd-"))
    for (const name of ["platform", "argparse", "struct", "signal", "json", "traceback"]) {
      writeFileSync(join(dir, `${name}.py`), `raise RuntimeError("the user's ${name}.py was imported by the runtime")\n`)
    }
    writeFileSync(join(dir, "helper.py"), "WHERE = 'cwd'\n")
    writeFileSync(join(dir, "mine.py"), "import sys\nfrom pyvisor_worker import handler\nimport helper\n\n\n@handler\ndef hello():\n    return [helper.WHERE, sys.path[0]]\n")
    const p = pool = await createPool({ worker: { module: "mine", cwd: dir, python, startMethod }, size: 1 })
    // The user's own modules are still found in cwd, first on sys.path as Python puts it.
    expect(await p.call("hello")).toEqual(["cwd", dir])
  })
})

describe("the environment a worker gets", () => {
  it("exact names, not prefixes: PYTHON_API_KEY and CUDA_SECRET stay out, PYTHONIOENCODING and CUDA_VISIBLE_DEVICES get in", async () => {
    const set = { PYTHON_API_KEY: "k", CUDA_SECRET: "c", PYTHONIOENCODING: "utf-8", CUDA_VISIBLE_DEVICES: "0" }
    const saved = Object.fromEntries(Object.keys(set).map((k) => [k, process.env[k]]))
    Object.assign(process.env, set)
    try {
      const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES }, size: 1 })
      expect(await p.call("environ", { names: [...Object.keys(set), "PYTHONSAFEPATH", "PYVISOR_SAFEPATH", "PYVISOR_FAULT_FILE"] })).toEqual({
        PYTHON_API_KEY: null, CUDA_SECRET: null, PYTHONIOENCODING: "utf-8", CUDA_VISIBLE_DEVICES: "0",
        // The runtime's own variables are gone by the time user code runs (its subprocesses inherit os.environ).
        PYTHONSAFEPATH: null, PYVISOR_SAFEPATH: null, PYVISOR_FAULT_FILE: null
      })
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) Reflect.deleteProperty(process.env, k)
        else process.env[k] = v
      }
    }
  })
})

describe("what a handler's failure looks like", () => {
  it("PythonError.traceback shows the user's frames only; fullTraceback keeps the runtime's", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES }, size: 1 })
    const error = await p.call("ask_host").catch((e: unknown) => e) as PythonError
    expect(error).toBeInstanceOf(PythonError)
    expect(error.type).toBe("pyvisor_worker.HostCallError")
    expect(error.traceback).toMatch(/gentle\.py", line \d+, in ask_host/)
    expect(error.traceback).not.toMatch(/pyvisor_worker\//)
    expect(error.fullTraceback).toMatch(/pyvisor_worker\/host_calls\.py/)
    // An error raised in the user's own code has no runtime frames to leave out.
    const plain = await p.call("exit_with", { code: 3 }).catch((e: unknown) => e) as PythonError
    expect(plain).toMatchObject({ type: "SystemExit" })
    expect(plain.fullTraceback).toBeUndefined()
  })

  it("a result over maxFrameBytes: Python refuses its own frame with a PythonError and serves on", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES }, size: 1, maxFrameBytes: 4096 })
    const pid = await p.call("pid")
    const error = await p.call("huge", { n: 10_000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PythonError)
    expect(error).toMatchObject({ type: "pyvisor.FrameTooLarge", handler: "huge" })
    expect((error as Error).message).toMatch(/over the host's max-frame-bytes \(4096\)/)
    expect(await p.call("huge", { n: 100 })).toBe("x".repeat(100))
    expect(await p.call("pid")).toBe(pid)
  })
})

describe("a failed pool", () => {
  it("reports closed after close(); calls still get PoolFailedError (a new pool replaces it)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pyvisor-flaky-"))
    const p = pool = await createPool({
      worker: { module: "flaky_init", cwd: FIXTURES, env: { PYVISOR_TEST_STARTS: join(dir, "starts") } },
      size: 1,
      restart: { maxRestarts: 1, withinMs: 60_000, backoff: { initialMs: 5, maxMs: 20 } }
    })
    process.kill(p.snapshot().workers[0]!.pid!, "SIGKILL")
    await expect.poll(() => p.snapshot().state, { timeout: 10_000 }).toBe("failed")
    await p.close()
    expect(p.snapshot().state).toBe("closed")
    await expect(p.call("sleep_ms", { ms: 1 })).rejects.toBeInstanceOf(PoolFailedError)
  })
})
