/**
 * The backoff policy (`backoff.ts`) as Effect values: the next delay with its random factor drawn
 * from Effect's `Random` service (so tests pin it with a seed), and the same policy as a
 * `Schedule` for `Effect.retry` / `Effect.repeat`.
 *
 * @example
 * ```ts
 * const { delayMs } = yield* nextBackoffEffect(INITIAL_BACKOFF, 0, resolveBackoff(DEFAULT_BACKOFF))
 * ```
 * @module
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import { INITIAL_BACKOFF, nextBackoff, resolveBackoff } from "./backoff.ts"
import type { BackoffOptions, BackoffState, ResolvedBackoff } from "./backoff.ts"

/**
 * {@link nextBackoff} with the random number taken from Effect's `Random` service.
 *
 * @example
 * ```ts
 * const { delayMs, state } = yield* nextBackoffEffect(INITIAL_BACKOFF, uptimeMs, options)
 * yield* Effect.sleep(delayMs)
 * ```
 */
export const nextBackoffEffect = (
  state: BackoffState,
  uptimeMs: number,
  options: ResolvedBackoff
): Effect.Effect<{ readonly delayMs: number; readonly state: BackoffState }> =>
  Effect.map(Random.next, (random) => nextBackoff(state, uptimeMs, random, options))

/**
 * The same policy as a `Schedule` for `Effect.retry` / `Effect.repeat`. Uptime is the time
 * between the previous retry (after its delay) and this failure, so a run that lasted
 * `resetAfterMs` resets the series. Never stops on its own: bound it with `Schedule.upTo`
 * or pair it with restart intensity. Outputs the chosen delay.
 *
 * @example
 * ```ts
 * const supervised = runWorker.pipe(Effect.retry(backoffSchedule(DEFAULT_BACKOFF)))
 * ```
 */
export const backoffSchedule = (options: BackoffOptions): Schedule.Schedule<Duration.Duration> => {
  const resolved = resolveBackoff(options)
  return Schedule.fromStep(Effect.sync(() => {
    let state = INITIAL_BACKOFF
    let resumedAt: number | undefined
    return (now: number, _input: unknown) =>
      Effect.map(Random.next, (random): [Duration.Duration, Duration.Duration] => {
        const next = nextBackoff(state, resumedAt === undefined ? 0 : now - resumedAt, random, resolved)
        state = next.state
        resumedAt = now + next.delayMs
        const delay = Duration.millis(next.delayMs)
        return [delay, delay]
      })
  }))
}
