/**
 * The `After` type and the live timer, in plain Node: the Clock seam (timers.ts) loads Effect's
 * runtime, and what takes an `After` (deadlines, sessions, the pool) should not have to.
 */
import { MAX_TIMER_MS } from "../options/kit.ts"

/**
 * Runs `fn` after `ms`; returns a cancel function. Timers never keep the process alive.
 *
 * @example
 * ```ts
 * const timeout: After = (ms, fn) => { const t = setTimeout(fn, ms); return () => clearTimeout(t) }
 * ```
 */
export type After = (ms: number, fn: () => void) => () => void

const noop = (): void => {}

/**
 * The real clock. Options are capped at `MAX_TIMER_MS`, but a longer delay still waits its
 * full time: Node would fire it after 1 ms, so it is armed in steps of at most `MAX_TIMER_MS`.
 *
 * @example
 * ```ts
 * const cancel = after(1_000, () => console.log("late")); cancel()
 * ```
 */
export const after: After = (ms, fn) => {
  if (!Number.isFinite(ms)) return noop
  if (ms <= MAX_TIMER_MS) {
    const timer = setTimeout(fn, ms)
    timer.unref()
    return () => clearTimeout(timer)
  }
  let timer: NodeJS.Timeout
  const arm = (left: number): void => {
    timer = left > MAX_TIMER_MS ? setTimeout(() => arm(left - MAX_TIMER_MS), MAX_TIMER_MS) : setTimeout(fn, left)
    timer.unref()
  }
  arm(ms)
  return () => clearTimeout(timer)
}
