/**
 * Restart intensity (`intensity.ts`) as a stateful tracker on Effect's `Clock`, so `TestClock`
 * drives it: each supervisor records its restarts here.
 *
 * @example
 * ```ts
 * const intensity = yield* makeIntensity({ maxRestarts: 10, withinMs: 60_000 })
 * const { exceeded } = yield* intensity.record
 * ```
 * @module
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { recordRestart, validateIntensity } from "./intensity.ts"
import type { IntensityOptions, RestartVerdict } from "./intensity.ts"

/** A stateful restart-intensity tracker reading time from `Clock`. */
export interface Intensity {
  /** Records a restart now; `exceeded` is true when the supervisor must escalate. */
  readonly record: Effect.Effect<RestartVerdict>
  /** Restarts currently inside the window (newest first), without recording one. */
  readonly current: Effect.Effect<ReadonlyArray<number>>
}

/**
 * Makes an {@link Intensity} tracker. Validates eagerly (throws `InvalidOptionError`).
 *
 * @example
 * ```ts
 * const intensity = yield* makeIntensity({ maxRestarts: 10, withinMs: 60_000 })
 * const { exceeded } = yield* intensity.record
 * ```
 */
export const makeIntensity = (options: IntensityOptions): Effect.Effect<Intensity> => {
  const checked = validateIntensity(options)
  return Effect.map(Ref.make<ReadonlyArray<number>>([]), (ref) => ({
    record: Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Ref.modify(ref, (restarts) => {
        const verdict = recordRestart(restarts, now, checked)
        return [verdict, verdict.restarts] as const
      })),
    current: Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(Ref.get(ref), (restarts) => restarts.filter((t) => t >= now - checked.withinMs)))
  }))
}
