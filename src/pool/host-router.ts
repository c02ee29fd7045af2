/**
 * Routes a worker's host calls: `pyvisor.store.*` to the session store, scoped to the session
 * of the call the worker is running (global for a call without one), `pyvisor.deadline` (a
 * program's default timeout, for a call that has none) to the pool, everything else to the
 * user's `hostHandlers`. Python never names the scope or the call, so it cannot reach another
 * session's keys or another call's deadline.
 * @internal
 */
import type { HostCallContext, HostCallHandler } from "../actors/host-calls.ts"
import { MAX_TIMER_MS } from "../options/kit.ts"
import type { CallArgs } from "../protocol/index.ts"
import type { SessionStore, StoreScope } from "../store/index.ts"

/** A host function a worker can call with `ctx.call_host(name, args)`. */
export type HostHandler = (args: CallArgs | undefined, context: HostCallContext) => unknown

/**
 * Gives running call `callId` of a worker a deadline `ms` from now, unless it has a timeout of its
 * own: the ms left of its deadline (an earlier one it already had is kept), or null when its own
 * timeout applies. @internal
 *
 * @example
 * ```ts
 * const deadline: ProgramDeadline = (workerId, callId, ms) => pool.programDeadline(workerId, callId, ms)
 * ```
 */
export type ProgramDeadline = (workerId: string, callId: number, ms: number) => number | null

/** The host call by which `ctx.programs.get` gives a call without a timeout its program's (programs.py). */
const DEADLINE = "pyvisor.deadline"

class NoHostHandler extends Error {
  override readonly name = "pyvisor.NoHostHandler"
}

const scopeOf = (context: HostCallContext): StoreScope => {
  if (context.callId === null) {
    // A background thread between calls has no session to speak for: refuse rather than guess global.
    throw new NoHostHandler("ctx.store is only available while a call is running")
  }
  return context.session === undefined ? "global" : { session: context.session }
}

const objectArgs = (name: string, args: CallArgs | undefined): Record<string, unknown> => {
  if (typeof args !== "object" || args === null || Array.isArray(args)) throw new TypeError(`${name} takes keyword arguments`)
  return args as Record<string, unknown>
}

/**
 * Makes the actor's host-call handler for a pool.
 *
 * @example
 * ```ts
 * const onHostCall = hostRouter(memoryStore(), { now: () => Date.now() }, (workerId, callId, ms) => pool.programDeadline(workerId, callId, ms))
 * ```
 */
export const hostRouter = (store: SessionStore, handlers: Readonly<Record<string, HostHandler>>, deadline: ProgramDeadline): HostCallHandler =>
  async (name, args, context) => {
    if (name === DEADLINE) {
      if (context.callId === null) throw new NoHostHandler("a deadline is only available while a call is running")
      const ms = objectArgs(name, args)["ms"]
      if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 1 || ms > MAX_TIMER_MS) throw new TypeError(`${name} takes ms, an integer from 1 to ${MAX_TIMER_MS}, got ${String(ms)}`)
      return deadline(context.workerId, context.callId, ms)
    }
    if (name.startsWith("pyvisor.store.")) {
      const scope = scopeOf(context)
      const a = objectArgs(name, args)
      switch (name) {
        case "pyvisor.store.get": {
          const found = typeof a["version"] === "number"
            ? await store.getIfChanged(scope, a["key"] as string, a["version"])
            : await store.get(scope, a["key"] as string)
          return found ?? null
        }
        case "pyvisor.store.put":
          return store.put(scope, a["key"] as string, a["value"])
        case "pyvisor.store.delete":
          return store.delete(scope, a["key"] as string)
        case "pyvisor.store.list":
          return store.list(scope, (a["prefix"] as string | undefined) ?? "")
      }
    }
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined
    if (handler === undefined) {
      const names = Object.keys(handlers)
      throw new NoHostHandler(`no host handler '${name}'; available: ${names.length ? names.join(", ") : "(none: give createPool a hostHandlers option)"}`)
    }
    return handler(args, context)
  }
