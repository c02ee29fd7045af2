/**
 * @internal What a storage backend implements; `makeStore` (store.ts) adds validation,
 * encoding, errors and the sweep timer on top, so both backends behave the same.
 * @module
 */
import type { SessionInfo } from "./types.ts"
import type { StoreUnavailableError } from "./errors.ts"

/**
 * Result of an operation on a scope: `"missing"` / `"expired"` when the session is unknown /
 * expired (or tombstoned), in which case nothing was changed.
 *
 * @example
 * ```ts
 * const r: Checked<number> = { state: "ok", result: 7 }
 * ```
 */
export type Checked<T> = { readonly state: "missing" | "expired" } | { readonly state: "ok"; readonly result: T }

/**
 * A stored entry; `bytes` is left out when the caller already holds that version.
 *
 * @example
 * ```ts
 * const entry: StoredEntry = { version: 3, bytes: msgpackCodec.encode("x") }
 * ```
 */
export interface StoredEntry {
  readonly version: number
  readonly bytes?: Uint8Array
}

/**
 * Answer of `Backend.create`.
 *
 * @example
 * ```ts
 * const r: Created = { state: "limit" }
 * ```
 */
export type Created = { readonly state: "created" | "existing"; readonly info: SessionInfo } | { readonly state: "limit" }

/**
 * A storage backend. `session` null means the global scope. `now` is the store clock.
 *
 * @example
 * ```ts
 * const store = makeStore(memoryBackend(), resolveStoreOptions({}))
 * ```
 */
export interface Backend {
  read(session: string | null, key: string, now: number, knownVersion: number | undefined): Promise<Checked<StoredEntry | undefined>>
  write(session: string | null, key: string, bytes: Uint8Array, now: number): Promise<Checked<number>>
  remove(session: string | null, key: string, now: number): Promise<Checked<boolean>>
  keys(session: string | null, now: number): Promise<Checked<ReadonlyArray<string>>>
  create(id: string, ttlMs: number, now: number, maxSessions: number): Promise<Created>
  touch(id: string, now: number): Promise<Checked<SessionInfo>>
  info(id: string, now: number): Promise<SessionInfo | undefined>
  drop(id: string): Promise<boolean>
  sweep(now: number): Promise<number>
  close(): Promise<void>
  /** Connection errors between operations (see `SessionStore.onError`); absent when it has none. */
  onError?(listener: (error: StoreUnavailableError) => void): () => void
}

/**
 * Tombstones of swept sessions (so they still report "expired"): at most this many, newest kept.
 *
 * @example
 * ```ts
 * if (tombstones.size > TOMBSTONE_MAX) evictOldest()
 * ```
 */
export const TOMBSTONE_MAX = 10_000

/**
 * A tombstone is forgotten this long (store clock) after its session expired; the id then
 * reports "not found".
 *
 * @example
 * ```ts
 * const forgotten = now - expiredAt >= TOMBSTONE_TTL_MS
 * ```
 */
export const TOMBSTONE_TTL_MS = 24 * 60 * 60 * 1000

/**
 * True when a session expiring at `expiresAt` is expired at `now` (expiry is inclusive).
 *
 * @example
 * ```ts
 * isExpired(1000, 1000) // true
 * isExpired(1000, 999)  // false
 * ```
 */
export const isExpired = (expiresAt: number, now: number): boolean => now >= expiresAt
