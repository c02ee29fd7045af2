import { afterEach, describe, expect, it } from "vitest"
import { createPool, WorkerCrashedError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, INTERPRETERS, isAlive } from "../helpers.ts"

// A stopped process (SIGSTOP, a debugger) runs no thread at all, so its reader answers no ping:
// the heartbeat treats it like a wedged one. SIGKILL ends a stopped process too.
describe.each(INTERPRETERS)("a stopped worker on $python ($codec)", ({ python }) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close({ timeoutMs: 0 })
    pool = undefined
  })

  it("is killed by the heartbeat; its call gets WorkerCrashedError and a new worker serves", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES, python }, size: 1, heartbeat: { intervalMs: 200, misses: 3 } })
    const pid = await p.call("pid") as number
    const call = p.call("sleep_in_c", { s: 0.5 }).catch((e: unknown) => e)
    await expect.poll(() => p.snapshot().workers[0]!.inFlight).toBe(1)
    process.kill(pid, "SIGSTOP")
    const error = await call
    expect(error).toBeInstanceOf(WorkerCrashedError)
    expect(error).toMatchObject({ reason: "heartbeat", signal: "SIGKILL", pid })
    expect((error as Error).message).toMatch(/no pong to 3 heartbeats/)
    expect(isAlive(pid)).toBe(false)
    const next = await p.call("pid") as number
    expect(next).not.toBe(pid)
    expect(p.snapshot().workers[0]).toMatchObject({ restarts: 1, state: "ready" })
  })
})
