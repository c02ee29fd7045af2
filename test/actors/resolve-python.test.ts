// worker.resolvePython: a shim (like pyenv's) runs once per pool, not once per worker start; the
// workers run the interpreter it execs, with the variables it sets. The shim here is a shell script
// that counts its runs in a file, exports a variable, then execs the real interpreter.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { createPool, InvalidOptionError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { resolvePython } from "../../src/actors/resolve-python.ts"
import { FIXTURES } from "../helpers.ts"

const REAL = "/usr/bin/python3"

const makeShim = (): { shim: string; runs: () => number } => {
  const dir = mkdtempSync(join(tmpdir(), "pyvisor-shim-"))
  const shim = join(dir, "python3")
  const log = join(dir, "runs")
  writeFileSync(log, "")
  writeFileSync(shim, `#!/bin/sh\necho run >> ${log}\nSHIM_MARK=set-by-shim\nexport SHIM_MARK\nexec ${REAL} "$@"\n`)
  chmodSync(shim, 0o755)
  return { shim, runs: () => readFileSync(log, "utf8").split("\n").filter(Boolean).length }
}

let pool: Pool | undefined
afterEach(async () => {
  await pool?.close()
  pool = undefined
})

describe("worker.resolvePython", () => {
  it("runs the shim once per pool; workers, restarts included, run the real interpreter with the shim's variables", async () => {
    const { shim, runs } = makeShim()
    const p = (pool = await createPool({ worker: { module: "shimmed", cwd: FIXTURES, python: shim }, size: 3 }))
    expect(p.snapshot().python).toEqual({ requested: shim, executable: REAL, env: { SHIM_MARK: "set-by-shim" } })
    const seen = (await p.call("seen")) as { executable: string; mark: string; pid: number }
    expect(seen).toMatchObject({ executable: REAL, mark: "set-by-shim" })
    process.kill(seen.pid, "SIGKILL")
    await expect.poll(() => p.snapshot().workers.filter((w) => w.state === "ready" && w.pid !== seen.pid).length).toBe(3)
    expect(runs()).toBe(1) // 3 starts and a restart, one shim run
  })

  it("with resolvePython: false, every worker start runs the shim", async () => {
    const { shim, runs } = makeShim()
    const p = (pool = await createPool({ worker: { module: "shimmed", cwd: FIXTURES, python: shim, resolvePython: false }, size: 2 }))
    expect(p.snapshot().python).toEqual({ requested: shim, executable: shim, env: {}, unresolved: "worker.resolvePython is false" })
    expect(runs()).toBe(2)
    expect(await p.call("seen")).toMatchObject({ mark: "set-by-shim" })
  })

  it("keeps the requested name when it cannot be asked, so the spawn reports the problem as before", async () => {
    const resolution = await resolvePython({ module: "m", python: "/nonexistent/python3" })
    expect(resolution).toMatchObject({ requested: "/nonexistent/python3", executable: "/nonexistent/python3", env: {} })
    expect(resolution.unresolved).toMatch(/asking \/nonexistent\/python3 for sys.executable failed: .*ENOENT/)
    await expect(createPool({ worker: { module: "shimmed", cwd: FIXTURES, python: "/nonexistent/python3" }, size: 1 }))
      .rejects.toMatchObject({ _tag: "WorkerCrashedError", reason: "spawn_failed" })
  })

  it("validates the option", async () => {
    await expect(createPool({ worker: { module: "shimmed", cwd: FIXTURES, resolvePython: "yes" as never } })).rejects.toBeInstanceOf(InvalidOptionError)
  })
})

it("spawns an interpreter binary as it is, without asking it anything", async () => {
  expect(await resolvePython({ module: "m", python: REAL })).toEqual({
    requested: REAL, executable: REAL, env: {}, unresolved: `${REAL} is not a script: spawned as it is`
  })
})
