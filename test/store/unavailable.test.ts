// A Redis store that cannot be reached: operations reject with StoreUnavailableError in about a
// second (not ioredis' ~10 s of retries), connection errors reach listeners instead of stderr,
// session calls keep their own timeoutMs and signal, and the store recovers when Redis does.
// The outage is a TCP proxy in front of the real Redis, closed and reopened by the test.
import { randomBytes } from "node:crypto"
import net from "node:net"
import type { AddressInfo } from "node:net"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { AbortError, CallTimeoutError, createPool, redisStore, StoreUnavailableError } from "../../src/index.ts"
import type { Pool, SessionStore } from "../../src/index.ts"
import { FIXTURES } from "../helpers.ts"

const PREFIX = `pyvisor-test:${process.pid}:${randomBytes(6).toString("hex")}:unavailable:`

/** A TCP proxy to 127.0.0.1:6379 that can go down (every connection cut) and come back on its port. */
const proxy = async () => {
  const sockets = new Set<net.Socket>()
  const make = () => net.createServer((client) => {
    const upstream = net.connect(6379, "127.0.0.1")
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on("error", () => {})
      s.on("close", () => sockets.delete(s))
    }
    client.pipe(upstream).pipe(client)
  })
  let server = make()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `redis://127.0.0.1:${port}`,
    down: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
    up: async () => {
      server = make()
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
    }
  }
}

let store: SessionStore | undefined
let pool: Pool | undefined
let consoleError: ReturnType<typeof vi.spyOn>
beforeEach(() => {
  consoleError = vi.spyOn(console, "error")
})
afterEach(async () => {
  await pool?.close()
  await store?.close()
  pool = undefined
  store = undefined
  // ioredis prints "[ioredis] Unhandled error event" when nobody listens: the store always does.
  expect(consoleError).not.toHaveBeenCalled()
  consoleError.mockRestore()
})

describe("a Redis store that is down", () => {
  it("rejects operations with StoreUnavailableError within seconds and tells its listeners", async () => {
    store = redisStore({ url: "redis://127.0.0.1:1", keyPrefix: PREFIX, sweepIntervalMs: 0 })
    const errors: Array<StoreUnavailableError> = []
    store.onError?.((e) => errors.push(e))
    const started = Date.now()
    const error = await store.get("global", "k").catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreUnavailableError)
    expect(error).toMatchObject({ code: "STORE_UNAVAILABLE", message: expect.stringMatching(/Redis session store is unavailable/) })
    expect(Date.now() - started).toBeLessThan(8_000) // ioredis' defaults took ~10 s; ours ~1 s
    expect(errors.length).toBeGreaterThan(0)
    expect(errors[0]!.message).toMatch(/ECONNREFUSED/)
  })

  it("keeps a session call's timeoutMs and signal, and reports the outage as a pool event", async () => {
    store = redisStore({ url: "redis://127.0.0.1:1", keyPrefix: PREFIX, sweepIntervalMs: 0 })
    const events: Array<unknown> = []
    pool = await createPool({ worker: { module: "basic", cwd: FIXTURES }, size: 1, store, on: { store: ({ error }) => events.push(error) } })
    const session = pool.session("s1")
    await expect(session.call("noop", undefined, { timeoutMs: 100 })).rejects.toBeInstanceOf(CallTimeoutError)
    const controller = new AbortController()
    const aborted = session.call("noop", undefined, { signal: controller.signal })
    controller.abort(new Error("user left"))
    await expect(aborted).rejects.toBeInstanceOf(AbortError)
    await expect(session.call("noop")).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect.poll(() => events.length).toBeGreaterThan(0)
    expect(events[0]).toBeInstanceOf(StoreUnavailableError)
    // Calls outside sessions never touch the store.
    expect(await pool.call("add", { a: 1, b: 2 })).toBe(3)
  })

  it("recovers when Redis comes back", async () => {
    const p = await proxy()
    store = redisStore({ url: p.url, keyPrefix: PREFIX, sweepIntervalMs: 0 })
    const errors: Array<StoreUnavailableError> = []
    store.onError?.((e) => errors.push(e))
    await store.put("global", "k", 1)
    await p.down()
    await expect(store.get("global", "k")).rejects.toBeInstanceOf(StoreUnavailableError)
    expect(errors.length).toBeGreaterThan(0)
    await p.up()
    await expect.poll(() => store!.get("global", "k").then((v) => v?.value, () => "down"), { timeout: 10_000, interval: 200 }).toBe(1)
    await store.delete("global", "k")
  })
})
