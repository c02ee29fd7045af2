/**
 * Worker slots: who is running where, who is idle (O(1) pick), and the bounded start
 * concurrency. A slot outlives its worker incarnations; overflow slots are temporary.
 */
import { WorkerActor } from "../actors/worker-actor.ts"
import type { WorkerActorEvent } from "../actors/worker-actor.ts"
import type { HostCallHandler } from "../actors/host-calls.ts"
import type { ProcessSpec } from "../actors/python-process.ts"

/** @internal one place a worker runs. */
export interface Slot {
  readonly id: string
  readonly overflow: boolean
  restarts: number
  recycled: number
  actor: WorkerActor | null
  /** While starting: settles when the incarnation is ready or failed. */
  starting: Promise<unknown> | null
  /** The supervisor's id for this slot's current child (changes when the slot is recycled). */
  childId: string | null
  bornAt: number
  /** Recycle at the next ready (set while busy). */
  recycle: string | null
  rss: number | null
  idleTimer: (() => void) | null
}

/** @internal */
export class Slots {
  readonly all: Array<Slot> = []
  readonly idle = new Set<Slot>()
  readonly #waitingToStart: Array<() => void> = []
  #starting = 0
  #overflowSeq = 0
  readonly #concurrency: number

  readonly #onHostCall: HostCallHandler

  constructor(size: number, concurrency: number, onHostCall: HostCallHandler) {
    this.#concurrency = concurrency
    this.#onHostCall = onHostCall
    for (let i = 0; i < size; i++) this.all.push(newSlot(`w${i + 1}`, false))
  }

  /** Adds a temporary slot. */
  addOverflow(): Slot {
    const slot = newSlot(`o${++this.#overflowSeq}`, true)
    this.all.push(slot)
    return slot
  }

  remove(slot: Slot): void {
    this.idle.delete(slot)
    const i = this.all.indexOf(slot)
    if (i >= 0) this.all.splice(i, 1)
  }

  /** Any idle slot, in O(1). */
  pickIdle(): Slot | undefined {
    return this.idle.values().next().value
  }

  get overflowCount(): number {
    return this.all.filter((s) => s.overflow).length
  }

  /**
   * Spawns a new incarnation in `slot` once fewer than `startConcurrency` are starting;
   * `whenReady` is the init-timeout wait for it. Resolves with the ready actor.
   */
  start(slot: Slot, spec: ProcessSpec, onEvent: (actor: WorkerActor, e: WorkerActorEvent) => void, whenReady: (actor: WorkerActor) => Promise<void>): Promise<WorkerActor> {
    const launch = (): Promise<WorkerActor> => {
      this.#starting++
      const actor: WorkerActor = new WorkerActor({ workerId: slot.id, restarts: slot.restarts, spec, onEvent: (e) => onEvent(actor, e), onHostCall: this.#onHostCall })
      slot.actor = actor
      slot.bornAt = performance.now()
      slot.recycle = null
      // A reading of the previous incarnation would recycle this one at once.
      slot.rss = null
      actor.start()
      return whenReady(actor).then(() => actor).finally(() => {
        this.#starting--
        this.#waitingToStart.shift()?.()
      })
    }
    const started = this.#starting < this.#concurrency
      ? launch()
      : new Promise<WorkerActor>((resolve, reject) => this.#waitingToStart.push(() => launch().then(resolve, reject)))
    const guarded: Promise<unknown> = started.finally(() => {
      if (slot.starting === guarded) slot.starting = null
    })
    slot.starting = guarded
    guarded.catch(() => {})
    return started
  }
}

const newSlot = (id: string, overflow: boolean): Slot => ({
  id, overflow, restarts: 0, recycled: 0, actor: null, starting: null, childId: null, bornAt: 0, recycle: null, rss: null, idleTimer: null
})
