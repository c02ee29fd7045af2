/**
 * A job's deadlines: its own timeout and abort signal (armed once, for the whole call), and the
 * checkout deadline of each wait in a queue (armed anew when a retried call queues again).
 * @internal
 */
import { AbortError, CallTimeoutError, CheckoutTimeoutError } from "../errors.ts"
import type { Job } from "./job.ts"
import type { Queue } from "./queue.ts"
import type { After } from "./timers.ts"

/** @internal the error of a call whose signal fired. */
export const abortError = (name: string, signal: AbortSignal): AbortError =>
  new AbortError({ message: `'${name}' was aborted${signal.reason instanceof Error ? `: ${signal.reason.message}` : ""}`, reason: signal.reason })

/** Arms the call's own deadline (on the pool's timers) and abort signal; `interrupt` releases the caller. */
export const armDeadlines = (job: Job, interrupt: (error: Error) => void, after: After): void => {
  const { timeoutMs, signal } = job.options
  if (timeoutMs !== undefined) {
    job.onSettle(after(timeoutMs, () => interrupt(new CallTimeoutError({
      message: `'${job.name}' did not finish within ${timeoutMs} ms`, handler: job.name, timeoutMs
    }))))
  }
  if (signal) {
    const onAbort = (): void => interrupt(abortError(job.name, signal))
    signal.addEventListener("abort", onAbort, { once: true })
    job.onSettle(() => signal.removeEventListener("abort", onAbort))
  }
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
