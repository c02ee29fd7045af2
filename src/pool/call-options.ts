/** What a caller may pass to `pool.call`, checked before anything else happens. @internal */
import { invalid, invalidTimerMs } from "../options/kit.ts"
import type { CallOptions } from "./job.ts"

/** @internal the options of a call given none: shared, so such a call allocates none and checks none. */
export const NO_OPTIONS: CallOptions = Object.freeze({})

/** @internal the first problem with a call's name, arguments or options, as an `InvalidOptionError`. */
export const validateCall = (name: unknown, args: unknown, options: CallOptions): Error | undefined => {
  if (typeof name !== "string" || name.length === 0) return invalid("name", name, "a non-empty string")
  if (args !== undefined && (typeof args !== "object" || args === null)) return invalid("args", args, "an object (keyword arguments) or an array (positional)")
  if (options === NO_OPTIONS) return undefined
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
  if (options.poisonKey !== undefined && (typeof options.poisonKey !== "string" || options.poisonKey.length === 0 || options.poisonKey.length > 1024)) {
    return invalid("options.poisonKey", options.poisonKey, "a string of 1 to 1024 characters")
  }
  return undefined
}
