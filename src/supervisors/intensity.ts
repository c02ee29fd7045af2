/**
 * Restart intensity, as in OTP: at most `maxRestarts` restarts within any sliding window of
 * `withinMs`. With max N in T, the N+1-th restart inside T means the supervisor gives up.
 *
 * Pure (timestamps in, verdict out) so it can be property-tested without a runtime;
 * `intensity-tracker.ts` wraps it with Effect's `Clock` so `TestClock` drives it.
 *
 * @example
 * ```ts
 * const options = validateIntensity({ maxRestarts: 1, withinMs: 5_000 })
 * const a = recordRestart([], 0, options)          // { exceeded: false, restarts: [0] }
 * const b = recordRestart(a.restarts, 1_000, options) // { exceeded: true, ... }
 * ```
 * @module
 */
import { invalid } from "../options/kit.ts"

/**
 * How many restarts a supervisor tolerates, and over how long (OTP's `intensity`/`period`,
 * here in milliseconds).
 *
 * @example
 * ```ts
 * const otpDefaults: IntensityOptions = { maxRestarts: 1, withinMs: 5_000 }
 * ```
 */
export interface IntensityOptions {
  /** Restarts allowed inside the window; 0 means the first restart escalates. */
  readonly maxRestarts: number
  /** Window length in milliseconds (> 0). */
  readonly withinMs: number
}

/**
 * Pool-friendly defaults: 10 restarts in 60 s. OTP's 1 in 5 s would fail a pool whose
 * workers crash a few times while one bad input is being retried.
 *
 * @example
 * ```ts
 * const options = { ...DEFAULT_INTENSITY, maxRestarts: 3 }
 * ```
 */
export const DEFAULT_INTENSITY: IntensityOptions = { maxRestarts: 10, withinMs: 60_000 }

/** The verdict of {@link recordRestart}. */
export interface RestartVerdict {
  /** True when this restart is one too many: the supervisor must escalate. */
  readonly exceeded: boolean
  /** Timestamps (ms) of the restarts still inside the window, newest first, this one included. */
  readonly restarts: ReadonlyArray<number>
}

/**
 * Checks intensity options and returns them unchanged, or throws `InvalidOptionError` naming
 * the option and the bad value. Thrown (not returned) because bad options are a programming
 * error found at construction time.
 *
 * @example
 * ```ts
 * validateIntensity({ maxRestarts: -1, withinMs: 1000 }) // throws: maxRestarts must be ...
 * ```
 */
export const validateIntensity = (options: IntensityOptions): IntensityOptions => {
  if (!Number.isSafeInteger(options.maxRestarts) || options.maxRestarts < 0) {
    throw invalid("maxRestarts", options.maxRestarts, "a non-negative integer")
  }
  // A window compared with restart times, not a timer: it may exceed MAX_TIMER_MS.
  if (!Number.isFinite(options.withinMs) || options.withinMs <= 0) {
    throw invalid("withinMs", options.withinMs, "a positive finite number of milliseconds")
  }
  return options
}

/**
 * Records a restart at `now` and says whether it exceeds the intensity. Mirrors OTP's
 * `add_restart/3`: a past restart stays in the window while `now - t <= withinMs`
 * (inclusive, like OTP), and the restart being recorded counts, so N+1 restarts inside the
 * window exceed `maxRestarts` N.
 *
 * @example
 * ```ts
 * recordRestart([0], 5_000, { maxRestarts: 1, withinMs: 5_000 }).exceeded // true
 * recordRestart([0], 5_001, { maxRestarts: 1, withinMs: 5_000 }).exceeded // false
 * ```
 */
export const recordRestart = (restarts: ReadonlyArray<number>, now: number, options: IntensityOptions): RestartVerdict => {
  const threshold = now - options.withinMs
  // Newest first, so the kept ones are a prefix; older entries can never come back into the window.
  const kept = [now, ...restarts.filter((t) => t >= threshold)]
  return { exceeded: kept.length > options.maxRestarts, restarts: kept }
}
