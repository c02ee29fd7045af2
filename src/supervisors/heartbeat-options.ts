/**
 * The heartbeat's options: how often to ping and how many missed pongs kill the worker, their
 * defaults and their validation. Pure, so validating a pool's options loads no Effect code.
 *
 * @example
 * ```ts
 * resolveHeartbeat({ misses: 5 }) // { intervalMs: 5_000, misses: 5 }
 * ```
 * @module
 */
import { integer, keysOf, section, timerMs } from "../options/kit.ts"

/** How often to ping, and how many consecutive unanswered pings kill the worker. */
export interface HeartbeatOptions {
  /** Time between pings, and how long each ping waits for its pong (a positive integer of ms). */
  readonly intervalMs: number
  /** Consecutive unanswered pings that kill the worker (an integer >= 1). */
  readonly misses: number
}

/**
 * Defaults: a ping every 5 s, killed after 3 missed in a row (15 s without any pong).
 *
 * @example
 * ```ts
 * const options: HeartbeatOptions = { ...DEFAULT_HEARTBEAT, misses: 5 }
 * ```
 */
export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 5_000, misses: 3 }

const HEARTBEAT_KEYS = keysOf<HeartbeatOptions>({ intervalMs: true, misses: true })

/**
 * Checks heartbeat options and returns them, or throws `InvalidOptionError` naming the option
 * (`heartbeat.intervalMs`, `heartbeat.misses`) and quoting the bad value. `intervalMs` is a
 * timer, so at most `MAX_TIMER_MS` (~24.8 days).
 *
 * @example
 * ```ts
 * validateHeartbeat({ intervalMs: 0, misses: 3 }) // throws: heartbeat.intervalMs must be an integer from 1, at most 2147483647 ms (~24.8 days), got 0
 * ```
 */
export const validateHeartbeat = (options: HeartbeatOptions): HeartbeatOptions => ({
  intervalMs: timerMs("heartbeat.intervalMs", options.intervalMs, { min: 1 }),
  misses: integer("heartbeat.misses", options.misses, { min: 1 })
})

/**
 * The pool's `heartbeat` option with defaults applied: `undefined` (not given) means the
 * defaults, `false` disables the heartbeat (returns `undefined`), an object overrides fields.
 * Throws `InvalidOptionError` for anything else, for an unknown field (`heartbeat.misess;
 * did you mean heartbeat.misses?`) or for bad fields.
 *
 * @example
 * ```ts
 * resolveHeartbeat(undefined)            // { intervalMs: 5_000, misses: 3 }
 * resolveHeartbeat({ misses: 5 })        // { intervalMs: 5_000, misses: 5 }
 * resolveHeartbeat(false)                // undefined: no heartbeat
 * ```
 */
export const resolveHeartbeat = (options: Partial<HeartbeatOptions> | false | undefined): HeartbeatOptions | undefined => {
  if (options === false) return undefined
  if (options === undefined) return DEFAULT_HEARTBEAT
  section("heartbeat", options, HEARTBEAT_KEYS, "an object { intervalMs?, misses? } or false")
  return validateHeartbeat({
    intervalMs: options.intervalMs ?? DEFAULT_HEARTBEAT.intervalMs,
    misses: options.misses ?? DEFAULT_HEARTBEAT.misses
  })
}
