/**
 * How many workers run, and which incarnation each slot has: first starts (eager or lazy),
 * overflow under load, recycling (calls, age, memory), retiring idle overflow workers. Every one
 * of them is a supervisor operation, so restart intensity, backoff and escalation always apply;
 * nothing here spawns a process itself.
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type { Worker } from "../actors/worker.ts"
import { readPssBytes, readRssBytes } from "../actors/rss.ts"
import { isServing } from "../machines/worker.ts"
import type { Child } from "../supervisors/slot.ts"
import type { DynamicSupervisor } from "../supervisors/dynamic.ts"
import type { PoolEvents } from "./events.ts"
import type { ResolvedOptions } from "./options.ts"
import type { Slot, Slots } from "./slots.ts"

/** What capacity needs from the rest of the pool. @internal */
export interface CapacityParts {
  readonly options: ResolvedOptions
  readonly slots: Slots
  readonly supervisor: DynamicSupervisor<unknown>
  /** Forks an effect into the pool's scope. */
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  /** One incarnation of `slot`, as the supervisor's child start. */
  readonly incarnation: (slot: Slot) => Effect.Effect<Child, unknown, Scope.Scope>
  /** Calls waiting, and whether the pool takes calls. */
  readonly queued: () => number
  readonly open: () => boolean
  readonly emit: <K extends keyof PoolEvents>(name: K, event: PoolEvents[K]) => void
  /** Monotonic ms on the pool's Clock (worker ages). */
  readonly now: () => number
}

/** @internal */
export class Capacity {
  readonly #p: CapacityParts
  readonly #o: ResolvedOptions

  constructor(parts: CapacityParts) {
    this.#p = parts
    this.#o = parts.options
    // A fiber of the pool's scope (on its Clock), so closing the pool ends it.
    parts.run(Effect.forever(Effect.andThen(Effect.sleep(this.#o.rssCheckIntervalMs), Effect.promise(() => this.#sweep()))))
  }

  /** Starts the permanent workers. `eager`: a failed start fails this effect (OTP's start_child). */
  startPermanent(mode: "eager" | "lazy"): Effect.Effect<void, unknown> {
    const { supervisor } = this.#p
    return Effect.forEach(this.#p.slots.permanent, (slot) => supervisor.has(slot.id) ? Effect.void : supervisor.startChild(slot.id, {
      start: this.#p.incarnation(slot),
      restart: "permanent",
      onStartFailure: mode === "eager" ? "return" : "restart"
    }), { concurrency: "unbounded", discard: true })
  }

  /** More capacity for a non-empty queue: the lazy first start, then overflow workers. */
  grow(): void {
    if (!this.#p.open()) return
    const { slots, supervisor } = this.#p
    const first = slots.permanent[0]
    if (first !== undefined && !supervisor.has(first.id)) {
      this.#p.run(Effect.ignore(this.startPermanent("lazy")))
      return
    }
    // Slots that will serve soon (starting, or waiting out a backoff) count as capacity coming.
    const coming = slots.all.filter((s) => s.worker === null ? supervisor.has(s.id) : !isServing(s.worker.state) && s.worker.state !== "draining" && s.worker.state !== "terminating").length
    const queued = this.#p.queued()
    if (coming >= queued) return
    const room = this.#o.overflow - slots.overflowCount
    for (let i = 0; i < Math.min(room, queued - coming); i++) {
      const slot = slots.addOverflow()
      this.#p.run(supervisor.startChild(slot.id, { start: this.#p.incarnation(slot), restart: "temporary" }).pipe(
        Effect.catch(() => Effect.sync(() => slots.remove(slot)))
      ))
    }
  }

  /** After each dispatch: a worker sent its last allowed call takes no more (it is replaced once it answered them). */
  afterDispatch(slot: Slot, worker: Worker): void {
    const max = this.#o.maxCallsPerWorker
    if (max !== Infinity && worker.served + worker.inFlight >= max) this.recycle(slot, `served ${max} calls (maxCallsPerWorker ${max})`)
  }

  /** After each answer: recycle the worker if it is now due (a few comparisons, on the call path). */
  afterAnswer(slot: Slot, worker: Worker): void {
    if (slot.recycle !== null || slot.worker !== worker) return
    const o = this.#o
    if (o.workerTtlMs !== Infinity && this.#tooOld(slot)) return this.recycle(slot, this.#ageReason())
    if (overLimit(slot, worker, o.maxWorkerRssBytes)) this.recycle(slot, rssReason(slot, worker, o.maxWorkerRssBytes))
  }

  /**
   * Replaces `slot`'s worker without failing a call: it takes no new call from now on, and is
   * replaced once the calls it holds are answered. Overflow workers are retired instead.
   */
  recycle(slot: Slot, reason: string): void {
    const worker = slot.worker
    if (worker === null || !isServing(worker.state) || slot.recycle !== null) return
    slot.recycle = reason
    this.#p.slots.withdraw(slot)
    worker.whenIdle(() => {
      if (slot.worker !== worker || !isServing(worker.state)) return
      slot.recycled++
      this.#p.emit("recycle", { workerId: slot.id, pid: worker.pid, reason, calls: worker.served })
      const { supervisor } = this.#p
      this.#p.run(slot.overflow ? supervisor.terminateChild(slot.id) : supervisor.restartChild(slot.id))
    })
  }

  /** An overflow worker idle for `idleTimeoutMs` is stopped. */
  retireIdle(slot: Slot): void {
    slot.idleTimer = null
    if (slot.worker !== null && this.#p.slots.idle.has(slot)) this.recycle(slot, `idle for ${this.#o.idleTimeoutMs} ms`)
  }

  #tooOld(slot: Slot): boolean {
    // Age counts from ready: a slow start must not make a worker due before it served.
    return slot.readyAt !== null && this.#p.now() - slot.readyAt >= this.#o.workerTtlMs
  }

  #ageReason(): string {
    return `older than workerTtlMs (${this.#o.workerTtlMs} ms)`
  }

  async #sweep(): Promise<void> {
    await Promise.all(this.#p.slots.all.map(async (slot) => {
      const worker = slot.worker
      const pid = worker?.pid
      if (!worker || pid == null || !isServing(worker.state)) return
      const [rss, pss] = await Promise.all([readRssBytes(pid), readPssBytes(pid)])
      worker.lastRssBytes = rss
      worker.lastPssBytes = pss
      if (slot.worker !== worker) return
      if (overLimit(slot, worker, this.#o.maxWorkerRssBytes)) this.recycle(slot, rssReason(slot, worker, this.#o.maxWorkerRssBytes))
      else if (worker.served > 0 && this.#tooOld(slot)) this.recycle(slot, this.#ageReason())
    }))
  }
}

/**
 * Each incarnation is recycled at its own RSS, drawn once between (1 - RSS_JITTER) and 1 times
 * maxWorkerRssMb: workers that grow alike (same calls, same leak) then do not all cross the limit
 * in the same sweep and restart together, leaving the pool without workers.
 */
export const RSS_JITTER = 0.1

/** @internal `slot`'s RSS limit for its current incarnation, drawn on first use. */
export const rssLimit = (slot: Slot, max: number): number =>
  max === Infinity ? max : (slot.rssLimit ??= Math.round(max * (1 - RSS_JITTER * Math.random())))

const mib = (bytes: number): string => (bytes / 1048576).toFixed(0)

const overLimit = (slot: Slot, worker: Worker, max: number): boolean =>
  worker.lastRssBytes !== null && worker.lastRssBytes > rssLimit(slot, max)

const rssReason = (slot: Slot, worker: Worker, max: number): string =>
  `resident memory ${mib(worker.lastRssBytes ?? 0)} MiB over maxWorkerRssMb (${mib(max)} MiB; this worker's limit, jittered by ${RSS_JITTER * 100} % so workers do not recycle together: ${mib(rssLimit(slot, max))} MiB)`
