/**
 * Host-side session store (docs/store.md): a session's own keys and
 * global keys, versioned values, per-session TTL, sweep, and two backends (memory, Redis).
 *
 * @example
 * ```ts
 * import { memoryStore } from "./store/index.ts"
 * const store = memoryStore()
 * await store.put("global", "greeting", "hello")
 * ```
 * @module
 */
export type { IfChanged, SessionInfo, SessionStore, StoreOptions, StoreScope, Versioned } from "./types.ts"
export {
  InvalidKeyError, InvalidSessionIdError, SessionExpiredError, SessionLimitError, SessionNotFoundError,
  StoreClosedError, StoreUnavailableError, ValueTooLargeError
} from "./errors.ts"
export type { StoreError } from "./errors.ts"
export { memoryStore } from "./memory.ts"
export { redisStore } from "./redis.ts"
export type { RedisClientLike, RedisStoreOptions } from "./redis.ts"
export { DEFAULT_MAX_VALUE_BYTES, DEFAULT_TTL_MS, MAX_KEY_LENGTH } from "./validate.ts"
