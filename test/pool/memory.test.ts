// worker.maxMemoryMb: the kernel refuses a worker's allocation past the limit; Python raises
// MemoryError, the call gets a PythonError, and the same worker goes on serving.
import { execFileSync } from "node:child_process"
import { afterEach, describe, expect, it } from "vitest"
import { createPool, InvalidOptionError, PythonError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, INTERPRETERS } from "../helpers.ts"

describe.each(INTERPRETERS)("worker.maxMemoryMb on $python", ({ python }) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })

  it("a 2 GiB allocation under a 256 MiB limit is a MemoryError; the worker lives on", async () => {
    const p = (pool = await createPool({ worker: { module: "hungry", cwd: FIXTURES, python, maxMemoryMb: 256 }, size: 1 }))
    expect(await p.call("limit")).toBe(256 * 1024 * 1024)
    const pid = await p.call("pid")
    const error = await p.call("allocate", { mb: 2048 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PythonError)
    expect(error).toMatchObject({ type: "MemoryError" })
    expect(await p.call("allocate", { mb: 16 })).toBe(16 * 1024 * 1024)
    expect(await p.call("pid")).toBe(pid)
  })

  it("without the option there is no limit", async () => {
    const p = (pool = await createPool({ worker: { module: "hungry", cwd: FIXTURES, python }, size: 1 }))
    // The worker keeps the limit it inherited (the shell's `ulimit -d`, in KiB), unlimited here.
    const inherited = execFileSync("sh", ["-c", "ulimit -d"], { encoding: "utf8" }).trim()
    expect(await p.call("limit")).toBe(inherited === "unlimited" ? -1 : Number(inherited) * 1024)
  })
})

it("rejects a bad maxMemoryMb, naming it", async () => {
  await expect(createPool({ worker: { module: "hungry", cwd: FIXTURES, maxMemoryMb: 8 } })).rejects.toBeInstanceOf(InvalidOptionError)
  await expect(createPool({ worker: { module: "hungry", cwd: FIXTURES, maxMemoryMb: 1.5 } })).rejects.toThrow(/worker\.maxMemoryMb must be an integer from 32/)
})
