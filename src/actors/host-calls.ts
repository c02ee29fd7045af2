/**
 * Worker → host calls: `ctx.call_host(name, args)` in Python reaches a host handler; its
 * value comes back as `host_result`, its failure as `host_error` (raised in Python as
 * `HostCallError` with the host-side type). The handler is told which worker asked and, when
 * a call is running, its session: scoping decisions are made here, never from Python's args.
 */
import type { CallArgs, HostCall, HostError, HostResult } from "../protocol/index.ts"

/** Who is asking: the worker, and the call it is running (null between calls). */
export interface HostCallContext {
  readonly workerId: string
  readonly pid: number | null
  readonly callId: number | null
  /** The running call's session; undefined for a call without one, or between calls. */
  readonly session: string | undefined
}

/**
 * Answers one host call. Resolve with a value the wire codec can carry; throw (or reject)
 * to raise `HostCallError` in Python with `type` = the error's `_tag` or `name`.
 *
 * @example
 * ```ts
 * const onHostCall: HostCallHandler = async (name, args, ctx) => name === "now" ? Date.now() : undefined
 * ```
 */
export type HostCallHandler = (name: string, args: CallArgs | undefined, context: HostCallContext) => unknown

/** The wire type of a host-side failure: `pyvisor.<Tag>` for our typed errors, else the class name. */
export const hostErrorType = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const tag = (error as { _tag?: unknown })._tag
    if (typeof tag === "string") return `pyvisor.${tag}`
    const name = (error as { name?: unknown }).name
    if (typeof name === "string" && name.length > 0) return name
  }
  return "Error"
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Runs `handler` for `call` and sends the answer with `send`. An answer the codec cannot
 * encode is sent as a `pyvisor.SerializationError` instead, so Python is never left waiting.
 *
 * @example
 * ```ts
 * answerHostCall(call, handler, context, (m) => channel.send(m))
 * ```
 */
export const answerHostCall = (
  call: HostCall,
  handler: HostCallHandler | undefined,
  context: HostCallContext,
  send: (message: HostResult | HostError) => void
): void => {
  const fail = (type: string, message: string): void => {
    try {
      send({ kind: "host_error", id: call.id, type, message })
    } catch {
      // The channel is closed: the worker is gone and nobody waits for this answer.
    }
  }
  if (handler === undefined) return fail("pyvisor.NoHostHandler", `no host handler '${call.name}' (give createPool a hostHandlers option)`)
  void Promise.resolve()
    .then(() => handler(call.name, call.args, context))
    .then(
      (value) => {
        try {
          send({ kind: "host_result", id: call.id, value })
        } catch (error) {
          fail("pyvisor.SerializationError", `host handler '${call.name}' returned a value the protocol cannot carry: ${messageOf(error)}`)
        }
      },
      (error: unknown) => fail(hostErrorType(error), messageOf(error))
    )
}
