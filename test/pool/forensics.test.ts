import { readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { afterEach, describe, expect, it } from "vitest"
import { createPool, WorkerCrashedError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, INTERPRETERS } from "../helpers.ts"

const faultFiles = (): Array<string> => readdirSync(tmpdir()).filter((f) => f.startsWith(`pyvisor-fault-${process.pid}-`))

describe.each(INTERPRETERS)("crash forensics on $python ($codec)", ({ python }) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })

  it("a segfault gives WorkerCrashedError with every thread's Python stack, the call, the RSS and the stderr tail", async () => {
    // RSS sampling on (a limit far above what the worker uses), so the crash report carries a sample.
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES, python }, size: 1, maxWorkerRssMb: 100_000, rssCheckIntervalMs: 100 })
    await expect.poll(() => p.snapshot().workers[0]!.rss, { timeout: 10_000 }).toBeGreaterThan(0)
    const error = await p.call("crash_segv").catch((e: unknown) => e) as WorkerCrashedError
    expect(error).toBeInstanceOf(WorkerCrashedError)
    expect(error).toMatchObject({ signal: "SIGSEGV", callName: "crash_segv", callId: expect.any(Number), rssBytes: expect.any(Number) })
    expect(error.rssBytes).toBeGreaterThan(1_000_000)
    expect(error.pythonStack).toMatch(/Fatal Python error: Segmentation fault/)
    expect(error.pythonStack).toMatch(/gentle\.py", line \d+ in crash_segv/)
    // Every thread: the main one and the runtime's reader of fd 3.
    expect(error.pythonStack!.match(/^(Current thread|Thread) 0x/gm)!.length).toBeGreaterThanOrEqual(2)
    expect(error.message).toMatch(/while running 'crash_segv' \(call \d+\)/)
    expect(error.message).toMatch(/Python stack at the crash/)
    // The replacement serves; each incarnation's dump file is removed once read.
    expect(await p.call("pid")).toEqual(expect.any(Number))
    await p.close()
    expect(faultFiles()).toEqual([])
  })

  it("a worker that exits without a fatal signal has no stack, and no call when idle", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES, python }, size: 1 })
    const errors: Array<Error | null> = []
    p.on("worker", (e) => e.type === "exit" && errors.push(e.error))
    const pid = await p.call("pid") as number
    process.kill(pid, "SIGKILL")
    await expect.poll(() => errors.length).toBe(1)
    expect(errors[0]).toBeInstanceOf(WorkerCrashedError)
    expect(errors[0]).not.toHaveProperty("pythonStack")
    expect(errors[0]).not.toHaveProperty("callName")
  })
})
