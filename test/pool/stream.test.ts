import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { createPool, PythonError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES } from "../helpers.ts"

let pool: Pool | undefined
afterEach(async () => {
  await pool?.close()
  pool = undefined
})
const start = async (python = "python3"): Promise<Pool> =>
  (pool = await createPool({ worker: { module: "pooled", cwd: FIXTURES, python }, size: 1 }))

describe("streams", () => {
  it.each(["python3", "/usr/bin/python3"])("10 000 chunks arrive in order (%s)", async (python) => {
    const p = await start(python)
    let expected = 0
    for await (const value of p.stream("numbers", { n: 10_000 })) expect(value).toBe(expected++)
    expect(expected).toBe(10_000)
    expect(await p.call("pid")).toEqual(expect.any(Number))
  })

  it("ctx.emit streams too", async () => {
    const p = await start()
    const items: Array<unknown> = []
    for await (const item of p.stream("emitter", { n: 3 })) items.push(item)
    expect(items).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }])
  })

  it("an early break stops the Python generator and frees the worker", async () => {
    const p = await start()
    const dir = mkdtempSync(join(tmpdir(), "pyvisor-"))
    const marker = join(dir, "closed")
    let seen = 0
    for await (const _ of p.stream("numbers", { n: 1_000_000, marker })) if (++seen === 5) break
    await expect.poll(() => existsSync(marker)).toBe(true)
    await expect.poll(() => p.snapshot().workers[0]!.state).toBe("ready")
    expect(await p.call("pid")).toEqual(expect.any(Number))
  })

  it("backpressure: the generator runs at most a window ahead of a slow consumer", async () => {
    const p = await start()
    const progress = join(mkdtempSync(join(tmpdir(), "pyvisor-")), "progress")
    let taken = 0
    for await (const _ of p.stream("numbers", { n: 100_000, progress }, { window: 8 })) {
      if (++taken === 20) {
        await new Promise((r) => setTimeout(r, 200))
        const produced = Number(readFileSync(progress, "utf8"))
        // 20 taken + at most one window in flight (+1 for the item being produced).
        expect(produced).toBeLessThanOrEqual(20 + 8 + 1)
        break
      }
    }
  })

  it("an exception mid-stream arrives after the items before it", async () => {
    const p = await start()
    const items: Array<unknown> = []
    const error = await (async () => {
      for await (const item of p.stream("broken_stream", { n: 3 })) items.push(item)
    })().catch((e: unknown) => e)
    expect(items).toEqual([0, 1, 2])
    expect(error).toBeInstanceOf(PythonError)
    expect((error as Error).message).toMatch(/stream broke after 3 items/)
  })

  it("rejects a bad window", async () => {
    const p = await start()
    await expect(p.stream("numbers", { n: 1 }, { window: 0 }).next()).rejects.toMatchObject({ option: "options.window" })
  })
})
