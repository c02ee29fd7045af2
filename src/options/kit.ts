/**
 * The one kit every options validator uses (pool, supervisors, store, sessions): an
 * `InvalidOptionError` whose message names the full option path and quotes the bad value,
 * integer and timer ranges, and unknown keys with a "did you mean" by edit distance.
 *
 * @example
 * ```ts
 * const o = section("restart.backoff", value, ["initialMs", "maxMs"]) // throws on restart.backoff.maxMz
 * const maxMs = timerMs("restart.backoff.maxMs", o["maxMs"], { min: 0, fallback: 5_000 })
 * ```
 * @module
 */
import { inspect } from "node:util"
import { InvalidOptionError } from "../errors.ts"

/**
 * The longest delay Node's timers honour (2^31 − 1 ms, ~24.8 days). A longer `setTimeout`
 * overflows and fires after 1 ms, so every option that ends up in a timer is capped here.
 *
 * @example
 * ```ts
 * setTimeout(fn, Math.min(ms, MAX_TIMER_MS))
 * ```
 */
export const MAX_TIMER_MS = 2 ** 31 - 1

const TIMER_LIMIT = `at most ${MAX_TIMER_MS} ms (~24.8 days)`

/**
 * A value as quoted in messages: `'4'` for a string, `NaN`, `{ a: 1 }`; long strings are cut.
 *
 * @example
 * ```ts
 * show("4") // "'4'"
 * ```
 */
export const show = (value: unknown): string => inspect(value, { depth: 2, breakLength: Infinity, maxStringLength: 200 })

/**
 * The error for a bad option: `<option> must be <expected>, got <value>`.
 *
 * @example
 * ```ts
 * throw invalid("heartbeat.misses", 0, "an integer from 1") // heartbeat.misses must be an integer from 1, got 0
 * ```
 */
export const invalid = (option: string, value: unknown, expected: string): InvalidOptionError =>
  new InvalidOptionError({ message: `${option} must be ${expected}, got ${show(value)}`, option, value })

/**
 * The full name of `key` under `path`; the top level is the empty path.
 *
 * @example
 * ```ts
 * optionName("restart.backoff", "maxMs") // "restart.backoff.maxMs"
 * optionName("", "size")                 // "size"
 * ```
 */
export const optionName = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`)

/** Bounds of {@link integer}; `fallback` is returned for `undefined` (it may be Infinity, "never"). */
export interface IntegerRange {
  readonly min: number
  /** Default `Number.MAX_SAFE_INTEGER`. */
  readonly max?: number
  /** Returned when the value is `undefined`; without it `undefined` is rejected. */
  readonly fallback?: number
  /** Also accept `Infinity` ("never", "unbounded"). Default false. */
  readonly orInfinity?: boolean
}

/**
 * An integer from `min` to `max` (message `an integer from <min> to <max>`), or `fallback`
 * when not given.
 *
 * @example
 * ```ts
 * integer("size", options.size, { min: 1, max: 1024, fallback: 4 })
 * integer("maxSessions", 0, { min: 1, orInfinity: true }) // throws: maxSessions must be an integer from 1 to 9007199254740991 or Infinity, got 0
 * ```
 */
export const integer = (option: string, value: unknown, range: IntegerRange): number => {
  const { min, max = Number.MAX_SAFE_INTEGER, fallback, orInfinity = false } = range
  if (value === undefined && fallback !== undefined) return fallback
  if (orInfinity && value === Infinity) return value
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(option, value, `an integer from ${min} to ${max}${orInfinity ? " or Infinity" : ""}`)
  }
  return value
}

/** Bounds of {@link timerMs}: from `min` to {@link MAX_TIMER_MS}. */
export interface TimerRange {
  readonly min: number
  /** Returned when the value is `undefined`; without it `undefined` is rejected. */
  readonly fallback?: number
  /** Accept non-integers (e.g. backoff delays, rounded later). Default false. */
  readonly fractional?: boolean
}

const timerProblem = (option: string, value: unknown, min: number, fractional: boolean): InvalidOptionError | undefined =>
  typeof value === "number" && (fractional || Number.isInteger(value)) && value >= min && value <= MAX_TIMER_MS
    ? undefined
    : invalid(option, value, `${fractional ? "a number" : "an integer"} from ${min}, ${TIMER_LIMIT}`)

/**
 * A delay in ms that ends up in a timer: from `min` to {@link MAX_TIMER_MS} (longer ones would
 * overflow Node's `setTimeout` and fire at once), or `fallback` when not given.
 *
 * @example
 * ```ts
 * timerMs("initTimeoutMs", 2 ** 31, { min: 1 }) // throws: initTimeoutMs must be an integer from 1, at most 2147483647 ms (~24.8 days), got 2147483648
 * ```
 */
export const timerMs = (option: string, value: unknown, range: TimerRange): number => {
  if (value === undefined && range.fallback !== undefined) return range.fallback
  const problem = timerProblem(option, value, range.min, range.fractional ?? false)
  if (problem) throw problem
  return value as number
}

/**
 * {@link timerMs} for code that returns errors instead of throwing (a call, `close()`): the
 * error for a bad integer delay, or `undefined` when it is fine or not given.
 *
 * @example
 * ```ts
 * const bad = invalidTimerMs("close.timeoutMs", options.timeoutMs, 0)
 * if (bad) return Promise.reject(bad)
 * ```
 */
export const invalidTimerMs = (option: string, value: unknown, min: number): InvalidOptionError | undefined =>
  value === undefined ? undefined : timerProblem(option, value, min, false)

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), ignoring case.
const distance = (a: string, b: string): number => {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  const d: Array<Array<number>> = Array.from({ length: s.length + 1 }, (_, i) => [i])
  for (let j = 1; j <= t.length; j++) d[0]![j] = j
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[s.length]![t.length]!
}

/**
 * The candidate closest to `name` by edit distance (case-insensitive, a swap of neighbours
 * counts once), if it is close: at most 40 % of `name`'s length (at least 1) edits away.
 * Ties go to the earlier candidate.
 *
 * @example
 * ```ts
 * suggest("maxQueu", ["maxQueue", "size"]) // "maxQueue"
 * suggest("colour", ["size"])              // undefined
 * ```
 */
export const suggest = (name: string, candidates: ReadonlyArray<string>): string | undefined => {
  const limit = Math.max(1, Math.floor(name.length * 0.4))
  let best: string | undefined
  let bestDistance = limit + 1
  for (const candidate of candidates) {
    const d = distance(name, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/**
 * Rejects the first own key of `value` not in `known`: `unknown option <path.key>; did you
 * mean <path.closest>?`, or the list of valid names when none is close.
 *
 * @example
 * ```ts
 * checkKnown("", { maxQueu: 5 }, ["maxQueue"]) // throws: unknown option maxQueu; did you mean maxQueue?
 * ```
 */
export const checkKnown = (path: string, value: object, known: ReadonlyArray<string>): void => {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue
    const option = optionName(path, key)
    const close = suggest(key, known)
    const hint = close === undefined ? `valid options are ${known.join(", ")}` : `did you mean ${optionName(path, close)}?`
    throw new InvalidOptionError({ message: `unknown option ${option}; ${hint}`, option, value: (value as Record<string, unknown>)[key] })
  }
}

/**
 * An options object: a plain object (not null, not an array) with only `known` keys, returned
 * as a record to read. `path` names it (`""` is the top level, called `options` if it is not
 * an object); `expected` describes it in the error.
 *
 * @example
 * ```ts
 * const h = section("heartbeat", value, ["intervalMs", "misses"], "an object { intervalMs?, misses? } or false")
 * ```
 */
export const section = (path: string, value: unknown, known: ReadonlyArray<string>, expected = "an object"): Readonly<Record<string, unknown>> => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(path === "" ? "options" : path, value, expected)
  checkKnown(path, value, known)
  return value as Record<string, unknown>
}

/**
 * The option names of `T`, listed once as `{ name: true }` so the compiler flags a name
 * missing from (or not in) the interface.
 *
 * @example
 * ```ts
 * const HEARTBEAT_KEYS = keysOf<HeartbeatOptions>({ intervalMs: true, misses: true })
 * ```
 */
export const keysOf = <T>(all: { readonly [K in keyof Required<T>]: true }): ReadonlyArray<string> => Object.keys(all)
