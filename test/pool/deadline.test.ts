import { afterEach, describe, expect, it } from "vitest"
import { createPool } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES } from "../helpers.ts"

let pool: Pool | undefined
afterEach(async () => {
  await pool?.close()
  pool = undefined
})

type Seen = { readonly deadline: number | null; readonly now: number; readonly left: number | null }

describe("timeoutMs travels with the call", () => {
  it("Python sees what is left of the budget as ctx.deadline and ctx.time_left(); None without a timeout", async () => {
    const p = pool = await createPool({ worker: { module: "gentle", cwd: FIXTURES, prefetch: 0 }, size: 1 })
    expect(await p.call("deadline")).toEqual({ deadline: null, now: expect.any(Number), left: null })
    const seen = await p.call("deadline", undefined, { timeoutMs: 30_000 }) as Seen
    expect(seen.left).toBeGreaterThan(20)
    expect(seen.left).toBeLessThanOrEqual(30)
    expect(seen.deadline! - seen.now).toBeCloseTo(seen.left!, 2)
    // Time spent waiting in the pool's queue is taken off the budget Python sees.
    const busy = p.call("sleep_in_c", { s: 1 })
    const queued = p.call("deadline", undefined, { timeoutMs: 30_000 }) as Promise<Seen>
    await busy
    expect((await queued).left).toBeLessThanOrEqual(29)
  })
})
