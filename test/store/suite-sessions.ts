// Part of the shared store suite: sessions, TTL on a fake clock, sweep, tombstones, limits.
import { expect, it } from "vitest"
import {
  SessionExpiredError, SessionLimitError, SessionNotFoundError, StoreClosedError
} from "../../src/store/index.ts"
import type { SessionStore } from "../../src/store/index.ts"
import { TOMBSTONE_TTL_MS } from "../../src/store/backend.ts"
import { T0 } from "./suite.ts"
import type { SuiteContext } from "./suite.ts"

const s = { session: "s" }

// Every scoped operation rejects with `error`.
const allReject = async (store: SessionStore, id: string, error: new (...args: never) => Error): Promise<void> => {
  const scope = { session: id }
  await expect(store.get(scope, "k")).rejects.toBeInstanceOf(error)
  await expect(store.getIfChanged(scope, "k", 1)).rejects.toBeInstanceOf(error)
  await expect(store.put(scope, "k", "new")).rejects.toBeInstanceOf(error)
  await expect(store.put(scope, "other", "new")).rejects.toBeInstanceOf(error)
  await expect(store.delete(scope, "k")).rejects.toBeInstanceOf(error)
  await expect(store.list(scope)).rejects.toBeInstanceOf(error)
  await expect(store.touchSession(id)).rejects.toBeInstanceOf(error)
}

/**
 * Registers the sessions, TTL, sweep, tombstones, limits tests of the shared suite.
 *
 * @example
 * ```ts
 * sessionTests(ctx)
 * ```
 */
export const sessionTests = (ctx: SuiteContext): void => {
  it("creates sessions idempotently and reports them", async () => {
    const store = ctx.make({ defaultTtlMs: 1000 })
    const info = await store.createSession("s")
    expect(info).toEqual({ id: "s", ttlMs: 1000, createdAt: T0, expiresAt: T0 + 1000, created: true })
    ctx.clock.advance(10)
    expect(await store.createSession("s", { ttlMs: 5 })).toEqual({ ...info, created: false })
    expect(await store.getSession("s")).toEqual({ id: "s", ttlMs: 1000, createdAt: T0, expiresAt: T0 + 1000 })
    expect(await store.getSession("other")).toBeUndefined()
  })

  it("a session is alive at ttl-1 and expired exactly at ttl; an expired one cannot be changed", async () => {
    const store = ctx.make()
    await store.createSession("s", { ttlMs: 1000 })
    await store.put(s, "k", "old")
    ctx.clock.advance(999)
    expect(await store.getSession("s")).toMatchObject({ expiresAt: T0 + 1000 })
    expect((await store.get(s, "k"))?.value).toBe("old")
    ctx.clock.advance(1)
    expect(await store.getSession("s")).toBeUndefined()
    await allReject(store, "s", SessionExpiredError)
    await expect(store.get(s, "k")).rejects.toMatchObject({ code: "SESSION_EXPIRED", sessionId: "s", message: expect.stringContaining("s") })
    ctx.clock.now = T0 + 999 // back in time: nothing was changed by the rejected calls
    expect(await store.get(s, "k")).toMatchObject({ value: "old" })
    expect(await store.list(s)).toEqual(["k"])
  })

  it("sweep deletes expired sessions and their keys; they still report expired (tombstone)", async () => {
    const store = ctx.make()
    await store.createSession("s", { ttlMs: 1000 })
    await store.createSession("live", { ttlMs: 5000 })
    await store.put(s, "k", 1)
    await store.put({ session: "live" }, "k", 2)
    expect(await store.sweep()).toBe(0)
    ctx.clock.advance(1000)
    expect(await store.sweep()).toBe(1)
    expect(await store.sweep()).toBe(0)
    ctx.clock.now = T0 // even back in time the keys are gone: the session was deleted
    await allReject(store, "s", SessionExpiredError)
    ctx.clock.now = T0 + 1000
    expect((await store.get({ session: "live" }, "k"))?.value).toBe(2)
    ctx.clock.advance(TOMBSTONE_TTL_MS)
    await expect(store.get(s, "k")).rejects.toBeInstanceOf(SessionNotFoundError)
  })

  it("re-creating an expired session gives a fresh, empty session", async () => {
    const store = ctx.make({ defaultTtlMs: 100 })
    await store.createSession("s")
    await store.put(s, "k", 1)
    ctx.clock.advance(100)
    expect(await store.createSession("s")).toMatchObject({ created: true, createdAt: T0 + 100, expiresAt: T0 + 200 })
    expect(await store.list(s)).toEqual([])
    ctx.clock.advance(100)
    await store.sweep()
    expect(await store.createSession("s")).toMatchObject({ created: true })
    expect(await store.get(s, "k")).toBeUndefined()
  })

  it("touch extends a session by its ttl", async () => {
    const store = ctx.make()
    await store.createSession("s", { ttlMs: 1000 })
    ctx.clock.advance(900)
    expect(await store.touchSession("s")).toEqual({ id: "s", ttlMs: 1000, createdAt: T0, expiresAt: T0 + 1900 })
    ctx.clock.advance(999)
    await store.put(s, "k", 1)
    ctx.clock.advance(1)
    await expect(store.touchSession("s")).rejects.toBeInstanceOf(SessionExpiredError)
  })

  it("unknown and closed sessions are not found; closing deletes their keys", async () => {
    const store = ctx.make()
    await allReject(store, "nobody", SessionNotFoundError)
    await expect(store.get({ session: "nobody" }, "k")).rejects.toMatchObject({ code: "SESSION_NOT_FOUND", sessionId: "nobody" })
    expect(await store.closeSession("nobody")).toBe(false)
    await store.createSession("s")
    await store.put(s, "k", 1)
    expect(await store.closeSession("s")).toBe(true)
    await allReject(store, "s", SessionNotFoundError)
    await store.createSession("s")
    expect(await store.list(s)).toEqual([])
  })

  it("ttlMs Infinity never expires", async () => {
    const store = ctx.make({ defaultTtlMs: Infinity })
    expect(await store.createSession("s")).toMatchObject({ ttlMs: Infinity, expiresAt: Infinity })
    ctx.clock.advance(10 * 365 * 24 * 3600_000)
    expect(await store.sweep()).toBe(0)
    await store.put(s, "k", 1)
    expect(await store.touchSession("s")).toMatchObject({ expiresAt: Infinity })
    expect(await store.getSession("s")).toMatchObject({ ttlMs: Infinity })
  })

  it("maxSessions counts live sessions, sweeping expired ones first", async () => {
    const store = ctx.make({ maxSessions: 2 })
    await store.createSession("a", { ttlMs: 100 })
    await store.createSession("b", { ttlMs: 1000 })
    await expect(store.createSession("c")).rejects.toMatchObject({ code: "SESSION_LIMIT", maxSessions: 2 })
    await expect(store.createSession("c")).rejects.toBeInstanceOf(SessionLimitError)
    expect(await store.getSession("c")).toBeUndefined()
    expect(await store.createSession("a")).toMatchObject({ created: false })
    ctx.clock.advance(100)
    expect(await store.createSession("c")).toMatchObject({ created: true })
    await expect(store.get({ session: "a" }, "k")).rejects.toBeInstanceOf(SessionExpiredError)
    await expect(store.createSession("d")).rejects.toBeInstanceOf(SessionLimitError)
    await store.closeSession("b")
    expect(await store.createSession("d")).toMatchObject({ created: true })
  })

  it("after close() every call rejects with StoreClosedError; close is idempotent", async () => {
    const store = ctx.make()
    await store.close()
    await store.close()
    await expect(store.get("global", "k")).rejects.toBeInstanceOf(StoreClosedError)
    await expect(store.createSession("s")).rejects.toMatchObject({ code: "STORE_CLOSED" })
    await expect(store.sweep()).rejects.toBeInstanceOf(StoreClosedError)
  })
}
