/**
 * Public types of the host-side session store (docs/store.md).
 * @module
 */
import type { StoreUnavailableError } from "./errors.ts"

/**
 * Where a key lives: a session's own keys, or the global keys (calls with no session).
 * Keys are opaque: `"session:B:x"` in session A is just a key of A.
 *
 * @example
 * ```ts
 * const mine: StoreScope = { session: "s1" }
 * const shared: StoreScope = "global"
 * ```
 */
export type StoreScope = "global" | { readonly session: string }

/**
 * A stored value and its version.
 *
 * @example
 * ```ts
 * const hit: Versioned | undefined = await store.get("global", "model") // { value: {...}, version: 3 }
 * ```
 */
export interface Versioned {
  readonly value: unknown
  readonly version: number
}

/**
 * Answer of `getIfChanged`: `{ version, unchanged: true }` when the caller's version is current,
 * else the value (`"unchanged" in r` tells them apart).
 *
 * @example
 * ```ts
 * const r = await store.getIfChanged("global", "spec", cached.version)
 * if (r !== undefined && !("unchanged" in r)) cached = r
 * ```
 */
export type IfChanged =
  | { readonly version: number; readonly unchanged: true }
  | { readonly version: number; readonly value: unknown }

/**
 * A live session. `expiresAt` is in the store clock's milliseconds (`Infinity` when `ttlMs` is);
 * the session is expired once `clock() >= expiresAt`.
 *
 * @example
 * ```ts
 * const info: SessionInfo | undefined = await store.getSession("s1")
 * ```
 */
export interface SessionInfo {
  readonly id: string
  readonly ttlMs: number
  readonly createdAt: number
  readonly expiresAt: number
}

/**
 * Options common to both backends, validated at construction.
 *
 * @example
 * ```ts
 * const options: StoreOptions = { defaultTtlMs: 60_000, maxSessions: 100, sweepIntervalMs: 0 }
 * ```
 */
export interface StoreOptions {
  /** Session TTL when `createSession` gives none; `Infinity` = never expires. Default 30 min. */
  readonly defaultTtlMs?: number
  /** Live sessions at most; `Infinity` = no limit. Default 10 000. */
  readonly maxSessions?: number
  /** Largest encoded (msgpack) value. Default 16 MiB, at most 512 MiB. */
  readonly maxValueBytes?: number
  /** Period of the background `sweep()` (an unref'd timer); 0 disables it. Default 60 000 ms. */
  readonly sweepIntervalMs?: number
  /** Milliseconds clock driving every TTL decision. Default `Date.now`. */
  readonly clock?: () => number
}

/**
 * Host-side key/value store with per-session scopes and TTLs. Every method returns a Promise;
 * invalid input rejects before anything is changed.
 *
 * @example
 * ```ts
 * const store = memoryStore()
 * await store.createSession("s1", { ttlMs: 60_000 })
 * const { version } = await store.put({ session: "s1" }, "model", { layers: 3 })
 * await store.get({ session: "s1" }, "model") // { value: { layers: 3 }, version }
 * await store.close()
 * ```
 */
export interface SessionStore {
  /** The value and version under `key`, or undefined. */
  get(scope: StoreScope, key: string): Promise<Versioned | undefined>
  /** Like `get`, but without the value when `knownVersion` is still current. */
  getIfChanged(scope: StoreScope, key: string, knownVersion: number): Promise<IfChanged | undefined>
  /** Stores `value` (encoded with the wire's msgpack codec) and returns its new version. */
  put(scope: StoreScope, key: string, value: unknown): Promise<{ readonly version: number }>
  /** Deletes `key`; true if it existed. */
  delete(scope: StoreScope, key: string): Promise<boolean>
  /** Keys of the scope starting with `prefix` (default ""), sorted by UTF-16 code units. */
  list(scope: StoreScope, prefix?: string): Promise<ReadonlyArray<string>>
  /** Creates a session (`created: true`), or returns the live one of that id unchanged (`created: false`). */
  createSession(id: string, options?: { readonly ttlMs?: number }): Promise<SessionInfo & { readonly created: boolean }>
  /** Sets `expiresAt = now + ttlMs`. */
  touchSession(id: string): Promise<SessionInfo>
  /** The live session, or undefined if unknown or expired. */
  getSession(id: string): Promise<SessionInfo | undefined>
  /** Deletes the session and all its keys; true if it existed (live or expired but not yet swept). */
  closeSession(id: string): Promise<boolean>
  /** Deletes expired sessions and their keys; returns how many. */
  sweep(): Promise<number>
  /** Stops the background sweep and releases the backend; later calls reject with `StoreClosedError`. */
  close(): Promise<void>
  /** The store's clock (ms), which every TTL is measured on. Optional for stores of your own (default `Date.now`). */
  readonly now?: () => number
  /**
   * Subscribes to the backend's connection errors as they happen, between operations too (a Redis
   * store reports them here, never on stderr); a listener added during an outage hears its error
   * at once. Returns an unsubscribe function. A pool forwards them as its `store` event. Optional
   * for stores of your own.
   */
  readonly onError?: (listener: (error: StoreUnavailableError) => void) => () => void
}
