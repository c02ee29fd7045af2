// Part of the shared store suite: invalid options, ids, keys and values are typed errors and change nothing.
import { expect, it } from "vitest"
import { InvalidOptionError, SerializationError } from "../../src/errors.ts"
import { InvalidKeyError, InvalidSessionIdError, ValueTooLargeError } from "../../src/store/index.ts"
import type { SessionStore, StoreOptions } from "../../src/store/index.ts"
import type { SuiteContext } from "./suite.ts"

class Point {
  readonly x = 1
}
const cycle: Record<string, unknown> = { a: 1 }
cycle["self"] = cycle

const UNSERIALISABLE: ReadonlyArray<readonly [string, unknown, RegExp]> = [
  ["a function", { f: () => 1 }, /value\.f is a function/],
  ["a symbol", [Symbol("s")], /value\[0\] is a symbol/],
  ["a class instance", { p: new Point() }, /value\.p is a Point/],
  ["a Map", new Map([["a", 1]]), /value is a Map/],
  ["a Set", { "odd key": new Set([1]) }, /value\["odd key"\] is a Set/],
  ["a Float64Array", new Float64Array(2), /Float64Array/],
  ["a cycle", cycle, /value\.self is a circular reference/],
  ["top-level undefined", undefined, /undefined/],
  ["a bigint beyond 64 bits", 2n ** 70n, /outside the 64-bit range/],
  ["an invalid Date", new Date(Number.NaN), /invalid Date/]
]

// Snapshot of everything visible, to prove a rejected call changed nothing.
const snapshot = async (store: SessionStore): Promise<unknown> => ({
  global: await Promise.all((await store.list("global")).map(async (k) => [k, await store.get("global", k)])),
  s: await Promise.all((await store.list({ session: "s" })).map(async (k) => [k, await store.get({ session: "s" }, k)])),
  sessions: await Promise.all(["s", "t"].map((id) => store.getSession(id)))
})

/**
 * Registers the invalid options, ids, keys and values tests of the shared suite.
 *
 * @example
 * ```ts
 * validationTests(ctx)
 * ```
 */
export const validationTests = (ctx: SuiteContext): void => {
  it.each(UNSERIALISABLE)("refuses %s with SerializationError, changing nothing", async (_name, value, message) => {
    const store = ctx.make()
    await store.createSession("s")
    await store.put({ session: "s" }, "k", "before")
    await store.put("global", "k", "before")
    const before = await snapshot(store)
    await expect(store.put({ session: "s" }, "k", value)).rejects.toBeInstanceOf(SerializationError)
    await expect(store.put("global", "k", value)).rejects.toThrow(message)
    await expect(store.put("global", "new", value)).rejects.toMatchObject({ code: "SERIALIZATION" })
    expect(await snapshot(store)).toEqual(before)
  })

  it("refuses values over maxValueBytes (encoded), naming key and sizes", async () => {
    const store = ctx.make({ maxValueBytes: 64 })
    await store.put("global", "k", "small")
    await store.put("global", "edge", "x".repeat(62)) // 2-byte str8 header + 62 = 64 bytes
    const error = await store.put("global", "k", "x".repeat(100)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValueTooLargeError)
    expect(error).toMatchObject({ code: "VALUE_TOO_LARGE", key: "k", bytes: 102, maxBytes: 64 })
    expect((error as Error).message).toMatch(/"k" is 102 bytes encoded, more than maxValueBytes 64/)
    expect((await store.get("global", "k"))?.value).toBe("small")
  })

  it.each([["", "''"], ["a b", "'a b'"], ["x".repeat(129), "'xxx"], ["é", "'é'"], ["a/b", "'a/b'"], [42, "42"], [null, "null"]])(
    "refuses session id %j with InvalidSessionIdError quoting it, changing nothing", async (id, quoted) => {
      const store = ctx.make()
      await store.createSession("s")
      const before = await snapshot(store)
      const error = await store.createSession(id as string).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidSessionIdError)
      expect(error).toMatchObject({ code: "INVALID_SESSION_ID", sessionId: id, message: expect.stringContaining(quoted) })
      await expect(store.put({ session: id as string }, "k", 1)).rejects.toBeInstanceOf(InvalidSessionIdError)
      await expect(store.touchSession(id as string)).rejects.toBeInstanceOf(InvalidSessionIdError)
      await expect(store.closeSession(id as string)).rejects.toBeInstanceOf(InvalidSessionIdError)
      expect(await snapshot(store)).toEqual(before)
    })

  it("accepts session ids of 128 characters of [A-Za-z0-9_.:-]", async () => {
    const store = ctx.make()
    const id = "Az09_.:-".repeat(16)
    expect(await store.createSession(id)).toMatchObject({ id, created: true })
  })

  it.each([["", "''"], ["k".repeat(513), "'kkk"], ["a\ud800", "'a\\ud800'"], [42, "42"], [undefined, "undefined"]])(
    "refuses key %j with InvalidKeyError quoting it, changing nothing", async (key, quoted) => {
      const store = ctx.make()
      await store.createSession("s")
      await store.put("global", "k", 1)
      const before = await snapshot(store)
      const error = await store.put("global", key as string, 1).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidKeyError)
      expect(error).toMatchObject({ code: "INVALID_KEY", key, message: expect.stringContaining(quoted) })
      await expect(store.put({ session: "s" }, key as string, 1)).rejects.toBeInstanceOf(InvalidKeyError)
      await expect(store.get("global", key as string)).rejects.toBeInstanceOf(InvalidKeyError)
      await expect(store.delete({ session: "s" }, key as string)).rejects.toBeInstanceOf(InvalidKeyError)
      expect(await snapshot(store)).toEqual(before)
    })

  it("refuses bad scopes, ttl, knownVersion and prefix with InvalidOptionError", async () => {
    const store = ctx.make()
    await expect(store.get("Global" as "global", "k")).rejects.toThrow(/scope must be "global" or \{ session: id \}, got 'Global'/)
    await expect(store.get(null as unknown as "global", "k")).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(store.createSession("s", { ttlMs: 0 })).rejects.toThrow(/ttlMs must be an integer from 1 .* or Infinity, got 0/)
    await expect(store.getIfChanged("global", "k", -1)).rejects.toMatchObject({ option: "knownVersion", value: -1 })
    await expect(store.list("global", 5 as unknown as string)).rejects.toMatchObject({ option: "prefix" })
    expect(await store.getSession("s")).toBeUndefined()
  })

  it.each<readonly [Record<string, unknown>, string, RegExp]>([
    [{ defaultTtlMs: 0 }, "defaultTtlMs", /defaultTtlMs must be an integer from 1 to \d+ or Infinity, got 0/],
    [{ defaultTtlMs: "1000" }, "defaultTtlMs", /got '1000'/],
    [{ defaultTtlMs: Number.NaN }, "defaultTtlMs", /got NaN/],
    [{ maxSessions: 0 }, "maxSessions", /maxSessions must be an integer from 1 .*, got 0/],
    [{ maxSessions: 1.5 }, "maxSessions", /got 1.5/],
    [{ maxValueBytes: Infinity }, "maxValueBytes", /maxValueBytes must be an integer from 1 to 536870912, got Infinity/],
    [{ sweepIntervalMs: -1 }, "sweepIntervalMs", /sweepIntervalMs must be an integer from 0, at most 2147483647 ms \(~24\.8 days\), got -1/],
    [{ sweepIntervalMs: 2 ** 31 }, "sweepIntervalMs", /at most 2147483647 ms \(~24\.8 days\), got 2147483648/],
    [{ clock: 5 }, "clock", /clock must be a function returning milliseconds, got 5/],
    [{ ttlMs: 5 }, "ttlMs", /^unknown option ttlMs; valid options are defaultTtlMs, maxSessions, /],
    [{ maxSesions: 5 }, "maxSesions", /^unknown option maxSesions; did you mean maxSessions\?$/]
  ])("validates options at construction: %j", (options, option, message) => {
    let error: unknown
    try {
      ctx.raw(options as StoreOptions)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect(error).toMatchObject({ code: "INVALID_OPTION", option, value: options[option] })
    expect((error as Error).message).toMatch(message)
  })
}
