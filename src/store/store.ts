/**
 * The backend-independent part of a `SessionStore`: input validation, value encoding, errors,
 * the `maxSessions` retry after a sweep, and the background sweep timer.
 * @module
 */
import { invalid } from "../options/kit.ts"
import type { Backend, Checked } from "./backend.ts"
import type { StoreUnavailableError } from "./errors.ts"
import { SessionExpiredError, SessionLimitError, SessionNotFoundError, StoreClosedError } from "./errors.ts"
import type { IfChanged, SessionInfo, SessionStore, StoreScope, Versioned } from "./types.ts"
import type { ResolvedStoreOptions } from "./validate.ts"
import { checkKey, checkScope, checkSessionId, checkTtl } from "./validate.ts"
import { decodeValue, encodeValue } from "./value.ts"

const unwrap = <T>(session: string | null, checked: Checked<T>): T => {
  if (checked.state === "ok") return checked.result
  const sessionId = session ?? ""
  if (checked.state === "expired") {
    throw new SessionExpiredError({ message: `session ${JSON.stringify(sessionId)} has expired`, sessionId })
  }
  throw new SessionNotFoundError({ message: `session ${JSON.stringify(sessionId)} does not exist`, sessionId })
}

const checkVersion = (knownVersion: unknown): number => {
  if (typeof knownVersion !== "number" || !Number.isSafeInteger(knownVersion) || knownVersion < 0) {
    throw invalid("knownVersion", knownVersion, "a non-negative integer")
  }
  return knownVersion
}

const checkPrefix = (prefix: unknown): string => {
  if (prefix === undefined) return ""
  if (typeof prefix !== "string") throw invalid("prefix", prefix, "a string")
  return prefix
}

/**
 * @internal Builds a `SessionStore` on a backend. Use `memoryStore` or `redisStore`.
 *
 * @example
 * ```ts
 * const store = makeStore(memoryBackend(), resolveStoreOptions({ sweepIntervalMs: 0 }))
 * ```
 */
export const makeStore = (backend: Backend, options: ResolvedStoreOptions): SessionStore => {
  const { clock, maxSessions, maxValueBytes, defaultTtlMs } = options
  let closed = false

  // Validation happens inside `run`, so bad input rejects (never throws synchronously).
  const run = async <T>(f: () => Promise<T>): Promise<T> => {
    if (closed) throw new StoreClosedError({ message: "the session store is closed" })
    return f()
  }

  const sweep = (): Promise<number> => run(() => backend.sweep(clock()))

  const timer = options.sweepIntervalMs > 0
    ? setInterval(() => void sweep().catch(() => undefined), options.sweepIntervalMs).unref()
    : undefined

  const store: SessionStore = {
    get: (scope: StoreScope, key: string) =>
      run(async (): Promise<Versioned | undefined> => {
        const session = checkScope(scope)
        checkKey(key)
        const entry = unwrap(session, await backend.read(session, key, clock(), undefined))
        if (entry?.bytes === undefined) return undefined
        return { value: decodeValue(entry.bytes), version: entry.version }
      }),
    getIfChanged: (scope: StoreScope, key: string, knownVersion: number) =>
      run(async (): Promise<IfChanged | undefined> => {
        const session = checkScope(scope)
        checkKey(key)
        const known = checkVersion(knownVersion)
        const entry = unwrap(session, await backend.read(session, key, clock(), known))
        if (entry === undefined) return undefined
        if (entry.bytes === undefined) return { version: entry.version, unchanged: true }
        return { version: entry.version, value: decodeValue(entry.bytes) }
      }),
    put: (scope: StoreScope, key: string, value: unknown) =>
      run(async () => {
        const session = checkScope(scope)
        checkKey(key)
        const bytes = encodeValue(key, value, maxValueBytes)
        return { version: unwrap(session, await backend.write(session, key, bytes, clock())) }
      }),
    delete: (scope: StoreScope, key: string) =>
      run(async () => {
        const session = checkScope(scope)
        checkKey(key)
        return unwrap(session, await backend.remove(session, key, clock()))
      }),
    list: (scope: StoreScope, prefix?: string) =>
      run(async () => {
        const session = checkScope(scope)
        const p = checkPrefix(prefix)
        const keys = unwrap(session, await backend.keys(session, clock()))
        return keys.filter((k) => k.startsWith(p)).sort()
      }),
    createSession: (id: string, opts?: { readonly ttlMs?: number }) =>
      run(async () => {
        checkSessionId(id)
        if (opts !== undefined && (typeof opts !== "object" || opts === null)) throw invalid("options", opts, "an object like { ttlMs }")
        const ttlMs = checkTtl("ttlMs", opts?.ttlMs, defaultTtlMs)
        let created = await backend.create(id, ttlMs, clock(), maxSessions)
        if (created.state === "limit") {
          await backend.sweep(clock())
          created = await backend.create(id, ttlMs, clock(), maxSessions)
        }
        if (created.state === "limit") {
          throw new SessionLimitError({ message: `cannot create session ${JSON.stringify(id)}: maxSessions ${maxSessions} reached`, maxSessions })
        }
        return { ...created.info, created: created.state === "created" }
      }),
    touchSession: (id: string) =>
      run(async (): Promise<SessionInfo> => unwrap(checkSessionId(id), await backend.touch(id, clock()))),
    getSession: (id: string) => run(async () => backend.info(checkSessionId(id), clock())),
    now: clock,
    ...(backend.onError === undefined ? {} : { onError: (listener: (error: StoreUnavailableError) => void) => backend.onError!(listener) }),
    closeSession: (id: string) => run(async () => backend.drop(checkSessionId(id))),
    sweep,
    close: async () => {
      if (closed) return
      closed = true
      if (timer !== undefined) clearInterval(timer)
      await backend.close()
    }
  }
  return store
}
