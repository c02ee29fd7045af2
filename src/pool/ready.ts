/**
 * Turns the pool machine's state changes into `pool` and `ready` events and the pool's
 * `ready` promise (rejected when the pool fails or closes before it was ever ready).
 * @internal
 */
import type { SnapshotFrom } from "xstate"
import { PoolClosedError } from "../errors.ts"
import type { PoolStateValue, poolMachine } from "../machines/pool.ts"
import type { Emitter, PoolEvents } from "./events.ts"

/** @internal the `ready` promise, and the listener to give the pool machine's runner. */
export const watchReady = (events: Emitter<PoolEvents>, createdAt: number) => {
  let settle!: { resolve: () => void; reject: (error: Error) => void }
  const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }))
  ready.catch(() => {})
  const onChange = (snap: SnapshotFrom<typeof poolMachine>, prev: SnapshotFrom<typeof poolMachine>): void => {
    const state = snap.value as PoolStateValue
    const previous = prev.value as PoolStateValue
    if (state === previous) return
    events.emit("pool", { state, previous })
    if (state === "ready" && previous === "starting") {
      events.emit("ready", { timeToReadyMs: performance.now() - createdAt })
      settle.resolve()
    }
    if (state === "failed") settle.reject(snap.context.error ?? new PoolClosedError({ message: "pool failed before it was ready" }))
    if (state === "closed") settle.reject(new PoolClosedError({ message: "pool closed before it was ready" }))
  }
  return { ready, onChange }
}
