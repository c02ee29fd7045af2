// The shared store suite on the memory backend, plus the background sweep timer.
import { afterEach, describe, expect, it, vi } from "vitest"
import { memoryStore, SessionExpiredError } from "../../src/store/index.ts"
import { storeSuite } from "./suite.ts"

storeSuite("memory", (options) => memoryStore(options))

describe("memoryStore background sweep", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("sweeps every sweepIntervalMs on the store clock, and stops on close", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] })
    let now = 0
    const store = memoryStore({ clock: () => now, sweepIntervalMs: 1000, defaultTtlMs: 500 })
    await store.createSession("s")
    await store.createSession("s2")
    now = 500
    vi.advanceTimersByTime(999)
    expect(await store.closeSession("s2")).toBe(true) // expired, not swept yet
    vi.advanceTimersByTime(1)
    expect(await store.sweep()).toBe(0) // the timer's sweep already deleted "s"
    await expect(store.get({ session: "s" }, "k")).rejects.toBeInstanceOf(SessionExpiredError)
    await store.close()
    expect(vi.getTimerCount()).toBe(0)
  })

  it("with sweepIntervalMs 0 starts no timer", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] })
    const store = memoryStore({ sweepIntervalMs: 0 })
    expect(vi.getTimerCount()).toBe(0)
    await store.close()
  })

  it("defaults: 30 min TTL", async () => {
    const store = memoryStore({ clock: () => 0, sweepIntervalMs: 0 })
    expect(await store.createSession("s")).toMatchObject({ ttlMs: 30 * 60_000, expiresAt: 30 * 60_000 })
    await store.close()
  })
})
