/**
 * One job meeting one worker: the hand-off itself (phase, cancel with its kill-after-grace,
 * stream credit). @internal
 */
import type { Worker } from "../actors/worker.ts"
import type { Job } from "./job.ts"
import { after } from "./timers.ts"

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

const sessionOf = (job: Job): { session?: string } => (job.options.session === undefined ? {} : { session: job.options.session })
