/**
 * The heartbeat: `ping` a worker every `intervalMs`; after `misses` consecutive pings without a
 * pong within `intervalMs`, kill it (it is replaced like any crashed worker). The Python reader
 * thread answers pings while a handler runs, so only a process that cannot run Python at all —
 * typically C code holding the GIL — misses them.
 *
 * Time comes from Effect's `Clock` (`Effect.sleep`, `Effect.timeoutOption`), so `TestClock`
 * drives it. The target is a small interface, so the logic is testable with a fake.
 *
 * @example
 * ```ts
 * const options = resolveHeartbeat({ intervalMs: 1_000 }) // { intervalMs: 1_000, misses: 3 }
 * if (options) yield* Effect.forkScoped(heartbeat({ ping, kill, isAlive }, options))
 * ```
 * @module
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { validateHeartbeat } from "./heartbeat-options.ts"
import type { HeartbeatOptions } from "./heartbeat-options.ts"

/** What the heartbeat watches. */
export interface HeartbeatTarget {
  /** Sends a ping; resolves on its pong. Rejecting means the target is gone: the heartbeat ends. */
  readonly ping: () => Promise<void>
  /** Kills the target; called at most once, with a readable reason. */
  readonly kill: (reason: string) => void
  /** Checked before each ping; false ends the heartbeat without a kill. Default: always true. */
  readonly isAlive?: () => boolean
}

/** Why a heartbeat ended. */
export type HeartbeatEnd =
  | { readonly _tag: "Killed"; readonly reason: string }
  | { readonly _tag: "Gone" }

// Some(true): pong; Some(false): the target is gone; None: no pong within the interval.
const answer = (target: HeartbeatTarget, interval: Duration.Duration): Effect.Effect<Option.Option<boolean>> =>
  Effect.callback<boolean>((resume) => {
    let pong: Promise<void>
    try {
      pong = target.ping()
    } catch {
      return resume(Effect.succeed(false))
    }
    pong.then(() => resume(Effect.succeed(true)), () => resume(Effect.succeed(false)))
  }).pipe(Effect.timeoutOption(interval))

/**
 * Watches `target`: pings at once and then every `intervalMs`, each ping waiting up to
 * `intervalMs` for its pong. A pong resets the count of consecutive misses; at `misses` the
 * target is killed with reason `no pong to N heartbeats (every I ms)` and the effect ends with
 * `Killed`, which happens `misses × intervalMs` after the first unanswered ping. It ends with
 * `Gone` once `isAlive()` is false or a ping rejects. Never fails; fork it in the worker's scope.
 * Options are validated eagerly (throws `InvalidOptionError`).
 *
 * @example
 * ```ts
 * const end = yield* heartbeat({ ping, kill, isAlive }, { intervalMs: 1_000, misses: 3 })
 * if (end._tag === "Killed") console.log(end.reason) // "no pong to 3 heartbeats (every 1000 ms)"
 * ```
 */
export const heartbeat = (target: HeartbeatTarget, options: HeartbeatOptions): Effect.Effect<HeartbeatEnd> => {
  const { intervalMs, misses } = validateHeartbeat(options)
  const interval = Duration.millis(intervalMs)
  const reason = `no pong to ${misses} heartbeat${misses === 1 ? "" : "s"} (every ${intervalMs} ms)`
  return Effect.flatMap(Ref.make(0), (missed) => {
    const beat: Effect.Effect<HeartbeatEnd | undefined> = Effect.gen(function*() {
      if (target.isAlive?.() === false) return { _tag: "Gone" } as const
      // Each beat lasts exactly one interval, so pings go out at 0, I, 2I... whatever the answers.
      const [answered] = yield* Effect.zip(answer(target, interval), Effect.sleep(interval), { concurrent: true })
      if (Option.isSome(answered)) {
        if (!answered.value) return { _tag: "Gone" } as const
        yield* Ref.set(missed, 0)
        return undefined
      }
      if ((yield* Ref.updateAndGet(missed, (n) => n + 1)) < misses) return undefined
      target.kill(reason)
      return { _tag: "Killed", reason } as const
    })
    return Effect.repeat(beat, { until: (end): end is HeartbeatEnd => end !== undefined })
  })
}
