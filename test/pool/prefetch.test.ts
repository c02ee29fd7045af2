// Prefetched calls after a crash: requeued only when the host read every answer the worker wrote.
// (The exact case, where they are requeued and run once on the replacement, is in supervision.test.ts.)
import { afterEach, describe, expect, it } from "vitest"
import { createPool, WorkerCrashedError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, isAlive, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  let pool: Pool | undefined
  const strays: Array<number> = []
  afterEach(async () => {
    for (const pid of strays.splice(0)) if (isAlive(pid)) process.kill(pid, "SIGKILL")
    await pool?.close({ timeoutMs: 0 })
    pool = undefined
  })

  it("when the worker's pipe cannot be read to its end, no unanswered call is assumed unstarted: none is requeued", async () => {
    const p = (pool = await createPool({ worker: { startMethod, module: "forking", cwd: FIXTURES }, size: 1 }))
    // A grandchild keeps fd 4 open after the worker dies: the host cannot know what was written.
    const holder = await p.call("fork_holder", { seconds: 10 }) as number
    strays.push(holder)
    const pid = p.snapshot().workers[0]!.pid!
    const running = p.call("hang").catch((e: unknown) => e)
    const prefetched = [p.call("pid").catch((e: unknown) => e), p.call("pid").catch((e: unknown) => e)]
    expect(p.snapshot().workers[0]!.inFlight).toBe(3)
    process.kill(pid, "SIGKILL")
    expect(await running).toBeInstanceOf(WorkerCrashedError)
    for (const outcome of await Promise.all(prefetched)) expect(outcome).toBeInstanceOf(WorkerCrashedError)
    // The pool itself carries on with a replacement.
    expect(await p.call("pid")).not.toBe(pid)
  })
})
