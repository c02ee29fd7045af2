// Part of the shared store suite: keys, values, versions, scopes and isolation.
import { expect, it } from "vitest"
import type { SuiteContext } from "./suite.ts"

/**
 * Registers the keys, values, versions, scopes, isolation tests of the shared suite.
 *
 * @example
 * ```ts
 * dataTests(ctx)
 * ```
 */
export const dataTests = (ctx: SuiteContext): void => {
  it("gets, puts, deletes and lists global keys", async () => {
    const store = ctx.make()
    expect(await store.get("global", "a")).toBeUndefined()
    const { version } = await store.put("global", "a", { n: 1 })
    expect(await store.get("global", "a")).toEqual({ value: { n: 1 }, version })
    await store.put("global", "b/1", "x")
    await store.put("global", "b/0", "y")
    expect(await store.list("global")).toEqual(["a", "b/0", "b/1"])
    expect(await store.list("global", "b/")).toEqual(["b/0", "b/1"])
    expect(await store.list("global", "zzz")).toEqual([])
    expect(await store.delete("global", "a")).toBe(true)
    expect(await store.delete("global", "a")).toBe(false)
    expect(await store.get("global", "a")).toBeUndefined()
    expect(await store.list("global")).toEqual(["b/0", "b/1"])
  })

  it("gets, puts, deletes and lists a session's keys", async () => {
    const store = ctx.make()
    await store.createSession("s1")
    const scope = { session: "s1" }
    await store.put(scope, "k2", [1, 2])
    await store.put(scope, "k1", null)
    expect(await store.get(scope, "k1")).toMatchObject({ value: null })
    expect(await store.list(scope)).toEqual(["k1", "k2"])
    expect(await store.delete(scope, "k2")).toBe(true)
    expect(await store.list(scope)).toEqual(["k1"])
  })

  it("versions increase per key and are never reused, even after delete or a recreated session", async () => {
    const store = ctx.make()
    const v1 = (await store.put("global", "k", 1)).version
    expect(v1).toBeGreaterThanOrEqual(1)
    const v2 = (await store.put("global", "k", 2)).version
    expect(v2).toBeGreaterThan(v1)
    await store.delete("global", "k")
    const v3 = (await store.put("global", "k", 3)).version
    expect(v3).toBeGreaterThan(v2)
    await store.createSession("s")
    const s1 = (await store.put({ session: "s" }, "k", 1)).version
    await store.closeSession("s")
    await store.createSession("s")
    const s2 = (await store.put({ session: "s" }, "k", 1)).version
    expect(s2).toBeGreaterThan(s1)
    expect(Number.isSafeInteger(s2)).toBe(true)
  })

  it("the first version of a fresh store is 1", async () => {
    const store = ctx.make()
    expect(await store.put("global", "first", true)).toEqual({ version: 1 })
  })

  it("getIfChanged does not resend a value the caller has", async () => {
    const store = ctx.make()
    expect(await store.getIfChanged("global", "spec", 0)).toBeUndefined()
    const { version } = await store.put("global", "spec", { layers: 3 })
    expect(await store.getIfChanged("global", "spec", version)).toEqual({ version, unchanged: true })
    expect(await store.getIfChanged("global", "spec", 0)).toEqual({ version, value: { layers: 3 } })
    const next = await store.put("global", "spec", { layers: 4 })
    expect(await store.getIfChanged("global", "spec", version)).toEqual({ version: next.version, value: { layers: 4 } })
  })

  it("round-trips what the wire codec carries; an undefined property is left out, undefined in an array becomes null; reads are copies", async () => {
    const store = ctx.make()
    const value = {
      s: "日本 🐍", n: -1.5, big: 2 ** 40, huge: 2n ** 63n - 1n, t: true, nil: null, bytes: Buffer.from([0, 255]),
      date: new Date(1_000), nested: { list: [1, [2, { deep: "x" }]] }, hole: undefined, holes: [undefined, 1]
    }
    await store.put("global", "v", value)
    const back = (await store.get("global", "v"))?.value as Record<string, unknown>
    const { hole: _hole, ...kept } = value
    expect(back).toEqual({ ...kept, bytes: expect.anything(), holes: [null, 1] })
    expect("hole" in back).toBe(false)
    expect(Buffer.from(back["bytes"] as Uint8Array).toString("hex")).toBe("00ff")
    ;(back["nested"] as { list: Array<unknown> }).list.push("mutated")
    expect((await store.get("global", "v"))?.value).toMatchObject({ nested: { list: [1, [2, { deep: "x" }]] } })
  })

  it("a session never sees or deletes another session's keys, whatever the key looks like", async () => {
    const store = ctx.make()
    for (const id of ["A", "B", "B:x", "data:B"]) await store.createSession(id)
    const forged = ["session:B:x", "x", "data:B", "B:x", "vx", "dx", "global", "meta:B", ":", "\u0000x", "version", "sessions"]
    for (const key of forged) await store.put({ session: "B" }, key, `B:${key}`)
    await store.put("global", "x", "global")
    for (const key of forged) {
      expect(await store.get({ session: "A" }, key)).toBeUndefined()
      expect(await store.delete({ session: "A" }, key)).toBe(false)
      expect(await store.get({ session: "B:x" }, key)).toBeUndefined()
      expect(await store.get({ session: "data:B" }, key)).toBeUndefined()
    }
    expect(await store.list({ session: "A" })).toEqual([])
    expect(await store.list({ session: "B:x" })).toEqual([])
    expect(await store.list({ session: "B" })).toEqual([...forged].sort())
    for (const key of forged) expect((await store.get({ session: "B" }, key))?.value).toBe(`B:${key}`)
    expect(await store.list("global")).toEqual(["x"])
    expect((await store.get("global", "x"))?.value).toBe("global")
  })

  it("global keys are separate from session keys", async () => {
    const store = ctx.make()
    await store.createSession("s")
    await store.put("global", "k", "g")
    await store.put({ session: "s" }, "k", "s")
    expect((await store.get("global", "k"))?.value).toBe("g")
    expect((await store.get({ session: "s" }, "k"))?.value).toBe("s")
    await store.closeSession("s")
    expect((await store.get("global", "k"))?.value).toBe("g")
    expect(await store.delete("global", "k")).toBe(true)
  })

  it("keys are opaque strings of up to 512 characters, sorted by code unit", async () => {
    const store = ctx.make()
    const keys = ["b", "a", "é", "🐍", "Z", "k".repeat(512), " spaced key ", "a*", "a?[x]"]
    for (const key of keys) await store.put("global", key, key)
    expect(await store.list("global")).toEqual([...keys].sort())
    expect(await store.list("global", "a")).toEqual(["a", "a*", "a?[x]"])
    for (const key of keys) expect((await store.get("global", key))?.value).toBe(key)
  })
}
