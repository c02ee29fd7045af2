/**
 * The Redis session store (ioredis, an optional peer dependency), for several Node hosts sharing
 * sessions. Expiry is logical (checked against the store's `clock`), so it behaves exactly as the
 * memory store; real PEXPIREs with a generous margin only collect garbage. Key layout: redis-scripts.ts.
 * @module
 */
import { createRequire } from "node:module"
import type { Redis } from "ioredis"
import { invalid } from "../options/kit.ts"
import { StoreUnavailableError } from "./errors.ts"
import type { Backend, Checked } from "./backend.ts"
import * as lua from "./redis-scripts.ts"
import type { LuaScript } from "./redis-scripts.ts"
import { makeStore } from "./store.ts"
import type { SessionInfo, SessionStore, StoreOptions } from "./types.ts"
import { resolveStoreOptions } from "./validate.ts"

type Arg = string | Buffer | number

/**
 * What the store needs of a client; an ioredis `Redis` (or `Cluster`, given a key prefix with a hash tag) fits.
 *
 * @example
 * ```ts
 * const client: RedisClientLike = new Redis("redis://10.0.0.5:6379")
 * ```
 */
export interface RedisClientLike {
  callBuffer(command: string, args: Array<Arg>): Promise<unknown>
  quit(): Promise<unknown>
  /** Drops the connection at once (a client the store created, when `quit` cannot reach the server). */
  disconnect?(): void
  /** ioredis' `error` events; the store listens only on a client it created. */
  on?(event: "error", listener: (error: Error) => void): unknown
}

/**
 * Options of {@link redisStore}: those of the memory store, plus the connection and key prefix.
 *
 * @example
 * ```ts
 * const options: RedisStoreOptions = { url: "redis://127.0.0.1:6379", keyPrefix: "myapp:store:" }
 * ```
 */
export interface RedisStoreOptions extends StoreOptions {
  /** Every key of the store starts with this (e.g. `"myapp:store:"`). Required. */
  readonly keyPrefix: string
  /** Connection URL for a client the store creates (and quits on `close()`). Default `redis://127.0.0.1:6379`. */
  readonly url?: string
  /** A client of yours; the store never quits it. Exclusive with `url`. */
  readonly client?: RedisClientLike
}

const num = (reply: unknown): number => {
  const text = Buffer.isBuffer(reply) ? reply.toString("latin1") : String(reply)
  return text === "inf" ? Infinity : Number(text)
}

const numArg = (n: number): string => (n === Infinity ? "inf" : String(n))

const STATES = { [-1]: "missing", [-2]: "expired" } as const

const checked = <T>(reply: unknown, f: (rest: ReadonlyArray<unknown>) => T): Checked<T> => {
  const [code, ...rest] = reply as [number, ...Array<unknown>]
  return code === 0 ? { state: "ok", result: f(rest) } : { state: STATES[code as -1 | -2] }
}

const infoOf = (id: string, rest: ReadonlyArray<unknown>): SessionInfo => ({
  id, ttlMs: num(rest[0]), createdAt: num(rest[1]), expiresAt: num(rest[2])
})

/**
 * How long a command waits for a server that does not answer, and how many reconnections it
 * waits through, on a client the store creates. ioredis' defaults (20 reconnections, about 10 s)
 * would hold a session call far beyond any call timeout; here a store that is down fails its
 * operations in about a second with `StoreUnavailableError`, and reconnects in the background.
 */
const CLIENT_OPTIONS = {
  maxRetriesPerRequest: 1,
  connectTimeout: 1_000,
  commandTimeout: 2_000,
  retryStrategy: (times: number): number => Math.min(50 * 2 ** times, 2_000)
} as const

/** How long `close()` waits for QUIT before dropping the connection. */
const QUIT_WAIT_MS = 1_000

const connect = (url: string): RedisClientLike => {
  let mod: { Redis: typeof Redis }
  try {
    mod = createRequire(import.meta.url)("ioredis") as { Redis: typeof Redis }
  } catch (cause) {
    throw invalid("url", url, `usable with the optional peer dependency ioredis (npm install ioredis): ${String(cause)}`)
  }
  return new mod.Redis(url, CLIENT_OPTIONS) as unknown as RedisClientLike
}

// A reply error is the server's answer (a bug of ours, or a misconfigured server): passed on as
// it is. Anything else means the command may not have reached Redis or its answer got lost.
const unavailable = (error: unknown): unknown =>
  (error as { name?: unknown } | null)?.name === "ReplyError"
    ? error
    : new StoreUnavailableError({ message: `the Redis session store is unavailable: ${(error as Error)?.message ?? String(error)}`, cause: error })

/**
 * @internal The Redis backend over a client; `owned` clients are quit on close.
 *
 * @example
 * ```ts
 * const store = makeStore(redisBackend(client, "app:", false), resolveStoreOptions({}))
 * ```
 */
export const redisBackend = (client: RedisClientLike, prefix: string, owned: boolean): Backend => {
  const listeners = new Set<(error: StoreUnavailableError) => void>()
  // The outage going on (its first error), or null; a listener that subscribes during one hears it.
  let outage: StoreUnavailableError | null = null
  if (owned && client.on !== undefined) {
    // Listening keeps ioredis from printing "Unhandled error event" on stderr; an error differing
    // from the last one is reported, not each reconnection attempt's.
    client.on("error", (error) => {
      const wrapped = unavailable(error)
      if (!(wrapped instanceof StoreUnavailableError) || wrapped.message === outage?.message) return
      outage = wrapped
      for (const listener of listeners) listener(wrapped)
    })
  }
  // Every command goes through here: errors become StoreUnavailableError, a success ends an outage.
  const call = async (command: string, args: Array<Arg>): Promise<unknown> => {
    try {
      const reply = await client.callBuffer(command, args)
      outage = null
      return reply
    } catch (error) {
      throw unavailable(error)
    }
  }
  const K = {
    version: `${prefix}version`,
    sessions: `${prefix}sessions`,
    tomb: `${prefix}tomb`,
    meta: (id: string) => `${prefix}meta:${id}`,
    data: (id: string | null) => (id === null ? `${prefix}global` : `${prefix}data:${id}`)
  }

  const run = async (script: LuaScript, keys: ReadonlyArray<string>, args: ReadonlyArray<Arg>): Promise<unknown> => {
    const tail = [keys.length, ...keys, ...args]
    try {
      return await call("EVALSHA", [script.sha, ...tail])
    } catch (error) {
      if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error
      return call("EVAL", [script.body, ...tail])
    }
  }

  const scoped = (script: LuaScript, session: string | null, now: number, key: string, extra: ReadonlyArray<Arg>, more: ReadonlyArray<string> = []) =>
    run(script, [K.data(session), K.meta(session ?? ""), K.tomb, ...more], [session ?? "", String(now), key, ...extra])

  const sessionKeys = (id: string) => [K.meta(id), K.data(id), K.sessions, K.tomb]

  return {
    read: async (session, key, now, knownVersion) =>
      checked(await scoped(lua.READ, session, now, key, [knownVersion === undefined ? "" : String(knownVersion)]), (rest) => {
        if (rest.length === 0) return undefined
        const version = num(rest[0])
        return rest.length === 1 ? { version } : { version, bytes: rest[1] as Buffer }
      }),
    write: async (session, key, bytes, now) => {
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      return checked(await scoped(lua.WRITE, session, now, key, [buffer], [K.version]), (rest) => num(rest[0]))
    },
    remove: async (session, key, now) => checked(await scoped(lua.REMOVE, session, now, key, []), (rest) => num(rest[0]) > 0),
    keys: async (session, now) =>
      checked(await scoped(lua.KEYS_OF, session, now, "", []), (rest) => (rest[0] as Array<Buffer>).map((b) => b.toString("utf8"))),
    create: async (id, ttlMs, now, maxSessions) => {
      const args = [id, String(now), numArg(ttlMs), numArg(now + ttlMs), numArg(maxSessions)]
      const [code, ...rest] = (await run(lua.CREATE, sessionKeys(id), args)) as [number, ...Array<unknown>]
      if (code === -3) return { state: "limit" }
      return { state: code === 2 ? "created" : "existing", info: infoOf(id, rest) }
    },
    touch: async (id, now) => checked(await run(lua.TOUCH, sessionKeys(id), [id, String(now)]), (rest) => infoOf(id, rest)),
    info: async (id, now) => {
      const reply = (await call("HMGET", [K.meta(id), "ttlMs", "createdAt", "expiresAt"])) as Array<Buffer | null>
      if (reply[2] === null || reply[2] === undefined) return undefined
      const info = infoOf(id, reply)
      return now >= info.expiresAt ? undefined : info
    },
    drop: async (id) => num(await run(lua.DROP, sessionKeys(id), [id])) === 1,
    sweep: async (now) => {
      const ids = (await call("ZRANGEBYSCORE", [K.sessions, "-inf", String(now)])) as Array<Buffer>
      let count = 0
      for (const raw of ids) {
        const id = raw.toString("utf8")
        count += num(await run(lua.REAP, sessionKeys(id), [id, String(now)]))
      }
      return count
    },
    close: async () => {
      listeners.clear()
      if (!owned) return
      // QUIT needs the server; a store closed while Redis is down must not wait for it.
      let timer: NodeJS.Timeout | undefined
      const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_WAIT_MS).unref()))
      await Promise.race([client.quit().catch(() => undefined), gaveUp])
      clearTimeout(timer)
      client.disconnect?.()
    },
    onError: (listener) => {
      listeners.add(listener)
      const current = outage
      if (current !== null) queueMicrotask(() => listeners.has(listener) && listener(current))
      return () => void listeners.delete(listener)
    }
  }
}

const PREFIX_MAX = 256

/**
 * Creates a session store in Redis. Options are validated here (`InvalidOptionError`).
 *
 * @example
 * ```ts
 * const store = redisStore({ url: "redis://127.0.0.1:6379", keyPrefix: "myapp:store:", defaultTtlMs: 600_000 })
 * await store.createSession("s1")
 * await store.put({ session: "s1" }, "spec", { layers: 3 })
 * await store.close() // quits the client it created
 * ```
 */
export const redisStore = (options: RedisStoreOptions): SessionStore => {
  const resolved = resolveStoreOptions(options, ["keyPrefix", "url", "client"])
  const { keyPrefix, url, client } = options
  if (typeof keyPrefix !== "string" || keyPrefix.length === 0 || keyPrefix.length > PREFIX_MAX) {
    throw invalid("keyPrefix", keyPrefix, `a non-empty string of at most ${PREFIX_MAX} characters`)
  }
  if (url !== undefined && client !== undefined) throw invalid("url", url, "left out when a client is given")
  if (url !== undefined && (typeof url !== "string" || !/^rediss?:\/\//.test(url))) throw invalid("url", url, "a redis:// or rediss:// URL")
  if (client !== undefined && (typeof client !== "object" || client === null || typeof client.callBuffer !== "function")) {
    throw invalid("client", client, "an ioredis client")
  }
  const backend = client === undefined
    ? redisBackend(connect(url ?? "redis://127.0.0.1:6379"), keyPrefix, true)
    : redisBackend(client, keyPrefix, false)
  return makeStore(backend, resolved)
}
