import { availableParallelism } from "node:os"
import { describe, expect, it } from "vitest"
import { createPool, InvalidOptionError } from "../../src/index.ts"
import type { PoolOptions } from "../../src/index.ts"
import { resolveOptions } from "../../src/pool/options.ts"

const base = { worker: { module: "basic" } }

describe("options", () => {
  it("applies defaults", () => {
    expect(resolveOptions(base)).toMatchObject({
      size: availableParallelism(), overflow: 0, lazy: false, startConcurrency: 8, initTimeoutMs: 10_000, checkoutTimeoutMs: 30_000,
      maxQueue: 1_000, cancelGraceMs: 2_000, maxCallsPerWorker: Infinity, workerTtlMs: Infinity, shutdown: { graceMs: 5_000, killAfterMs: 2_000 }
    })
    expect(resolveOptions({ ...base, maxWorkerRssMb: 2 }).maxWorkerRssBytes).toBe(2 * 1024 * 1024)
  })

  it.each([
    [{ ...base, size: 0 }, "size", /size must be an integer from 1 to 1024, got 0/],
    [{ ...base, size: 1.5 }, "size", /got 1.5/],
    [{ ...base, size: "4" }, "size", /got '4'/],
    [{ ...base, initTimeoutMs: -1 }, "initTimeoutMs", /initTimeoutMs must be an integer from 1/],
    [{ ...base, maxFrameBytes: 10 }, "maxFrameBytes", /from 1024 to 4294967295, got 10/],
    [{ ...base, shutdown: { graceMs: Number.NaN } }, "shutdown.graceMs", /got NaN/],
    [{ worker: {} }, "worker.module", /worker.module must be a module name or a .py path, got undefined/],
    [{ worker: { module: "my-workers" } }, "worker.module", /dotted module name or a path ending in .py, got 'my-workers'/],
    [{ worker: { module: ["ok", ""] } }, "worker.module[1]", /non-empty string/],
    [{ worker: { module: "m", env: { A: 1 } } }, "worker.env.A", /worker.env.A must be a string, got 1/],
    [{ worker: { module: "m", preload: "numpy" } }, "worker.preload", /an array of strings, got 'numpy'/],
    [{ worker: { module: "m", inheritEnv: "some" } }, "worker.inheritEnv", /got 'some'/],
    [{ worker: "basic" }, "worker", /worker must be an object/],
    [{ ...base, overflow: -1 }, "overflow", /overflow must be an integer from 0/],
    [{ ...base, lazy: "yes" }, "lazy", /lazy must be a boolean, got 'yes'/],
    [{ ...base, startConcurrency: 0 }, "startConcurrency", /got 0/],
    [{ ...base, checkoutTimeoutMs: 0 }, "checkoutTimeoutMs", /got 0/],
    [{ ...base, maxQueue: -1 }, "maxQueue", /got -1/],
    [{ ...base, maxCallsPerWorker: 0 }, "maxCallsPerWorker", /got 0/],
    [{ ...base, maxWorkerRssMb: Infinity }, "maxWorkerRssMb", /got Infinity/],
    [{ ...base, workerTtlMs: 1.5 }, "workerTtlMs", /got 1.5/],
    [{ ...base, on: { started: () => {} } }, "on.started", /one of the events worker, log/],
    [{ ...base, on: { ready: "yes" } }, "on.ready", /a function, got 'yes'/]
  ])("rejects %o naming %s", (options, option, message) => {
    let error: unknown
    try {
      resolveOptions(options as unknown as PoolOptions)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect(error).toMatchObject({ code: "INVALID_OPTION", option })
    expect((error as Error).message).toMatch(message)
  })

  it("accepts module paths, lists and env inheritance lists", () => {
    expect(resolveOptions({ worker: { module: ["a.b", "./x/y.py"], inheritEnv: ["HOME"] } }).spec.module).toEqual(["a.b", "./x/y.py"])
  })

  it("createPool rejects bad options before spawning anything", async () => {
    await expect(createPool({ worker: { module: "basic" }, size: -2 })).rejects.toThrow(InvalidOptionError)
  })

  it("call validates its own arguments", async () => {
    const pool = await createPool({ worker: { module: "basic", cwd: new URL("../fixtures", import.meta.url).pathname } })
    try {
      await expect(pool.call("")).rejects.toMatchObject({ option: "name" })
      await expect(pool.call("add", 3 as never)).rejects.toThrow(/args must be an object \(keyword arguments\) or an array \(positional\), got 3/)
      await expect(pool.call("add", { a: 1, b: 1 }, { session: 5 as never })).rejects.toMatchObject({ option: "options.session" })
    } finally {
      await pool.close()
    }
  })
})
