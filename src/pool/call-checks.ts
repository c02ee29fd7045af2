/** Checks of a call's arguments and the small values built from them. @internal */
import { AbortError, CallTimeoutError } from "../errors.ts"
import { invalid, invalidTimerMs } from "../options/kit.ts"
import type { Job, CallOptions } from "./job.ts"
import { after } from "./timers.ts"

export const failingIterator = (error: Error): AsyncIterableIterator<unknown> => {
  const it: AsyncIterableIterator<unknown> = { next: () => Promise.reject(error), [Symbol.asyncIterator]: () => it }
  return it
}

export const sessionOf = (job: Job): { session?: string } => (job.options.session === undefined ? {} : { session: job.options.session })

export const abortError = (name: string, signal: AbortSignal): AbortError =>
  new AbortError({ message: `'${name}' was aborted${signal.reason instanceof Error ? `: ${signal.reason.message}` : ""}`, reason: signal.reason })

/** Arms the call's own deadline and abort signal; `interrupt` releases the caller. */
export const armDeadlines = (job: Job, interrupt: (error: Error) => void): void => {
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

export const validateCall = (name: unknown, args: unknown, options: CallOptions): Error | undefined => {
  if (typeof name !== "string" || name.length === 0) return invalid("name", name, "a non-empty string")
  if (args !== undefined && (typeof args !== "object" || args === null)) return invalid("args", args, "an object (keyword arguments) or an array (positional)")
  if (typeof options !== "object" || options === null) return invalid("options", options, "an object")
  if (options.session !== undefined && typeof options.session !== "string") return invalid("options.session", options.session, "a string")
  if (options.timeoutMs !== undefined) {
    const bad = invalidTimerMs("options.timeoutMs", options.timeoutMs, 1)
    if (bad) return bad
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) return invalid("options.signal", options.signal, "an AbortSignal")
  if (options.idempotent !== undefined && typeof options.idempotent !== "boolean") return invalid("options.idempotent", options.idempotent, "a boolean")
  if (options.retries !== undefined && (!Number.isInteger(options.retries) || options.retries < 0 || options.retries > 100)) return invalid("options.retries", options.retries, "an integer from 0 to 100")
  if (options.affinity !== undefined && options.affinity !== "prefer" && options.affinity !== "strict") return invalid("options.affinity", options.affinity, "'prefer' or 'strict'")
  return undefined
}

