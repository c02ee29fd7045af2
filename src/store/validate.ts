/**
 * Validation of store options, session ids, keys and scopes. Messages name the option and
 * quote the bad value, with the kit `src/options/kit.ts` the pool uses too.
 * @module
 */
import { integer, invalid, section, show, timerMs } from "../options/kit.ts"
import { InvalidKeyError, InvalidSessionIdError } from "./errors.ts"
import type { StoreOptions } from "./types.ts"

/**
 * Store options with defaults applied.
 *
 * @example
 * ```ts
 * const { clock, maxSessions }: ResolvedStoreOptions = resolveStoreOptions({})
 * ```
 */
export interface ResolvedStoreOptions {
  readonly defaultTtlMs: number
  readonly maxSessions: number
  readonly maxValueBytes: number
  readonly sweepIntervalMs: number
  readonly clock: () => number
}

/**
 * Default of `defaultTtlMs`: 30 minutes.
 *
 * @example
 * ```ts
 * memoryStore().createSession("s") // expires DEFAULT_TTL_MS after now
 * ```
 */
export const DEFAULT_TTL_MS = 30 * 60 * 1000
/**
 * Default of `maxValueBytes`: 16 MiB.
 *
 * @example
 * ```ts
 * memoryStore({ maxValueBytes: 4 * DEFAULT_MAX_VALUE_BYTES })
 * ```
 */
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024
const MAX_VALUE_BYTES_LIMIT = 512 * 1024 * 1024
const MAX_SAFE = Number.MAX_SAFE_INTEGER

/**
 * Validates a TTL in ms: a positive integer or `Infinity`.
 *
 * @example
 * ```ts
 * checkTtl("ttlMs", 1000) // 1000
 * checkTtl("ttlMs", 0)    // throws InvalidOptionError
 * ```
 */
export const checkTtl = (option: string, value: unknown, fallback: number): number =>
  // Compared with the clock, not armed as a timer: may be large, or Infinity.
  integer(option, value, { min: 1, max: MAX_SAFE, fallback, orInfinity: true })

/**
 * Names of the options common to both backends.
 *
 * @example
 * ```ts
 * resolveStoreOptions(options, ["keyPrefix"]) // accepts STORE_OPTIONS and keyPrefix
 * ```
 */
export const STORE_OPTIONS: ReadonlyArray<string> = ["defaultTtlMs", "maxSessions", "maxValueBytes", "sweepIntervalMs", "clock"]

/**
 * Applies defaults to `StoreOptions` and validates them; `extra` names more accepted options.
 *
 * @example
 * ```ts
 * resolveStoreOptions({ maxSessions: 10 }).defaultTtlMs // 1_800_000
 * ```
 */
export const resolveStoreOptions = (options: unknown, extra: ReadonlyArray<string> = []): ResolvedStoreOptions => {
  if (options === undefined) options = {}
  const o = section("", options, [...STORE_OPTIONS, ...extra]) as StoreOptions
  const clock = o.clock ?? Date.now
  if (typeof clock !== "function") throw invalid("clock", clock, "a function returning milliseconds")
  return {
    defaultTtlMs: checkTtl("defaultTtlMs", o.defaultTtlMs, DEFAULT_TTL_MS),
    maxSessions: integer("maxSessions", o.maxSessions, { min: 1, max: MAX_SAFE, fallback: 10_000, orInfinity: true }),
    maxValueBytes: integer("maxValueBytes", o.maxValueBytes, { min: 1, max: MAX_VALUE_BYTES_LIMIT, fallback: DEFAULT_MAX_VALUE_BYTES }),
    sweepIntervalMs: timerMs("sweepIntervalMs", o.sweepIntervalMs, { min: 0, fallback: 60_000 }),
    clock
  }
}

const SESSION_ID = /^[A-Za-z0-9_.:-]{1,128}$/

/**
 * Validates a session id: 1–128 characters of `[A-Za-z0-9_.:-]`.
 *
 * @example
 * ```ts
 * checkSessionId("user-42:tab.1") // ok
 * checkSessionId("a b")           // throws InvalidSessionIdError quoting 'a b'
 * ```
 */
export const checkSessionId = (id: unknown): string => {
  if (typeof id !== "string" || !SESSION_ID.test(id)) {
    throw new InvalidSessionIdError({
      message: `session id must be 1 to 128 characters of [A-Za-z0-9_.:-], got ${show(id)}`,
      sessionId: id
    })
  }
  return id
}

// With the u flag a surrogate pair is one code point, so this matches only lone surrogates.
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Longest key, in UTF-16 code units.
 *
 * @example
 * ```ts
 * await store.put("global", "k".repeat(MAX_KEY_LENGTH), 1) // ok; one more character is an InvalidKeyError
 * ```
 */
export const MAX_KEY_LENGTH = 512

/**
 * Validates a key: a well-formed (no lone surrogate) string of 1–512 UTF-16 code units.
 *
 * @example
 * ```ts
 * checkKey("model/v1") // ok
 * checkKey("")         // throws InvalidKeyError
 * ```
 */
export const checkKey = (key: unknown): string => {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH || LONE_SURROGATE.test(key)) {
    throw new InvalidKeyError({
      message: `key must be a well-formed string of 1 to ${MAX_KEY_LENGTH} characters, got ${show(key)}`,
      key
    })
  }
  return key
}

/**
 * Validates a scope; returns the session id, or null for the global scope.
 *
 * @example
 * ```ts
 * checkScope("global")          // null
 * checkScope({ session: "s1" }) // "s1"
 * ```
 */
export const checkScope = (scope: unknown): string | null => {
  if (scope === "global") return null
  if (typeof scope !== "object" || scope === null || !("session" in scope)) {
    throw invalid("scope", scope, `"global" or { session: id }`)
  }
  return checkSessionId(scope.session)
}
