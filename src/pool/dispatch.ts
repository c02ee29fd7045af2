/**
 * One job meeting one worker: the checkout deadline while it waits in a queue, and the
 * hand-off itself (phase, cancel with its kill-after-grace, stream credit). @internal
 */
import { CheckoutTimeoutError } from "../errors.ts"
import { sessionOf } from "./call-checks.ts"
import type { Job } from "./job.ts"
import type { Queue } from "./queue.ts"
import type { Worker } from "../actors/worker.ts"
import { after } from "./timers.ts"

/** Puts `job` in `queue` (first, for a retry) with a fresh checkout deadline. */
export const enqueueWithDeadline = (job: Job, queue: Queue<Job>, first: boolean, checkoutTimeoutMs: number): void => {
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

/**
 * Sends `job` to `worker` and marks it running; its answer, or undefined when nothing
 * was sent (the worker refused synchronously and the job has been failed).
 */
export const sendToWorker = (worker: Worker, job: Job, cancelGraceMs: number): Promise<unknown> | undefined => {
  let handle
  try {
    handle = job.stream
      ? worker.stream(job.name, job.args, { ...sessionOf(job), window: job.stream.window }, job.stream.onChunk)
      : worker.call(job.name, job.args, sessionOf(job))
  } catch (error) {
    job.fail(error)
    return undefined
  }
  job.phase = "running"
  job.attempts++
  job.checkoutTimer?.()
  job.checkoutTimer = null
  job.dispatchedAt = performance.now()
  const id = handle.id
  job.cancel = () => {
    worker.cancel(id)
    // A handler that ignores ctx.cancelled is killed: a hung sync handler cannot be interrupted otherwise.
    after(cancelGraceMs, () => {
      if (worker.isRunning(id)) worker.kill({ type: "KILL", reason: `call did not stop within cancelGraceMs (${cancelGraceMs} ms) of its cancel` })
    })
  }
  job.stream?.onDispatch((n) => worker.credit(id, n))
  return handle.answer
}
