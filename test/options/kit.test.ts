import { describe, expect, it } from "vitest"
import {
  checkKnown, integer, invalid, invalidTimerMs, keysOf, MAX_TIMER_MS, optionName, section, show, suggest, timerMs
} from "../../src/options/kit.ts"

import { rejection as thrown } from "../helpers.ts"

describe("options kit", () => {
  it("invalid names the option and quotes the value", () => {
    const error = invalid("heartbeat.misses", "3", "an integer from 1")
    expect(error).toMatchObject({ code: "INVALID_OPTION", option: "heartbeat.misses", value: "3" })
    expect(error.message).toBe("heartbeat.misses must be an integer from 1, got '3'")
    expect(show("x".repeat(300))).toMatch(/\.\.\. 100 more characters/)
  })

  it("optionName joins a path and a key; the top level is the empty path", () => {
    expect([optionName("restart.backoff", "maxMs"), optionName("", "size")]).toEqual(["restart.backoff.maxMs", "size"])
  })

  it("integer: range, fallback for undefined only, Infinity only when asked", () => {
    expect(integer("size", undefined, { min: 1, fallback: 4 })).toBe(4)
    expect(thrown(() => integer("size", null, { min: 1, fallback: 4 })).message).toBe("size must be an integer from 1 to 9007199254740991, got null")
    expect(thrown(() => integer("size", undefined, { min: 1 })).option).toBe("size")
    expect(thrown(() => integer("n", 5, { min: 1, max: 4 })).message).toBe("n must be an integer from 1 to 4, got 5")
    expect(integer("n", Infinity, { min: 1, orInfinity: true })).toBe(Infinity)
    expect(thrown(() => integer("n", 0, { min: 1, orInfinity: true })).message).toMatch(/or Infinity, got 0$/)
  })

  it("timerMs: from min to MAX_TIMER_MS, integers unless fractional", () => {
    expect(MAX_TIMER_MS).toBe(2147483647)
    expect(timerMs("t", MAX_TIMER_MS, { min: 0 })).toBe(MAX_TIMER_MS)
    expect(timerMs("t", undefined, { min: 0, fallback: 7 })).toBe(7)
    expect(thrown(() => timerMs("t", MAX_TIMER_MS + 1, { min: 0 })).message).toBe("t must be an integer from 0, at most 2147483647 ms (~24.8 days), got 2147483648")
    expect(thrown(() => timerMs("t", Infinity, { min: 0 })).value).toBe(Infinity)
    expect(thrown(() => timerMs("t", 1.5, { min: 0 })).option).toBe("t")
    expect(timerMs("t", 1.5, { min: 0, fractional: true })).toBe(1.5)
    expect(thrown(() => timerMs("t", "5", { min: 0, fractional: true })).message).toMatch(/^t must be a number from 0, .*got '5'$/)
  })

  it("invalidTimerMs returns the error instead of throwing (for close.timeoutMs and calls)", () => {
    expect(invalidTimerMs("close.timeoutMs", undefined, 0)).toBeUndefined()
    expect(invalidTimerMs("close.timeoutMs", 0, 0)).toBeUndefined()
    expect(invalidTimerMs("close.timeoutMs", MAX_TIMER_MS, 0)).toBeUndefined()
    expect(invalidTimerMs("close.timeoutMs", MAX_TIMER_MS + 1, 0)).toMatchObject({ option: "close.timeoutMs", value: MAX_TIMER_MS + 1 })
    expect(invalidTimerMs("close.timeoutMs", -1, 0)?.message).toBe("close.timeoutMs must be an integer from 0, at most 2147483647 ms (~24.8 days), got -1")
  })

  it("suggest: closest by edit distance, case-insensitive, a swap counts once, nothing when far", () => {
    expect(suggest("maxQueu", ["size", "maxQueue"])).toBe("maxQueue")
    expect(suggest("MAXQUEUE", ["maxQueue"])).toBe("maxQueue")
    expect(suggest("mxaQueue", ["maxQueue"])).toBe("maxQueue")
    expect(suggest("no", ["on"])).toBe("on")
    expect(suggest("x", ["on"])).toBeUndefined()
    expect(suggest("timeout", ["initTimeoutMs", "checkoutTimeoutMs"])).toBeUndefined()
    expect(suggest("graceMs", ["graceMs2", "graceMs3"])).toBe("graceMs2")
  })

  it("checkKnown names the first unknown key with its path", () => {
    expect(() => checkKnown("", { size: 1 }, ["size"])).not.toThrow()
    const near = thrown(() => checkKnown("restart.backoff", { maxMs: 1, maxMz: 2 }, ["initialMs", "maxMs"]))
    expect(near).toMatchObject({ option: "restart.backoff.maxMz", value: 2 })
    expect(near.message).toBe("unknown option restart.backoff.maxMz; did you mean restart.backoff.maxMs?")
    expect(thrown(() => checkKnown("", { colour: 1 }, ["size", "lazy"])).message).toBe("unknown option colour; valid options are size, lazy")
  })

  it("section: a plain object with known keys; the top level is called options", () => {
    expect(section("heartbeat", { misses: 2 }, ["misses"])).toEqual({ misses: 2 })
    expect(thrown(() => section("", [], ["size"])).message).toBe("options must be an object, got []")
    expect(thrown(() => section("heartbeat", null, ["misses"], "an object or false")).message).toBe("heartbeat must be an object or false, got null")
  })

  it("keysOf lists the names of an interface", () => {
    expect(keysOf<{ a?: number; b: string }>({ a: true, b: true })).toEqual(["a", "b"])
  })
})
