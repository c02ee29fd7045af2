/**
 * Exponential restart backoff with jitter, capped, and reset after a healthy period.
 *
 * The n-th consecutive restart (n = 0, 1, ...) waits `min(maxMs, initialMs * factor^n)`,
 * scaled by a random factor in `[1 - jitter, 1 + jitter]` and capped again at `maxMs`. A child
 * that stayed up at least `resetAfterMs` starts over from `initialMs`, so a worker crashing
 * once a day never accumulates a 5 s delay.
 *
 * Pure: the random number is an argument (`backoff-schedule.ts` draws it from Effect's `Random`
 * service, so tests can pin it), and importing this module loads no Effect code.
 *
 * @example
 * ```ts
 * const options = resolveBackoff({ initialMs: 10, maxMs: 100, jitter: 0 })
 * nextBackoff(INITIAL_BACKOFF, 0, 0.5, options) // { delayMs: 10, state: { attempt: 1 } }
 * ```
 * @module
 */
import { invalid, optionName, timerMs } from "../options/kit.ts"

/**
 * Backoff options; `factor`, `jitter` and `resetAfterMs` have defaults.
 *
 * @example
 * ```ts
 * const gentle: BackoffOptions = { initialMs: 100, maxMs: 10_000, jitter: 0 } // 100, 200, 400 ... ms
 * ```
 */
export interface BackoffOptions {
  /** Delay before the first restart in a series (ms, >= 0). */
  readonly initialMs: number
  /** Upper bound of any delay, jitter included (ms, >= initialMs). */
  readonly maxMs: number
  /** Growth per consecutive restart (>= 1). Default 2. */
  readonly factor?: number
  /** Relative random spread, 0..1: 0.2 means ±20 %. Default 0.2. */
  readonly jitter?: number
  /** Uptime (ms, > 0, may be Infinity) after which the series restarts from `initialMs`. Default 30 s. */
  readonly resetAfterMs?: number
}

/** {@link BackoffOptions} with every default filled in. */
export type ResolvedBackoff = Required<BackoffOptions>

/**
 * Defaults: 10 ms, doubling, up to 5 s, ±20 % jitter, reset after 30 s of health.
 *
 * @example
 * ```ts
 * const options = resolveBackoff({ ...DEFAULT_BACKOFF, maxMs: 1_000 })
 * ```
 */
export const DEFAULT_BACKOFF: ResolvedBackoff = { initialMs: 10, maxMs: 5_000, factor: 2, jitter: 0.2, resetAfterMs: 30_000 }

/** Where a child is in its backoff series: how many restarts in a row without a healthy period. */
export interface BackoffState {
  readonly attempt: number
}

/**
 * The state of a child that has not been restarted yet.
 *
 * @example
 * ```ts
 * let state = INITIAL_BACKOFF
 * ```
 */
export const INITIAL_BACKOFF: BackoffState = { attempt: 0 }

/**
 * Fills in defaults and validates; throws `InvalidOptionError` naming the bad option under
 * `path` (e.g. `"restart.backoff"` gives `restart.backoff.maxMs`; default: the bare name).
 * Delays are capped at `MAX_TIMER_MS` (~24.8 days): they end up in a timer.
 *
 * @example
 * ```ts
 * resolveBackoff({ initialMs: 10, maxMs: 5 }) // throws: maxMs must be a finite number >= initialMs (10), got 5
 * resolveBackoff({ initialMs: 10, maxMs: 2 ** 31 }, "restart.backoff") // throws: restart.backoff.maxMs must be a number from 0, at most 2147483647 ms (~24.8 days), got 2147483648
 * ```
 */
export const resolveBackoff = (options: BackoffOptions, path = ""): ResolvedBackoff => {
  const name = (key: keyof BackoffOptions): string => optionName(path, key)
  const resolved: ResolvedBackoff = {
    initialMs: options.initialMs,
    maxMs: options.maxMs,
    factor: options.factor ?? DEFAULT_BACKOFF.factor,
    jitter: options.jitter ?? DEFAULT_BACKOFF.jitter,
    resetAfterMs: options.resetAfterMs ?? DEFAULT_BACKOFF.resetAfterMs
  }
  timerMs(name("initialMs"), resolved.initialMs, { min: 0, fractional: true })
  timerMs(name("maxMs"), resolved.maxMs, { min: 0, fractional: true })
  if (resolved.maxMs < resolved.initialMs) {
    throw invalid(name("maxMs"), resolved.maxMs, `a finite number >= initialMs (${resolved.initialMs})`)
  }
  if (!Number.isFinite(resolved.factor) || resolved.factor < 1) {
    throw invalid(name("factor"), resolved.factor, "a finite number >= 1")
  }
  if (!(typeof resolved.jitter === "number" && resolved.jitter >= 0 && resolved.jitter <= 1)) {
    throw invalid(name("jitter"), resolved.jitter, "between 0 and 1")
  }
  // Compared with uptime, not armed as a timer: may be large, or Infinity.
  if (!(typeof resolved.resetAfterMs === "number" && resolved.resetAfterMs > 0)) {
    throw invalid(name("resetAfterMs"), resolved.resetAfterMs, "> 0 (Infinity disables the reset)")
  }
  return resolved
}

/**
 * The delay for the given attempt before jitter: `min(maxMs, initialMs * factor^attempt)`.
 *
 * @example
 * ```ts
 * baseDelay(3, resolveBackoff({ initialMs: 10, maxMs: 1_000 })) // 80
 * ```
 */
export const baseDelay = (attempt: number, options: ResolvedBackoff): number =>
  Math.min(options.maxMs, options.initialMs * options.factor ** attempt)

/**
 * Computes the delay before the next restart and the state after it. `uptimeMs` is how long
 * the child ran before this exit; `random` is in [0, 1) (0.5 means no jitter at all).
 *
 * @example
 * ```ts
 * const options = resolveBackoff({ initialMs: 10, maxMs: 5_000, jitter: 0 })
 * const first = nextBackoff(INITIAL_BACKOFF, 0, 0, options)   // delayMs 10
 * const second = nextBackoff(first.state, 0, 0, options)      // delayMs 20
 * ```
 */
export const nextBackoff = (
  state: BackoffState,
  uptimeMs: number,
  random: number,
  options: ResolvedBackoff
): { readonly delayMs: number; readonly state: BackoffState } => {
  // A long enough healthy run means the previous crashes were unrelated: start the series over.
  const attempt = uptimeMs >= options.resetAfterMs ? 0 : state.attempt
  const base = baseDelay(attempt, options)
  const spread = base * options.jitter * (2 * random - 1)
  // Rounded to whole ms: TestClock and logs deal in ms; capped again because jitter can overshoot.
  const delayMs = Math.max(0, Math.min(options.maxMs, Math.round(base + spread)))
  return { delayMs, state: { attempt: attempt + 1 } }
}
