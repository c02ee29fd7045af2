/**
 * A job's deadlines: its own timeout and abort signal (armed once, for the whole call), and the
 * checkout deadline of each wait in a queue (armed anew when a retried call queues again).
 * @internal
 */
import { AbortError, CallTimeoutError, CheckoutTimeoutError } from "../errors.ts"
import type { CallEnd } from "../errors.ts"
import type { InterruptError, Job } from "./job.ts"
import type { Queue } from "./queue.ts"
import type { After } from "./after.ts"

const HOW: Record<CallEnd, string> = {
  "never-started": "",
  "cancelled-in-python": " (cancelled in Python; the worker lives on)",
  "returned": " (it ignored the cancel and returned; the worker lives on)",
  "worker-killed": " (it did not stop within cancelGraceMs: its worker was killed)"
}

/** @internal the error of a call whose signal fired. */
export const abortError = (name: string, signal: AbortSignal, ended: CallEnd = "never-started"): AbortError =>
  new AbortError({ message: `'${name}' was aborted${signal.reason instanceof Error ? `: ${signal.reason.message}` : ""}${HOW[ended]}`, reason: signal.reason, ended })

/** Interrupts `job` with `CallTimeoutError` after `ms`; `why` follows "within `ms` ms" in its message. */
const armTimeout = (job: Job, ms: number, why: string, interrupt: (error: InterruptError) => void, after: After): void => {
  job.onSettle(after(ms, () => interrupt((ended) => new CallTimeoutError({
    message: `'${job.name}' did not finish within ${ms} ms${why}${HOW[ended]}`, handler: job.name, timeoutMs: ms, ended
  }))))
}

/** Arms the call's own deadline (on the pool's timers) and abort signal; `interrupt` stops the call and settles it. */
export const armDeadlines = (job: Job, interrupt: (error: InterruptError) => void, after: After): void => {
  const { timeoutMs, signal } = job.options
  if (timeoutMs !== undefined) armTimeout(job, timeoutMs, "", interrupt, after)
  if (signal) {
    const onAbort = (): void => interrupt((ended) => abortError(job.name, signal, ended))
    signal.addEventListener("abort", onAbort, { once: true })
    job.onSettle(() => signal.removeEventListener("abort", onAbort))
  }
}

/**
 * A deadline `ms` from `now()` for a running job without a timeout of its own, set by the program it
 * runs (`ctx.programs.get` of a program with a default timeout). An earlier one it already has is
 * kept (a call may run several programs). Returns the ms left of the job's deadline.
 *
 * @example
 * ```ts
 * armProgramDeadline(job, 30_000, (error) => pool.interrupt(job, error), after, now) // 30000, or less if it had an earlier one
 * ```
 */
export const armProgramDeadline = (job: Job, ms: number, interrupt: (error: InterruptError) => void, after: After, now: () => number): number => {
  const at = now() + ms
  const current = job.programDeadlineAt
  if (current !== null && current <= at) return Math.max(0, Math.floor(current - now()))
  job.programDeadlineAt = at
  armTimeout(job, ms, ", the default timeout of the program it ran", interrupt, after)
  return ms
}

/** Puts `job` in `queue` (first, for a retry) with a fresh checkout deadline. */
export const enqueueWithDeadline = (job: Job, queue: Queue<Job>, first: boolean, checkoutTimeoutMs: number, after: After): void => {
  const node = first ? queue.unshift(job) : queue.push(job)
  job.node = node
  job.queue = queue
  job.checkoutTimer?.()
  job.checkoutTimer = after(checkoutTimeoutMs, () => {
    if (queue.remove(node)) {
      job.fail(new CheckoutTimeoutError({ message: `no worker free for '${job.name}' within ${checkoutTimeoutMs} ms`, timeoutMs: checkoutTimeoutMs }))
    }
  })
  job.onSettle(() => job.checkoutTimer?.())
}
