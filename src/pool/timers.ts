/** Timers the pool uses, behind one seam so tests can swap the clock. */

/** Runs `fn` after `ms`; returns a cancel function. Timers never keep the process alive. */
export type After = (ms: number, fn: () => void) => () => void

/**
 * The real clock.
 *
 * @example
 * ```ts
 * const cancel = after(1_000, () => console.log("late")); cancel()
 * ```
 */
export const after: After = (ms, fn) => {
  if (!Number.isFinite(ms)) return () => {}
  const timer = setTimeout(fn, ms)
  timer.unref()
  return () => clearTimeout(timer)
}
