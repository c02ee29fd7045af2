/**
 * Worker slots: the stable places workers run in (`w1`… permanent, `o1`… overflow), each the id
 * of one supervisor child, and the set of slots whose worker can take a call now. A slot outlives
 * its incarnations; which incarnation is current is set only when the supervisor creates one.
 */
import type { Worker } from "../actors/worker.ts"

/** @internal one place a worker runs. */
export interface Slot {
  readonly id: string
  readonly overflow: boolean
  /** Crashes of this slot's incarnations (each one is restarted by the supervisor). */
  restarts: number
  recycled: number
  /** The current incarnation, from its creation until its exit. */
  worker: Worker | null
  /** When the current incarnation became ready (the pool's monotonic ms: `performance.now()` on the live clock), else null. */
  readyAt: number | null
  /** Recycle the current incarnation as soon as it has no call in flight. */
  recycle: string | null
  /** The current incarnation's RSS limit: maxWorkerRssMb less a random share of RSS_JITTER (null: not drawn yet). */
  rssLimit: number | null
  /** An overflow slot's idle deadline: armed while it is in the idle set, cancelled when it leaves. */
  idleTimer: (() => void) | null
}

/** @internal */
export class Slots {
  readonly all: Array<Slot> = []
  /** Slots whose worker serves with nothing in flight. Written by `place` only. */
  readonly idle = new Set<Slot>()
  /** Slots whose worker serves, runs something, and has room for a prefetched call. Written by `place` only. */
  readonly open = new Set<Slot>()
  #overflowSeq = 0
  readonly #armIdle: (slot: Slot) => () => void

  /** `armIdle` starts an overflow slot's idle deadline and returns its cancel. */
  constructor(size: number, armIdle: (slot: Slot) => () => void = () => () => {}) {
    this.#armIdle = armIdle
    for (let i = 0; i < size; i++) this.all.push(newSlot(`w${i + 1}`, false))
  }

  get permanent(): ReadonlyArray<Slot> {
    return this.all.filter((s) => !s.overflow)
  }

  /** Adds a temporary slot. */
  addOverflow(): Slot {
    const slot = newSlot(`o${++this.#overflowSeq}`, true)
    this.all.push(slot)
    return slot
  }

  /**
   * Puts `slot` in the set its worker's facts say (idle, open, or neither): called from worker
   * hooks, which fire on the worker's edges only.
   */
  place(slot: Slot): void {
    this.idle.delete(slot)
    this.open.delete(slot)
    const worker = slot.worker
    if (worker !== null && slot.recycle === null && worker.hasRoom) {
      if (worker.inFlight === 0) this.idle.add(slot)
      else this.open.add(slot)
    }
    this.#idleDeadline(slot)
  }

  /** Takes `slot` out of both sets (it must not get new calls). */
  withdraw(slot: Slot): void {
    this.idle.delete(slot)
    this.open.delete(slot)
    this.#idleDeadline(slot)
  }

  // An overflow slot entering the idle set arms its deadline; leaving it cancels the deadline.
  #idleDeadline(slot: Slot): void {
    const idle = this.idle.has(slot)
    if (idle && slot.overflow && slot.idleTimer === null) slot.idleTimer = this.#armIdle(slot)
    else if (!idle && slot.idleTimer !== null) {
      slot.idleTimer()
      slot.idleTimer = null
    }
  }

  remove(slot: Slot): void {
    this.withdraw(slot)
    const i = this.all.indexOf(slot)
    if (i >= 0) this.all.splice(i, 1)
  }

  /** A slot to run a call now, in O(1): an idle worker first, else one with room for a prefetched call. */
  pick(): Slot | undefined {
    return this.idle.values().next().value ?? this.open.values().next().value
  }

  /** Whether some worker can take a call now. */
  get hasRoom(): boolean {
    return this.idle.size > 0 || this.open.size > 0
  }

  get overflowCount(): number {
    return this.all.filter((s) => s.overflow).length
  }
}

const newSlot = (id: string, overflow: boolean): Slot => ({
  id, overflow, restarts: 0, recycled: 0, worker: null, readyAt: null, recycle: null, rssLimit: null, idleTimer: null
})
