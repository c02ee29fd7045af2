// The shared store suite on a real Redis (127.0.0.1:6379), under a unique key prefix that is
// deleted afterwards; plus what only Redis has: sharing between hosts, client ownership, GC expiry.
import { randomBytes } from "node:crypto"
import { Redis } from "ioredis"
import { scanKeys } from "./redis-keys.ts"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { InvalidOptionError } from "../../src/errors.ts"
import { redisStore } from "../../src/store/index.ts"
import type { RedisStoreOptions, StoreOptions } from "../../src/store/index.ts"
import { storeSuite } from "./suite.ts"

const URL = "redis://127.0.0.1:6379"
const RUN = `pyvisor-test:${process.pid}:${randomBytes(6).toString("hex")}:`
const client = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
let n = 0

const scanAll = (pattern: string): Promise<Array<string>> => scanKeys(client, pattern)

beforeAll(async () => {
  await client.connect()
})

afterAll(async () => {
  const keys = await scanAll(`${RUN}*`)
  for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500))
  expect(await scanAll(`${RUN}*`)).toEqual([])
  await client.quit()
})

const make = (options?: StoreOptions & Partial<RedisStoreOptions>) =>
  redisStore({ client, keyPrefix: `${RUN}${n++}:`, ...options })

storeSuite("redis", make)

describe("redisStore", () => {
  it("shares sessions and values between stores (hosts) with the same prefix", async () => {
    const keyPrefix = `${RUN}shared:`
    const a = redisStore({ client, keyPrefix, sweepIntervalMs: 0 })
    const b = redisStore({ url: URL, keyPrefix, sweepIntervalMs: 0 })
    await a.createSession("s")
    const { version } = await a.put({ session: "s" }, "k", { from: "a" })
    expect(await b.get({ session: "s" }, "k")).toEqual({ value: { from: "a" }, version })
    expect((await b.put("global", "g", 1)).version).toBeGreaterThan(version)
    expect(await b.createSession("s")).toMatchObject({ created: false })
    expect(await b.closeSession("s")).toBe(true)
    await expect(a.list({ session: "s" })).rejects.toMatchObject({ code: "SESSION_NOT_FOUND" })
    await b.close() // quits its own client
    await a.close() // leaves ours open
    expect(await client.ping()).toBe("PONG")
  })

  it("keeps everything under the prefix, with a real PEXPIRE on session keys as garbage collection", async () => {
    const keyPrefix = `${RUN}layout:`
    const store = redisStore({ client, keyPrefix, sweepIntervalMs: 0, defaultTtlMs: 60_000 })
    await store.createSession("s")
    await store.put({ session: "s" }, "k", 1)
    await store.put("global", "k", 1)
    const keys = (await scanAll(`${keyPrefix}*`)).sort()
    expect(keys).toEqual(["data:s", "global", "meta:s", "sessions", "version"].map((k) => keyPrefix + k))
    for (const key of [`${keyPrefix}meta:s`, `${keyPrefix}data:s`]) {
      const ttl = await client.pttl(key)
      expect(ttl).toBeGreaterThan(60_000)
      expect(ttl).toBeLessThanOrEqual(60_000 + 60_000 + 3_600_000)
    }
    expect(await client.pttl(`${keyPrefix}global`)).toBe(-1)
    await store.closeSession("s")
    expect((await scanAll(`${keyPrefix}*`)).sort()).toEqual(["global", "version"].map((k) => keyPrefix + k))
    await store.close()
  })

  it("validates its own options", () => {
    const check = (options: unknown, option: string, message: RegExp) => {
      let error: unknown
      try {
        redisStore(options as RedisStoreOptions)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect(error).toMatchObject({ option, message: expect.stringMatching(message) })
    }
    check({ client }, "keyPrefix", /keyPrefix must be a non-empty string .*, got undefined/)
    check({ client, keyPrefix: "" }, "keyPrefix", /got ''/)
    check({ client, keyPrefix: "p:", url: URL }, "url", /url must be left out when a client is given/)
    check({ keyPrefix: "p:", url: "http://x" }, "url", /url must be a redis:\/\/ or rediss:\/\/ URL, got 'http:\/\/x'/)
    check({ keyPrefix: "p:", client: {} }, "client", /client must be an ioredis client/)
  })
})
