/**
 * Turns the pool machine's state changes into `pool` and `ready` events and the pool's
 * `ready` promise (rejected when the pool fails or closes before it was ever ready).
 * @internal
 */
import type { Actor } from "xstate"
import { PoolClosedError } from "../errors.ts"
import type { PoolStateValue, poolMachine } from "../machines/pool.ts"
import type { Emitter, PoolEvents } from "./events.ts"

/** @internal */
export const watchReady = (
  machine: Actor<typeof poolMachine>,
  events: Emitter<PoolEvents>,
  createdAt: number,
  failure: () => Error | null
): Promise<void> => {
  let previous: PoolStateValue = "starting"
  const ready = new Promise<void>((resolve, reject) => {
    machine.subscribe((snap) => {
      const state = snap.value as PoolStateValue
      if (state === previous) return
      events.emit("pool", { state, previous })
      if (state === "ready" && previous === "starting") {
        events.emit("ready", { timeToReadyMs: performance.now() - createdAt })
        resolve()
      }
      if (state === "failed") reject(failure() ?? new PoolClosedError({ message: "pool failed before it was ready" }))
      if (state === "closed") reject(new PoolClosedError({ message: "pool closed before it was ready" }))
      previous = state
    })
  })
  ready.catch(() => {})
  return ready
}
