import { availableParallelism } from "node:os"
import { describe, expect, it } from "vitest"
import { createPool, InvalidOptionError } from "../../src/index.ts"
import type { PoolOptions } from "../../src/index.ts"
import { validateCall } from "../../src/pool/call-options.ts"
import { resolveOptions } from "../../src/pool/options.ts"
import { makeSession } from "../../src/pool/session.ts"
import type { SessionHost } from "../../src/pool/session.ts"
import { rejection } from "../helpers.ts"

const base = { worker: { module: "basic" } }
const MAX = 2 ** 31 - 1


const host: SessionHost = {
  call: () => Promise.resolve(undefined),
  stream: () => { throw new Error("unused") },
  closeSession: () => Promise.resolve()
}

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
    [{ worker: ["basic"] }, "worker", /worker must be an object like \{ module: 'my_workers' \}, got \[ 'basic' \]/],
    [{ ...base, shutdown: 5 }, "shutdown", /shutdown must be an object like \{ graceMs: 5000, killAfterMs: 2000 \}, got 5/],
    [{ ...base, restart: { backoff: null } }, "restart.backoff", /restart.backoff must be an object .*, got null/],
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

  describe("unknown keys", () => {
    it.each([
      [{ ...base, maxQueu: 5 }, "maxQueu", "maxQueue"],
      [{ ...base, Size: 2 }, "Size", "size"],
      [{ worker: { modul: "basic" } }, "worker.modul", "worker.module"],
      [{ ...base, restart: { maxRestart: 3 } }, "restart.maxRestart", "restart.maxRestarts"],
      [{ ...base, restart: { backoff: { maxMz: 100 } } }, "restart.backoff.maxMz", "restart.backoff.maxMs"],
      [{ ...base, heartbeat: { mises: 2 } }, "heartbeat.mises", "heartbeat.misses"],
      [{ ...base, shutdown: { graceMS: 100 } }, "shutdown.graceMS", "shutdown.graceMs"]
    ])("%o: %s suggests %s", (options, option, suggestion) => {
      const error = rejection(() => resolveOptions(options as unknown as PoolOptions))
      expect(error).toMatchObject({ code: "INVALID_OPTION", option })
      expect(error.message).toBe(`unknown option ${option}; did you mean ${suggestion}?`)
    })

    it.each([
      [{ ...base, colour: "red" }, "colour", /valid options are worker, size, overflow, /],
      [{ worker: { module: "basic", banana: 1 } }, "worker.banana", /valid options are module, cwd, /],
      [{ ...base, restart: { strategy: "one_for_all" } }, "restart.strategy", /valid options are maxRestarts, withinMs, backoff$/],
      [{ ...base, restart: { backoff: { exponent: 3 } } }, "restart.backoff.exponent", /valid options are initialMs, maxMs, factor, jitter, resetAfterMs$/],
      [{ ...base, heartbeat: { timeoutMs: 100 } }, "heartbeat.timeoutMs", /valid options are intervalMs, misses$/],
      [{ ...base, shutdown: { signal: "SIGINT" } }, "shutdown.signal", /valid options are graceMs, killAfterMs$/]
    ])("%o: %s without a close match gets no suggestion", (options, option, list) => {
      const error = rejection(() => resolveOptions(options as unknown as PoolOptions))
      expect(error).toMatchObject({ code: "INVALID_OPTION", option })
      expect(error.message).toMatch(new RegExp(`^unknown option ${option.replace(/\./g, "\\.")}; `))
      expect(error.message).not.toMatch(/did you mean/)
      expect(error.message).toMatch(list)
    })

    it("keeps the bad key's value on the error", () => {
      expect(rejection(() => resolveOptions({ ...base, maxQueu: 5 } as unknown as PoolOptions)).value).toBe(5)
    })

    it("open-ended objects (env, on, hostHandlers) keep their own rules", () => {
      expect(resolveOptions({ worker: { module: "m", env: { ANY_NAME: "1" } }, hostHandlers: { anything: () => 1 } }).hostHandlers).toHaveProperty("anything")
    })

    it("session options: a near miss is suggested, a far one is not", () => {
      const near = rejection(() => makeSession(host, "s1", { affinty: "strict" } as never))
      expect(near).toMatchObject({ option: "session.affinty", value: "strict" })
      expect(near.message).toBe("unknown option session.affinty; did you mean session.affinity?")
      const far = rejection(() => makeSession(host, "s1", { sticky: true } as never))
      expect(far.option).toBe("session.sticky")
      expect(far.message).toBe("unknown option session.sticky; valid options are affinity, timeoutMs")
      expect(rejection(() => makeSession(host, "s1", null as never)).option).toBe("session")
      expect(makeSession(host, "s1", { affinity: "strict" }).affinity).toBe("strict")
    })
  })

  describe("millisecond options that end up in a timer are at most 2^31 - 1", () => {
    const cases: ReadonlyArray<readonly [string, (ms: number) => Record<string, unknown>]> = [
      ["initTimeoutMs", (ms) => ({ initTimeoutMs: ms })],
      ["checkoutTimeoutMs", (ms) => ({ checkoutTimeoutMs: ms })],
      ["cancelGraceMs", (ms) => ({ cancelGraceMs: ms })],
      ["idleTimeoutMs", (ms) => ({ idleTimeoutMs: ms })],
      ["rssCheckIntervalMs", (ms) => ({ rssCheckIntervalMs: ms })],
      ["shutdown.graceMs", (ms) => ({ shutdown: { graceMs: ms } })],
      ["shutdown.killAfterMs", (ms) => ({ shutdown: { killAfterMs: ms } })],
      ["heartbeat.intervalMs", (ms) => ({ heartbeat: { intervalMs: ms } })],
      ["restart.backoff.initialMs", (ms) => ({ restart: { backoff: { initialMs: ms, maxMs: MAX } } })],
      ["restart.backoff.maxMs", (ms) => ({ restart: { backoff: { maxMs: ms } } })]
    ]

    it.each(cases)("%s: 2^31 is refused", (option, given) => {
      const error = rejection(() => resolveOptions({ ...base, ...given(MAX + 1) } as PoolOptions))
      expect(error).toMatchObject({ option, value: MAX + 1 })
      expect(error.message).toMatch(new RegExp(`^${option.replace(/\./g, "\\.")} must be .*at most 2147483647 ms \\(~24\\.8 days\\), got 2147483648$`))
    })

    it.each(cases)("%s: 2^31 - 1 is accepted", (_option, given) => {
      expect(() => resolveOptions({ ...base, ...given(MAX) } as PoolOptions)).not.toThrow()
    })

    it("values compared with elapsed time, not armed, may be larger: workerTtlMs, restart.withinMs, restart.backoff.resetAfterMs", () => {
      const year = 365 * 24 * 3600 * 1000
      const resolved = resolveOptions({ ...base, workerTtlMs: year, restart: { withinMs: year, backoff: { resetAfterMs: year } } })
      expect([resolved.workerTtlMs, resolved.restart.intensity.withinMs, resolved.restart.backoff.resetAfterMs]).toEqual([year, year, year])
    })

    it("per-call timeoutMs: 2^31 is refused, 2^31 - 1 accepted", () => {
      const error = validateCall("f", undefined, { timeoutMs: MAX + 1 })
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect(error).toMatchObject({ option: "options.timeoutMs", value: MAX + 1 })
      expect(error?.message).toBe("options.timeoutMs must be an integer from 1, at most 2147483647 ms (~24.8 days), got 2147483648")
      expect(validateCall("f", undefined, { timeoutMs: MAX })).toBeUndefined()
      expect(validateCall("f", undefined, { timeoutMs: 0 })).toMatchObject({ option: "options.timeoutMs" })
    })

    it.each([0, -5, 1.5, MAX + 1, "5000", NaN, Infinity, null])("session timeoutMs %s is refused, naming the option and the value", (bad) => {
      const error = rejection(() => makeSession(host, "s1", { timeoutMs: bad as number }))
      expect(error).toMatchObject({ option: "session.timeoutMs", value: bad })
      expect(error.message).toMatch(/^session\.timeoutMs must be an integer from 1, at most 2147483647 ms \(~24\.8 days\), got /)
    })

    it("session timeoutMs: 1 and 2^31 - 1 are accepted; none means no default", () => {
      expect(makeSession(host, "s1", { timeoutMs: 1 }).timeoutMs).toBe(1)
      expect(makeSession(host, "s1", { timeoutMs: MAX }).timeoutMs).toBe(MAX)
      expect(makeSession(host, "s1", {}).timeoutMs).toBeUndefined()
      expect(makeSession(host, "s1", { timeoutMs: undefined } as never).timeoutMs).toBeUndefined()
    })
  })

  it("restart.backoff: fields left undefined take their defaults", () => {
    expect(resolveOptions({ ...base, restart: { backoff: { initialMs: undefined, maxMs: 100 } } } as unknown as PoolOptions).restart.backoff).toMatchObject({ initialMs: 10, maxMs: 100 })
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
