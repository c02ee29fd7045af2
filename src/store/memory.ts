/**
 * The in-process session store (the default): maps of encoded values, one per scope.
 * @module
 */
import { isExpired, TOMBSTONE_MAX, TOMBSTONE_TTL_MS } from "./backend.ts"
import type { Backend, Checked } from "./backend.ts"
import { makeStore } from "./store.ts"
import type { SessionInfo, SessionStore, StoreOptions } from "./types.ts"
import { resolveStoreOptions } from "./validate.ts"

interface Entry {
  readonly bytes: Uint8Array
  readonly version: number
}

interface Session {
  readonly id: string
  readonly ttlMs: number
  readonly createdAt: number
  expiresAt: number
  readonly data: Map<string, Entry>
}

const infoOf = (s: Session): SessionInfo => ({ id: s.id, ttlMs: s.ttlMs, createdAt: s.createdAt, expiresAt: s.expiresAt })

/**
 * @internal The memory backend. Exposed for tests of `makeStore`; use {@link memoryStore}.
 *
 * @example
 * ```ts
 * const store = makeStore(memoryBackend(), resolveStoreOptions({}))
 * ```
 */
export const memoryBackend = (): Backend => {
  let version = 0
  const global = new Map<string, Entry>()
  const sessions = new Map<string, Session>()
  // id -> expiresAt of swept sessions, oldest first (Map keeps insertion order).
  const tombstones = new Map<string, number>()

  const bury = (id: string, expiredAt: number, now: number): void => {
    tombstones.delete(id)
    tombstones.set(id, expiredAt)
    for (const [old, at] of tombstones) {
      if (tombstones.size <= TOMBSTONE_MAX && now - at < TOMBSTONE_TTL_MS) break
      tombstones.delete(old)
    }
  }

  const scope = (session: string | null, now: number): Checked<Map<string, Entry>> => {
    if (session === null) return { state: "ok", result: global }
    const s = sessions.get(session)
    if (s === undefined) {
      const at = tombstones.get(session)
      return { state: at !== undefined && now - at < TOMBSTONE_TTL_MS ? "expired" : "missing" }
    }
    return isExpired(s.expiresAt, now) ? { state: "expired" } : { state: "ok", result: s.data }
  }

  const map = <A, B>(c: Checked<A>, f: (a: A) => B): Checked<B> => (c.state === "ok" ? { state: "ok", result: f(c.result) } : c)

  return {
    read: async (session, key, now, knownVersion) =>
      map(scope(session, now), (data) => {
        const entry = data.get(key)
        if (entry === undefined) return undefined
        return entry.version === knownVersion ? { version: entry.version } : entry
      }),
    write: async (session, key, bytes, now) =>
      map(scope(session, now), (data) => {
        data.set(key, { bytes: new Uint8Array(bytes), version: ++version })
        return version
      }),
    remove: async (session, key, now) => map(scope(session, now), (data) => data.delete(key)),
    keys: async (session, now) => map(scope(session, now), (data) => [...data.keys()]),
    create: async (id, ttlMs, now, maxSessions) => {
      const existing = sessions.get(id)
      if (existing !== undefined && !isExpired(existing.expiresAt, now)) return { state: "existing", info: infoOf(existing) }
      const others = sessions.size - (existing === undefined ? 0 : 1)
      if (others >= maxSessions) return { state: "limit" }
      const s: Session = { id, ttlMs, createdAt: now, expiresAt: now + ttlMs, data: new Map() }
      sessions.delete(id) // an expired one of the same id is replaced by a fresh, empty session
      sessions.set(id, s)
      tombstones.delete(id)
      return { state: "created", info: infoOf(s) }
    },
    touch: async (id, now) => {
      const checked = scope(id, now)
      const s = sessions.get(id)
      if (checked.state !== "ok" || s === undefined) return checked.state === "ok" ? { state: "missing" } : checked
      s.expiresAt = now + s.ttlMs
      return { state: "ok", result: infoOf(s) }
    },
    info: async (id, now) => {
      const s = sessions.get(id)
      return s === undefined || isExpired(s.expiresAt, now) ? undefined : infoOf(s)
    },
    drop: async (id) => {
      tombstones.delete(id)
      return sessions.delete(id)
    },
    sweep: async (now) => {
      let count = 0
      for (const s of [...sessions.values()]) {
        if (!isExpired(s.expiresAt, now)) continue
        sessions.delete(s.id)
        bury(s.id, s.expiresAt, now)
        count++
      }
      return count
    },
    close: async () => {
      global.clear()
      sessions.clear()
      tombstones.clear()
    }
  }
}

/**
 * Creates the in-memory session store. Options are validated here (`InvalidOptionError`).
 *
 * @example
 * ```ts
 * const store = memoryStore({ defaultTtlMs: 10 * 60_000, maxSessions: 1000 })
 * await store.createSession("s1")
 * await store.put({ session: "s1" }, "spec", { layers: 3 })
 * ```
 */
export const memoryStore = (options?: StoreOptions): SessionStore => makeStore(memoryBackend(), resolveStoreOptions(options))
