// A worker killed by the kernel's OOM killer gets WorkerCrashedError reason "oom". The real case
// runs the worker in a child memory cgroup with a small limit, where the machine lets us make one.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { crashError } from "../../src/actors/crash.ts"
import { readOomKills } from "../../src/actors/oom.ts"
import { createPool, WorkerCrashedError } from "../../src/index.ts"
import { FIXTURES } from "../helpers.ts"

describe("classifying a SIGKILL", () => {
  const facts = (reason: "signal" | "killed", oomKillsRose: boolean) => ({
    workerId: "w1", pid: 7, stderrTail: "", oomKillsRose,
    exit: { reason, code: null, signal: "SIGKILL", message: "killed by SIGKILL" },
    process: { code: null, signal: "SIGKILL" }
  })

  it("is oom when pyvisor did not send it and the kernel's OOM kills rose meanwhile", () => {
    const error = crashError(facts("signal", true)) as WorkerCrashedError
    expect(error.reason).toBe("oom")
    expect(error.message).toMatch(/likely by the kernel's out-of-memory killer.*worker\.maxMemoryMb/)
    expect((crashError(facts("signal", false)) as WorkerCrashedError).reason).toBe("signal")
    expect((crashError(facts("killed", true)) as WorkerCrashedError).reason).toBe("killed") // ours
  })

  it("reads the kernel's count", () => {
    expect(readOomKills()).toEqual(existsSync("/proc/vmstat") ? expect.any(Number) : null)
  })
})

/** A fresh child memory cgroup (v1 or v2) limited to `bytes`, or undefined where none can be made. */
const memoryCgroup = (bytes: number): { readonly join: (pid: number) => void; readonly remove: () => void } | undefined => {
  try {
    const lines = readFileSync("/proc/self/cgroup", "utf8").split("\n")
    const v1 = lines.find((l) => /^\d+:memory:/.test(l))
    const base = v1 !== undefined
      ? join("/sys/fs/cgroup/memory", v1.split(":")[2]!)
      : join("/sys/fs/cgroup", lines.find((l) => l.startsWith("0::"))!.slice(3))
    const dir = join(base, `pyvisor-oom-${process.pid}`)
    mkdirSync(dir)
    writeFileSync(join(dir, v1 !== undefined ? "memory.limit_in_bytes" : "memory.max"), String(bytes))
    return {
      join: (pid) => writeFileSync(join(dir, "cgroup.procs"), String(pid)),
      remove: () => rmdirSync(dir)
    }
  } catch {
    return undefined
  }
}

const probe = memoryCgroup(64 * 1024 * 1024)
probe?.remove()

describe.runIf(probe !== undefined && readOomKills() !== null)("a worker the kernel kills for memory", () => {
  it("fails its call with WorkerCrashedError reason oom, and is replaced", async () => {
    const pool = await createPool({ worker: { module: "hungry", cwd: FIXTURES, python: "/usr/bin/python3" }, size: 1 })
    const cgroup = memoryCgroup(96 * 1024 * 1024)!
    try {
      const pid = (await pool.call("pid")) as number
      cgroup.join(pid)
      const error = await pool.call("allocate", { mb: 400 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(WorkerCrashedError)
      expect(error).toMatchObject({ reason: "oom", signal: "SIGKILL" })
      await expect.poll(() => pool.snapshot().workers[0]!.state).toBe("ready")
      expect(await pool.call("pid")).not.toBe(pid)
    } finally {
      await pool.close()
      cgroup.remove()
    }
  })
})
